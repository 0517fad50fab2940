import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RPCClient } from 'ocpp-rpc';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryDirectory } from '../../collector/sdk/index.ts';
import { issueClientCert, issueServerCert, makeCa, type TestCa } from '../../test/helpers/test-ca.ts';
import { eventually, handshakeStatus, startRig, type Rig } from './testing.ts';

/**
 * Charger certificates with real ocpp-rpc chargers (strict mode) on the runtime's own TLS:
 * SignCertificate signed by plugins.ocpp.ca and delivered as CertificateSigned, the signed
 * certificate then used for security profile 3, renewal asked of a charger whose certificate
 * ends soon, and 2.0.1 GetCertificateStatus answered from configuration. Keys, CSRs and
 * certificates are made by openssl, as a charger's firmware would.
 */
const dir = mkdtempSync(join(tmpdir(), 'fleetpulse-ocpp-certificates-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const DAY_MS = 86_400_000;

/** A charger's key and CSR (PEM), subject CN=<cn> with an O as real chargers send. */
function csrFor(cn: string, name: string): { csr: string; key: Buffer } {
  const key = join(dir, `${name}.key`);
  const csr = join(dir, `${name}.csr`);
  execFileSync(
    'openssl',
    ['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', `/O=Test CPO/CN=${cn}`].concat([
      '-keyout',
      key,
      '-out',
      csr,
    ]),
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  return { csr: readFileSync(csr, 'utf8'), key: readFileSync(key) };
}

/** The PEM blocks of a chain, leaf first. */
function pems(chain: string): string[] {
  return chain.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n?/g) ?? [];
}

/**
 * A charger that answers every call as a compliant one would: a trigger for a CSR is accepted and
 * followed by SignCertificate with `csr`, CertificateSigned is accepted and kept.
 */
function compliant(cp: RPCClient, csr?: () => string, certificateType?: string) {
  const calls: Array<{ method: string; params: any }> = [];
  const signAnswers: string[] = [];
  cp.handle((({ method, params }: { method: string; params: any }) => {
    calls.push({ method, params });
    if (/TriggerMessage$/.test(method) && csr && /^Sign/.test(params.requestedMessage))
      setImmediate(() => {
        void cp
          .call('SignCertificate', { csr: csr(), ...(certificateType && { certificateType }) })
          .then((a: any) => signAnswers.push(a.status));
      });
    if (method === 'SetVariables')
      return {
        setVariableResult: params.setVariableData.map((d: any) => ({
          attributeStatus: 'Accepted',
          component: d.component,
          variable: d.variable,
        })),
      };
    return { status: 'Accepted' };
  }) as never);
  return { calls, signAnswers, methods: () => calls.map((c) => c.method) };
}

let ca: TestCa;
let caPem: Buffer;
let caCert: X509Certificate;
let rig: Rig;
const passwords: Record<string, string> = {
  'CS-201': 'pw-cs201-0123456789',
  'CS-16': 'pw-cs16-01234567890',
  'CS-OLD': 'pw-csold-0123456789',
  'CS-OLD16': 'pw-csold16-01234567',
  'CS-REF': 'pw-csref-0123456789',
};
const directory = new MemoryDirectory();
for (const [id, value] of Object.entries(passwords))
  directory.add({ id, kind: 'charger' }, { type: 'ocpp_password', value });
const ocspSerial = '0A1B2C3D';

beforeAll(async () => {
  ca = makeCa(mkdtempSync(join(dir, 'ca-')));
  caPem = readFileSync(ca.cert);
  caCert = new X509Certificate(caPem);
  const served = issueServerCert(ca, dir, 'server');
  rig = await startRig(
    directory,
    {
      ca: {
        cert: ca.cert,
        key: ca.key,
        certificate_days: 365,
        // The test CA's own client certificates last 2 days: within this window.
        renew_before_days: 3,
        ocsp_results: { [ocspSerial]: 'MAMKAQA=' },
      },
    },
    5,
    { https: { cert: readFileSync(served.cert), key: readFileSync(served.key) } },
  );
});
afterAll(() => rig?.stop());

const tls = (cert?: { cert: Buffer; key: Buffer }) => ({ ca: caPem, ...cert });

describe('SignCertificate → CertificateSigned, then security profile 3 with that certificate', () => {
  for (const [identity, version] of [
    ['CS-201', 'ocpp2.0.1'],
    ['CS-16', 'ocpp1.6'],
  ] as const) {
    it(`${version}: the CSR asked for is signed by the CA, installed, and admits the charger at profile 3`, async () => {
      const password = passwords[identity];
      const own = csrFor(identity, identity);
      const cp = await rig.charger(identity, version, { password, tls: tls() });
      const charger = compliant(cp, () => own.csr);
      expect(
        await rig.collector.bus.dispatch(identity, {
          name: 'trigger_message',
          params: { message: 'SignCertificate' },
          timeout_s: 5,
        }),
      ).toMatchObject({ status: 'succeeded' });
      expect(charger.calls[0]).toEqual({
        method: version === 'ocpp1.6' ? 'ExtendedTriggerMessage' : 'TriggerMessage',
        params: {
          requestedMessage: version === 'ocpp1.6' ? 'SignChargePointCertificate' : 'SignChargingStationCertificate',
        },
      });
      expect(await eventually(() => charger.methods().includes('CertificateSigned'))).toBe(true);
      expect(charger.signAnswers).toEqual(['Accepted']);

      const [leafPem, caInChain, ...rest] = pems(charger.calls[1].params.certificateChain);
      expect(rest).toEqual([]);
      expect(caInChain.trim()).toBe(caPem.toString('utf8').trim());
      const leaf = new X509Certificate(leafPem);
      expect(leaf.checkIssued(caCert) && leaf.verify(caCert.publicKey)).toBe(true);
      expect(leaf.subject.split('\n')).toEqual(['O=Test CPO', `CN=${identity}`]);
      expect(leaf.ca).toBe(false);
      expect(leaf.keyUsage).toContain('1.3.6.1.5.5.7.3.2'); // clientAuth
      const days = (Date.parse(leaf.validTo) - Date.now()) / DAY_MS;
      expect(days > 364 && days <= 365).toBe(true);
      // The charger's answer to CertificateSigned is kept beside the certificate once it arrives.
      const row = () =>
        rig.db.prepare('SELECT charger, installed FROM ocpp_certificates WHERE serial = ?').get(leaf.serialNumber);
      await eventually(() => (row() as { installed?: string } | undefined)?.installed != null);
      expect(row()).toEqual({ charger: identity, installed: 'Accepted' });
      await cp.close();

      // With the new certificate: raised to 3, and then no connection without it.
      const certified = { cert: Buffer.from(leafPem), key: own.key };
      const cp3 = await rig.charger(identity, version, { tls: tls(certified) });
      const at3 = compliant(cp3);
      expect(
        await rig.collector.bus.dispatch(identity, {
          name: 'set_security_profile',
          params: { profile: 3 },
          timeout_s: 5,
        }),
      ).toMatchObject({ status: 'succeeded' });
      // A year left: no renewal was asked for before the command (it would be queued first).
      expect(at3.methods()).toEqual([version === 'ocpp1.6' ? 'ChangeConfiguration' : 'SetVariables']);
      await cp3.close();
      expect(await handshakeStatus(() => rig.charger(identity, version, { password, tls: tls() }))).toBe(401);
      expect(await handshakeStatus(() => rig.charger(identity, version, { tls: tls(certified) }))).toBe(101);
    });
  }
});

describe('a CSR is signed only for the charger that sends it', () => {
  it('refuses a CSR naming another charger, an invalid one and a V2G one, and sends no certificate', async () => {
    const cp = await rig.charger('CS-REF', 'ocpp2.0.1', { password: passwords['CS-REF'], tls: tls() });
    const charger = compliant(cp);
    const before = await rig.events('csr_refused');
    const other = csrFor('CS-16', 'other');
    const answers = [
      await cp.call('SignCertificate', { csr: other.csr }),
      await cp.call('SignCertificate', { csr: other.csr.replace(/[A-Za-z](?=[A-Za-z0-9+/]{20}\n)/, 'A') }),
      await cp.call('SignCertificate', { csr: csrFor('CS-REF', 'v2g').csr, certificateType: 'V2GCertificate' }),
    ];
    expect(answers).toEqual(
      Array(3).fill({ status: 'Rejected', statusInfo: { reasonCode: 'InvalidCSR' } }) as unknown[],
    );
    expect(await rig.events('csr_refused')).toBe(before + 3);
    // Any CertificateSigned would have been queued before this command.
    await rig.collector.bus.dispatch('CS-REF', { name: 'clear_cache', params: {}, timeout_s: 5 });
    expect(charger.methods()).toEqual(['ClearCache']);
    await cp.close();
  });
});

describe('renewal before expiry', () => {
  it('asks a charger whose certificate of the CA ends within renew_before_days for a new CSR, on both versions', async () => {
    for (const [identity, version, asked] of [
      [
        'CS-OLD',
        'ocpp2.0.1',
        { method: 'TriggerMessage', params: { requestedMessage: 'SignChargingStationCertificate' } },
      ],
      [
        'CS-OLD16',
        'ocpp1.6',
        { method: 'ExtendedTriggerMessage', params: { requestedMessage: 'SignChargePointCertificate' } },
      ],
    ] as const) {
      const issued = issueClientCert(ca, dir, identity); // 2 days left
      const fresh = csrFor(identity, `${identity}-renewed`);
      const cp = await rig.charger(identity, version, {
        tls: tls({ cert: readFileSync(issued.cert), key: readFileSync(issued.key) }),
      });
      const charger = compliant(cp, () => fresh.csr);
      expect(await eventually(() => charger.methods().includes('CertificateSigned'))).toBe(true);
      expect(charger.calls[0]).toEqual(asked);
      const renewed = new X509Certificate(pems(charger.calls[1].params.certificateChain)[0]);
      expect(Date.parse(renewed.validTo) - Date.now()).toBeGreaterThan(300 * DAY_MS);
      await cp.close();
    }
    expect(await rig.events('certificate_renewal_asked')).toBe(2);
  });
});

describe('2.0.1 GetCertificateStatus and Get15118EVCertificate', () => {
  it('answers OCSP from plugins.ocpp.ca.ocsp_results, Failed for a serial it does not hold', async () => {
    const cp = await rig.charger('CS-REF', 'ocpp2.0.1', { password: passwords['CS-REF'], tls: tls() });
    const request = (serialNumber: string) => ({
      ocspRequestData: {
        hashAlgorithm: 'SHA256',
        issuerNameHash: 'aa',
        issuerKeyHash: 'bb',
        serialNumber,
        responderURL: 'http://ocsp.example.com/',
      },
    });
    // The same serial with a leading zero and in lower case.
    expect(await cp.call('GetCertificateStatus', request('000a1b2c3d'))).toEqual({
      status: 'Accepted',
      ocspResult: 'MAMKAQA=',
    });
    expect(await cp.call('GetCertificateStatus', request('0A1B2C3E'))).toEqual({
      status: 'Failed',
      statusInfo: { reasonCode: 'NotConfigured' },
    });
    expect(
      await cp.call('Get15118EVCertificate', {
        iso15118SchemaVersion: 'urn:iso:15118:2:2013:MsgDef',
        action: 'Install',
        exiRequest: 'AAAA',
      }),
    ).toMatchObject({ status: 'Failed' });
    await cp.close();
  });
});
