/**
 * Charger certificates (1.6 security whitepaper §3 and 2.0.1 A02/A03/M06): a charger's CSR
 * (SignCertificate) is signed by `plugins.ocpp.ca` and sent back as CertificateSigned; a charger
 * whose client certificate from that CA nears its end is asked for a new CSR when it connects;
 * 2.0.1 GetCertificateStatus is answered from configuration (serve makes no OCSP call).
 */
import type { X509Certificate } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import type { OcppVersion } from './config.ts';
import type { Charger, Station, On } from './station.ts';
import { toCall } from './vocabulary.ts';

const DAY_MS = 86_400_000;

/** The fields read of the charger's messages (both versions; ocpp-rpc has checked the schema). */
interface SignCertificateRequest {
  csr: string;
  /** 2.0.1 only. */
  certificateType?: 'ChargingStationCertificate' | 'V2GCertificate';
}
interface GetCertificateStatusRequest {
  ocspRequestData: { serialNumber: string };
}
/** How long a charger has to answer a call we send it of our own accord. */
const CALL_TIMEOUT_MS = 30_000;

export function registerCertificates(station: Station, version: OcppVersion, on: On): void {
  const { ctx } = station;
  const v16 = version === 'ocpp1.6';

  on('SignCertificate', async (p: SignCertificateRequest, charger) => {
    const refused = (reason: string) => {
      ctx.count('csr_refused');
      ctx.log.warn({ device: charger.identity, reason }, 'SignCertificate refused');
      return v16 ? { status: 'Rejected' } : { status: 'Rejected', statusInfo: { reasonCode: 'InvalidCSR' } };
    };
    if (!station.ca) return refused('plugins.ocpp.ca is not configured');
    // Our CA issues the certificate for the connection to us, not ISO 15118 ones (V2G PKI).
    if (p.certificateType === 'V2GCertificate') return refused('V2G certificates are not issued here');
    const signed = await station.ca.sign(p.csr, charger.identity, ctx.config.ca.certificate_days);
    if ('refused' in signed) return refused(signed.refused);
    station.certificates.issued(signed.cert, charger.identity, ctx.clock.now());
    ctx.count('csr_signed');
    // After our answer has gone out (ocpp-rpc writes it when this handler resolves).
    setImmediate(() => void deliver(station, charger, signed.chain, signed.cert, p.certificateType));
    return { status: 'Accepted' };
  });

  if (v16) return;
  on('GetCertificateStatus', (p: GetCertificateStatusRequest) => {
    const serial = normalSerial(p.ocspRequestData.serialNumber);
    const found = Object.entries(ctx.config.ca.ocsp_results).find(([key]) => normalSerial(key) === serial);
    if (!found) return { status: 'Failed', statusInfo: { reasonCode: 'NotConfigured' } };
    return { status: 'Accepted', ocspResult: found[1] };
  });
  // No contract certificate pool (ISO 15118 Plug & Charge) here: say so rather than NotImplemented.
  on('Get15118EVCertificate', () => ({
    status: 'Failed',
    exiResponse: '',
    statusInfo: { reasonCode: 'NotSupported' },
  }));
}

/** Sends the signed chain; the charger's answer is kept beside the certificate. */
async function deliver(
  station: Station,
  charger: Charger,
  chain: string,
  cert: X509Certificate,
  certificateType: string | undefined,
): Promise<void> {
  const payload = { certificateChain: chain, ...(certificateType && { certificateType }) };
  let answer = 'unanswered';
  try {
    const reply = (await callQueued(charger, 'CertificateSigned', payload)) as { status: string };
    answer = reply.status;
  } catch (err) {
    station.ctx.log.warn({ device: charger.identity, err }, 'CertificateSigned not answered');
  }
  station.certificates.installed(cert, answer);
  station.ctx.count(`certificate_signed_${answer.toLowerCase()}`);
  station.ctx.log.info(
    { device: charger.identity, serial: cert.serialNumber, not_after: cert.validTo, answer },
    'certificate signed for a charger',
  );
}

/**
 * Whether the client certificate of this handshake, one of our CA's (the handshake has checked
 * that), ends within `renew_before_days`.
 */
export function renewalDue(station: Station, request: IncomingMessage): boolean {
  const days = station.ctx.config.ca.renew_before_days;
  const socket = request.socket as Partial<TLSSocket>;
  if (!station.ca || days === 0 || !socket.encrypted) return false;
  const peer = socket.getPeerX509Certificate?.();
  if (!peer || !peer.checkIssued(station.ca.cert)) return false;
  return Date.parse(peer.validTo) - station.ctx.clock.now() < days * DAY_MS;
}

/** Asks the charger for a new CSR (1.6 ExtendedTriggerMessage, 2.0.1 TriggerMessage). */
export async function askForRenewal(station: Station, charger: Charger): Promise<void> {
  const call = toCall(charger.version, 'trigger_message', { message: 'SignCertificate' }, '');
  station.ctx.count('certificate_renewal_asked');
  try {
    const answer = (await callQueued(charger, call.action, call.payload)) as { status: string };
    station.ctx.log.info(
      { device: charger.identity, answer: answer.status },
      'asked a charger to renew its certificate',
    );
  } catch (err) {
    station.ctx.log.warn({ device: charger.identity, err }, 'certificate renewal request not answered');
  }
}

/** A call of ours, in line behind the charger's commands (one outstanding CALL per direction). */
function callQueued(charger: Charger, action: string, payload: unknown): Promise<unknown> {
  const run = (charger.outbound ?? Promise.resolve()).then(() =>
    charger.connection.call(action, payload, { callTimeoutMs: CALL_TIMEOUT_MS }),
  );
  charger.outbound = run.catch(() => {});
  return run;
}

/** Serial numbers as hex without leading zeros or separators, in one case. */
function normalSerial(serial: string): string {
  return serial
    .replace(/[^0-9a-f]/gi, '')
    .replace(/^0+/, '')
    .toLowerCase();
}
