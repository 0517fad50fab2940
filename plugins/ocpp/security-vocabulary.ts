/**
 * The security extension's commands (1.6 security whitepaper, 2.0.1 M and N): root certificates
 * on the charger, its logs, signed firmware. Pure: no I/O. Kept apart from vocabulary.ts, which
 * spreads them into the one command catalogue and wraps each mapping into its call.
 */
import { X509Certificate } from 'node:crypto';
import { Type, type CommandSpec, type Static, type TSchema } from '../../collector/sdk/index.ts';

const closed = { additionalProperties: false } as const;
const pem = Type.String({ minLength: 1, maxLength: 5500, description: 'One PEM-encoded X.509 certificate' });
/** Our names of the certificate uses, for both versions. */
const roots = [
  Type.Literal('csms_root'),
  Type.Literal('manufacturer_root'),
  Type.Literal('v2g_root'),
  Type.Literal('mo_root'),
] as const;
const time = Type.Optional(Type.String({ format: 'date-time' }));

/** `url`: the location schema of the core commands (http(s) or ftp(s)). */
export function securityCommands(url: TSchema) {
  return {
    install_certificate: {
      description:
        "Installs a root certificate on the charger (InstallCertificate): csms_root = the CA of serve's TLS certificate, manufacturer_root = the signer of firmware; 2.0.1 also v2g_root, mo_root",
      params: Type.Object({ type: Type.Union([...roots]), certificate: pem }, closed),
    },
    get_installed_certificates: {
      description:
        'Lists the hashes of the certificates installed on the charger (GetInstalledCertificateIds); 1.6 asks for exactly one type, 2.0.1 for all when none is given',
      params: Type.Object(
        {
          types: Type.Optional(
            Type.Array(Type.Union([...roots, Type.Literal('v2g_chain')]), {
              minItems: 1,
              maxItems: 5,
              uniqueItems: true,
            }),
          ),
        },
        closed,
      ),
    },
    delete_certificate: {
      description: 'Deletes an installed certificate by its hash data, as get_installed_certificates lists it',
      params: Type.Object(
        {
          hash_algorithm: Type.Union([Type.Literal('SHA256'), Type.Literal('SHA384'), Type.Literal('SHA512')]),
          issuer_name_hash: Type.String({ minLength: 1, maxLength: 128 }),
          issuer_key_hash: Type.String({ minLength: 1, maxLength: 128 }),
          serial_number: Type.String({ minLength: 1, maxLength: 40 }),
        },
        closed,
      ),
    },
    get_log: {
      description:
        'Has the charger upload its diagnostics or security log to a URL (GetLog, both versions); progress arrives as LogStatusNotification',
      params: Type.Object(
        {
          type: Type.Union([Type.Literal('diagnostics'), Type.Literal('security')], { default: 'diagnostics' }),
          location: url,
          start_time: time,
          stop_time: time,
          retries: Type.Optional(Type.Integer({ minimum: 0, maximum: 100 })),
          retry_interval_s: Type.Optional(Type.Integer({ minimum: 0 })),
        },
        closed,
      ),
      timeout_s: 60,
    },
  } satisfies Record<string, CommandSpec>;
}

type Commands = ReturnType<typeof securityCommands>;
type Params<N extends keyof Commands> = Static<Commands[N]['params']>;

/** update_firmware's fields for signed firmware (1.6 SignedUpdateFirmware, 2.0.1 UpdateFirmware). */
export const signedFirmware = {
  signing_certificate: Type.Optional(
    Type.String({
      minLength: 1,
      maxLength: 5500,
      description: 'PEM certificate of the firmware signer; with signature',
    }),
  ),
  signature: Type.Optional(
    Type.String({
      minLength: 1,
      maxLength: 800,
      description: 'Base64 signature of the firmware; with signing_certificate',
    }),
  ),
};

/** The signature fields of a call, none, or why the pair is incomplete. */
export function firmwareSignature(p: {
  signing_certificate?: string;
  signature?: string;
}): { signingCertificate: string; signature: string } | undefined | string {
  if (p.signing_certificate === undefined && p.signature === undefined) return undefined;
  if (p.signing_certificate === undefined || p.signature === undefined)
    return 'signed firmware needs both signing_certificate and signature';
  // The charger checks the signature with it: one it cannot parse fails only after the download.
  if (!isCertificate(p.signing_certificate)) return 'signing_certificate is not a PEM-encoded X.509 certificate';
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(p.signature)) return 'signature is not base64';
  return { signingCertificate: p.signing_certificate, signature: p.signature };
}

/** A call to send (`anyStatus`: every status is an answer, e.g. NotFound), or why not. */
export type SecurityCall =
  { action: string; payload: Record<string, unknown>; anyStatus?: boolean } | { refused: string };

export function securityCall(v16: boolean, name: keyof Commands, params: unknown, requestId: number): SecurityCall {
  switch (name) {
    case 'install_certificate': {
      const p = params as Params<'install_certificate'>;
      const certificateType = useOf(v16, p.type);
      if (!certificateType) return { refused: `${p.type} certificates are 2.0.1 only` };
      if (!isCertificate(p.certificate)) return { refused: 'certificate is not a PEM-encoded X.509 certificate' };
      return { action: 'InstallCertificate', payload: { certificateType, certificate: p.certificate } };
    }
    case 'get_installed_certificates': {
      const p = params as Params<'get_installed_certificates'>;
      const uses = (p.types ?? []).map((t) => useOf(v16, t));
      const missing = (p.types ?? []).find((_, i) => !uses[i]);
      if (missing) return { refused: `${missing} certificates are 2.0.1 only` };
      if (v16 && uses.length !== 1) return { refused: '1.6 lists one type at a time: give exactly one in types' };
      const payload = v16 ? { certificateType: uses[0] } : uses.length ? { certificateType: uses } : {};
      return { action: 'GetInstalledCertificateIds', payload, anyStatus: true };
    }
    case 'delete_certificate': {
      const p = params as Params<'delete_certificate'>;
      const certificateHashData = {
        hashAlgorithm: p.hash_algorithm,
        issuerNameHash: p.issuer_name_hash,
        issuerKeyHash: p.issuer_key_hash,
        serialNumber: p.serial_number,
      };
      return { action: 'DeleteCertificate', payload: { certificateHashData } };
    }
    case 'get_log': {
      const p = params as Params<'get_log'>;
      const log = {
        remoteLocation: p.location,
        ...(p.start_time ? { oldestTimestamp: p.start_time } : {}),
        ...(p.stop_time ? { latestTimestamp: p.stop_time } : {}),
      };
      const payload = {
        logType: p.type === 'security' ? 'SecurityLog' : 'DiagnosticsLog',
        requestId,
        log,
        ...(p.retries !== undefined ? { retries: p.retries } : {}),
        ...(p.retry_interval_s !== undefined ? { retryInterval: p.retry_interval_s } : {}),
      };
      return { action: 'GetLog', payload };
    }
  }
}

/** The version's name of a certificate use; undefined where 1.6 has none. */
function useOf(v16: boolean, type: Static<(typeof roots)[number]> | 'v2g_chain'): string | undefined {
  if (type === 'csms_root') return v16 ? 'CentralSystemRootCertificate' : 'CSMSRootCertificate';
  if (type === 'manufacturer_root') return 'ManufacturerRootCertificate';
  if (v16) return undefined;
  return { v2g_root: 'V2GRootCertificate', mo_root: 'MORootCertificate', v2g_chain: 'V2GCertificateChain' }[type];
}

function isCertificate(pem: string): boolean {
  try {
    new X509Certificate(pem);
    return true;
  } catch {
    return false;
  }
}
