import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryDirectory } from '../../collector/sdk/index.ts';
import { makeCa } from '../../test/helpers/test-ca.ts';
import { boot16, boot201, eventually, startRig, type Rig } from './testing.ts';

/** The security extension's charger → backend messages, with real ocpp-rpc chargers in strict mode. */
const directory = new MemoryDirectory()
  .add({ id: 'SEC-16', kind: 'charger' }, { type: 'ocpp_password', value: 'pw-sec16-0123456789' })
  .add({ id: 'SEC-201', kind: 'charger' }, { type: 'ocpp_password', value: 'pw-sec201-012345678' });
let rig: Rig;
beforeAll(async () => {
  rig = await startRig(directory);
});
afterAll(() => rig?.stop());

describe('SecurityEventNotification', () => {
  it('is stored as ocpp_security_event on both versions, critical as the specifications say', async () => {
    const cp16 = await rig.charger('SEC-16', 'ocpp1.6', { password: 'pw-sec16-0123456789' });
    await cp16.call('BootNotification', boot16);
    expect(
      await cp16.call('SecurityEventNotification', {
        type: 'TamperDetectionActivated',
        timestamp: '2026-03-01T10:00:00.000Z',
        techInfo: 'lid open',
      }),
    ).toEqual({});
    const cp201 = await rig.charger('SEC-201', 'ocpp2.0.1', { password: 'pw-sec201-012345678' });
    await cp201.call('BootNotification', boot201);
    await cp201.call('SecurityEventNotification', {
      type: 'InvalidTLSVersion',
      timestamp: '2026-03-01T10:00:01.000Z',
    });
    await eventually(() => rig.lines('ocpp_security_event').length === 2);
    const lines = rig.lines('ocpp_security_event');
    expect(lines).toEqual([
      expect.stringMatching(
        /^ocpp_security_event,device=SEC-16,kind=charger.* type="TamperDetectionActivated",critical=true,tech_info="lid open" 1772359200000$/,
      ),
      expect.stringMatching(
        /^ocpp_security_event,device=SEC-201,kind=charger.* type="InvalidTLSVersion",critical=false 1772359201000$/,
      ),
    ]);
    expect(rig.lines('ocpp_error')).toEqual([]);
  });
});

describe('1.6 SignedFirmwareStatusNotification and LogStatusNotification', () => {
  it('are stored as the firmware and log upload status, with their request ids', async () => {
    const cp = await rig.charger('SEC-16', 'ocpp1.6', { password: 'pw-sec16-0123456789' });
    expect(await cp.call('SignedFirmwareStatusNotification', { status: 'InvalidSignature', requestId: 7 })).toEqual({});
    expect(await cp.call('LogStatusNotification', { status: 'Uploaded', requestId: 8 })).toEqual({});
    await eventually(() => rig.lines('ocpp_diagnostics').length === 1 && rig.lines('ocpp_firmware').length === 1);
    expect(rig.lines('ocpp_firmware')).toEqual([
      expect.stringMatching(/^ocpp_firmware,device=SEC-16,.* status="InvalidSignature",request_id=7i /),
    ]);
    expect(rig.lines('ocpp_diagnostics')).toEqual([
      expect.stringMatching(/^ocpp_diagnostics,device=SEC-16,.* status="Uploaded",request_id=8i /),
    ]);
    await cp.close();
  });
});

describe('certificate, log and signed firmware commands reach strict chargers of both versions', () => {
  const caDir = mkdtempSync(join(tmpdir(), 'fleetpulse-sec-root-'));
  afterAll(() => rmSync(caDir, { recursive: true, force: true }));
  const root = readFileSync(makeCa(caDir).cert, 'utf8');
  const hash = { hash_algorithm: 'SHA256', issuer_name_hash: 'aa11', issuer_key_hash: 'bb22', serial_number: '0c' };

  for (const [identity, password, version] of [
    ['SEC-16', 'pw-sec16-0123456789', 'ocpp1.6'],
    ['SEC-201', 'pw-sec201-012345678', 'ocpp2.0.1'],
  ] as const) {
    it(version, async () => {
      const v16 = version === 'ocpp1.6';
      const cp = await rig.charger(identity, version, { password });
      const calls: Array<{ method: string; params: any }> = [];
      cp.handle((({ method, params }: { method: string; params: any }) => {
        calls.push({ method, params });
        if (method === 'GetInstalledCertificateIds') return { status: 'NotFound' };
        if (method === 'DeleteCertificate') return { status: 'NotFound' };
        return { status: 'Accepted' };
      }) as never);
      const run = (name: string, params: object) =>
        rig.collector.bus.dispatch(identity, { name, params, timeout_s: 5 });

      expect(await run('install_certificate', { type: 'manufacturer_root', certificate: root })).toMatchObject({
        status: 'succeeded',
      });
      expect(await run('get_installed_certificates', { types: ['manufacturer_root'] })).toMatchObject({
        status: 'succeeded',
        result: { status: 'NotFound' },
      });
      expect(await run('delete_certificate', hash)).toMatchObject({ status: 'rejected' });
      expect(await run('get_log', { type: 'security', location: 'ftp://logs.example.com/in/' })).toMatchObject({
        status: 'succeeded',
      });
      expect(
        await run('update_firmware', {
          location: 'https://fw.example.com/sim-22.bin',
          retrieve_at: '2030-01-01T00:00:00Z',
          signing_certificate: root,
          signature: 'c2lnbmF0dXJl',
        }),
      ).toMatchObject({ status: 'succeeded' });
      expect(calls.map((c) => c.method)).toEqual([
        'InstallCertificate',
        'GetInstalledCertificateIds',
        'DeleteCertificate',
        'GetLog',
        v16 ? 'SignedUpdateFirmware' : 'UpdateFirmware',
      ]);
      expect(calls[0].params).toEqual({ certificateType: 'ManufacturerRootCertificate', certificate: root });
      expect(calls[1].params).toEqual({
        certificateType: v16 ? 'ManufacturerRootCertificate' : ['ManufacturerRootCertificate'],
      });
      expect(calls[2].params.certificateHashData).toEqual({
        hashAlgorithm: 'SHA256',
        issuerNameHash: 'aa11',
        issuerKeyHash: 'bb22',
        serialNumber: '0c',
      });
      expect(calls[3].params).toMatchObject({
        logType: 'SecurityLog',
        log: { remoteLocation: 'ftp://logs.example.com/in/' },
      });
      expect(calls[4].params.firmware).toEqual({
        location: 'https://fw.example.com/sim-22.bin',
        retrieveDateTime: '2030-01-01T00:00:00Z',
        signingCertificate: root,
        signature: 'c2lnbmF0dXJl',
      });
      await cp.close();
    });
  }
});
