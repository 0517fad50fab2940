import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RPCClient } from 'ocpp-rpc';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryDirectory } from '../../collector/sdk/index.ts';
import { issueClientCert, issueServerCert, makeCa, type ServerCert, type TestCa } from '../../test/helpers/test-ca.ts';
import { handshakeStatus, startRig, token, type Rig } from './testing.ts';

/**
 * Security profiles kept per charger and enforced at the handshake, with real ocpp-rpc chargers
 * in strict mode: profile 2 behind a trusted TLS proxy (X-Forwarded-Proto), and profile 3 on
 * the runtime's own TLS with client certificates that openssl issues from the configured CA.
 */
const dir = mkdtempSync(join(tmpdir(), 'fleetpulse-ocpp-security-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A charger that accepts (or rejects) every change and records the calls. */
function accepting(cp: RPCClient, answer: 'Accepted' | 'Rejected' = 'Accepted') {
  const calls: Array<{ method: string; params: any }> = [];
  cp.handle((({ method, params }: { method: string; params: any }) => {
    calls.push({ method, params });
    if (method === 'SetVariables')
      return {
        setVariableResult: params.setVariableData.map((d: any) => ({
          attributeStatus: answer,
          component: d.component,
          variable: d.variable,
        })),
      };
    return { status: answer };
  }) as never);
  return calls;
}

describe('security profile 2 behind a TLS proxy', () => {
  const directory = new MemoryDirectory()
    .add({ id: 'SP-16', kind: 'charger' }, { type: 'ocpp_password', value: 'pw-sp16-0123456789' })
    .add({ id: 'SP-201', kind: 'charger' }, { type: 'ocpp_password', value: 'pw-sp201-0123456789' })
    .add({ id: 'SP-NO', kind: 'charger' }, { type: 'ocpp_password', value: 'pw-spno-0123456789' });
  let rig: Rig;
  beforeAll(async () => {
    rig = await startRig(directory, {}, 5, { trustProxy: ['127.0.0.1'] });
  });
  afterAll(() => rig?.stop());
  const viaProxy = { 'x-forwarded-proto': 'https' };

  it('once a 1.6 charger accepts SecurityProfile 2, a plain ws:// connection with the right password is refused', async () => {
    const password = 'pw-sp16-0123456789';
    expect(await handshakeStatus(() => rig.charger('SP-16', 'ocpp1.6', { password }))).toBe(101);
    const cp = await rig.charger('SP-16', 'ocpp1.6', { password, headers: viaProxy });
    const calls = accepting(cp);
    const done = await rig.collector.bus.dispatch('SP-16', {
      name: 'set_security_profile',
      params: { profile: 2 },
      timeout_s: 5,
    });
    expect(done).toMatchObject({ status: 'succeeded' });
    expect(calls).toEqual([{ method: 'ChangeConfiguration', params: { key: 'SecurityProfile', value: '2' } }]);
    await cp.close();

    expect(await handshakeStatus(() => rig.charger('SP-16', 'ocpp1.6', { password }))).toBe(401);
    expect(await rig.events('handshake_refused_profile_downgrade')).toBe(1);
    expect(await handshakeStatus(() => rig.charger('SP-16', 'ocpp1.6', { password, headers: viaProxy }))).toBe(101);
    // A wrong password over TLS is still refused: the profile adds to the password, never replaces it.
    expect(await handshakeStatus(() => rig.charger('SP-16', 'ocpp1.6', { password: 'wrong', headers: viaProxy }))).toBe(
      401,
    );
  });

  it('a 2.0.1 charger is raised by SetVariables SecurityCtrlr.SecurityProfile; a Rejected answer raises nothing', async () => {
    const refusing = await rig.charger('SP-NO', 'ocpp2.0.1', { password: 'pw-spno-0123456789', headers: viaProxy });
    accepting(refusing, 'Rejected');
    const rejected = await rig.collector.bus.dispatch('SP-NO', {
      name: 'set_security_profile',
      params: { profile: 2 },
      timeout_s: 5,
    });
    expect(rejected).toMatchObject({ status: 'rejected' });
    await refusing.close();
    expect(await handshakeStatus(() => rig.charger('SP-NO', 'ocpp2.0.1', { password: 'pw-spno-0123456789' }))).toBe(
      101,
    );

    const password = 'pw-sp201-0123456789';
    const cp = await rig.charger('SP-201', 'ocpp2.0.1', { password, headers: viaProxy });
    const calls = accepting(cp);
    expect(
      await rig.collector.bus.dispatch('SP-201', {
        name: 'set_security_profile',
        params: { profile: 2 },
        timeout_s: 5,
      }),
    ).toMatchObject({ status: 'succeeded' });
    expect(calls[0].params.setVariableData[0]).toEqual({
      component: { name: 'SecurityCtrlr' },
      variable: { name: 'SecurityProfile' },
      attributeValue: '2',
    });
    await cp.close();
    expect(await handshakeStatus(() => rig.charger('SP-201', 'ocpp2.0.1', { password }))).toBe(401);
  });

  it('refuses profile 3 without a CA, before sending anything', async () => {
    const cp = await rig.charger('SP-16', 'ocpp1.6', { password: 'pw-sp16-0123456789', headers: viaProxy });
    const calls = accepting(cp);
    const done = await rig.collector.bus.dispatch('SP-16', {
      name: 'set_security_profile',
      params: { profile: 3 },
      timeout_s: 5,
    });
    expect(done).toMatchObject({ status: 'rejected' });
    expect(calls).toEqual([]);
    await cp.close();
  });
});

describe('security profile 3: client certificates on the runtime’s own TLS', () => {
  let ca: TestCa;
  let rogue: TestCa;
  let certs: Record<'cp3' | 'cp1' | 'forged', ServerCert>;
  let caPem: Buffer;
  let rig: Rig;
  const password = 'pw-cp3-0123456789ab';
  const directory = new MemoryDirectory()
    .add({ id: 'CP-3', kind: 'charger' }, { type: 'ocpp_password', value: password })
    .add({ id: 'CP-1', kind: 'charger' }, { type: 'ocpp_password', value: 'pw-cp1-0123456789ab' });

  beforeAll(async () => {
    ca = makeCa(mkdtempSync(join(dir, 'ca-')));
    rogue = makeCa(mkdtempSync(join(dir, 'rogue-')), 'Rogue CA');
    const served = issueServerCert(ca, dir, 'server');
    certs = {
      cp3: issueClientCert(ca, dir, 'CP-3'),
      cp1: issueClientCert(ca, dir, 'CP-1'),
      forged: issueClientCert(rogue, dir, 'forged', 'CP-3'),
    };
    caPem = readFileSync(ca.cert);
    // renew_before_days 0: these 2-day certificates would otherwise be asked to renew (certificates.test.ts).
    rig = await startRig(directory, { ca: { cert: ca.cert, key: ca.key, renew_before_days: 0 } }, 5, {
      https: { cert: readFileSync(served.cert), key: readFileSync(served.key) },
    });
  });
  afterAll(() => rig?.stop());

  const tls = (cert?: ServerCert) => ({
    ca: caPem,
    ...(cert && { cert: readFileSync(cert.cert), key: readFileSync(cert.key) }),
  });

  it('raises a charger to 3; then only its own certificate admits it, with or without a password', async () => {
    const cp = await rig.charger('CP-3', 'ocpp2.0.1', { password, tls: tls(certs.cp3) });
    const calls = accepting(cp);
    expect(
      await rig.collector.bus.dispatch('CP-3', { name: 'set_security_profile', params: { profile: 3 }, timeout_s: 5 }),
    ).toMatchObject({ status: 'succeeded' });
    expect(calls[0].params.setVariableData[0].attributeValue).toBe('3');
    await cp.close();

    // wss:// and the right password, but no certificate: profile 2, below the charger's 3.
    expect(await handshakeStatus(() => rig.charger('CP-3', 'ocpp2.0.1', { password, tls: tls() }))).toBe(401);
    // A certificate with CN=CP-3 from another CA counts for nothing.
    expect(await handshakeStatus(() => rig.charger('CP-3', 'ocpp2.0.1', { password, tls: tls(certs.forged) }))).toBe(
      401,
    );
    expect(await rig.events('handshake_refused_profile_downgrade')).toBe(2);
    expect(await handshakeStatus(() => rig.charger('CP-3', 'ocpp2.0.1', { tls: tls(certs.cp3) }))).toBe(101);
  });

  it('binds the identity to the certificate: the one issued for CP-1 cannot connect as CP-3', async () => {
    expect(await handshakeStatus(() => rig.charger('CP-3', 'ocpp2.0.1', { password, tls: tls(certs.cp1) }))).toBe(403);
    expect(await rig.events('handshake_refused_certificate_identity')).toBe(1);
    // CP-1 itself, still at profile 1 in our records, may use its certificate or its password.
    expect(await handshakeStatus(() => rig.charger('CP-1', 'ocpp1.6', { tls: tls(certs.cp1) }))).toBe(101);
    expect(
      await handshakeStatus(() => rig.charger('CP-1', 'ocpp1.6', { password: 'pw-cp1-0123456789ab', tls: tls() })),
    ).toBe(101);
  });

  it('asking for client certificates does not disturb API clients on the same port', async () => {
    const reply = await new Promise<number>((resolve, reject) =>
      httpsRequest(
        `${rig.url}/api/v1/charging-sessions`,
        { ca: caPem, headers: { authorization: token('viewer') } },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      )
        .on('error', reject)
        .end(),
    );
    expect(reply).toBe(200);
  });
});
