import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryDirectory } from '../../collector/sdk/index.ts';
import { makeCa } from '../../test/helpers/test-ca.ts';
import { eventually, startRig, type Rig } from './testing.ts';

/**
 * Firmware commands through `POST /api/v1/commands` to real strict-mode ocpp-rpc chargers: an
 * install time and a signature on update_firmware, and a 2.0.1 local controller publishing
 * firmware, with its PublishFirmwareStatusNotification stored as points.
 */
const directory = new MemoryDirectory()
  .add({ id: 'FW16', kind: 'charger' }, { type: 'ocpp_password', value: 'p16' })
  .add({ id: 'FW201', kind: 'charger' }, { type: 'ocpp_password', value: 'p201' });
const caDir = mkdtempSync(join(tmpdir(), 'fleetpulse-fw-'));
const signer = readFileSync(makeCa(caDir, 'Firmware Signer').cert, 'utf8');
let rig: Rig;
beforeAll(async () => {
  rig = await startRig(directory, {}, 5, { commands: true });
});
afterAll(async () => {
  await rig?.stop();
  rmSync(caDir, { recursive: true, force: true });
});

type Call = { action: string; params: any };
async function charger(
  id: string,
  version: 'ocpp1.6' | 'ocpp2.0.1',
  password: string,
  answer = (_a: string): unknown => ({ status: 'Accepted' }),
) {
  const cp = await rig.charger(id, version, { password });
  const calls: Call[] = [];
  cp.handle((async ({ method, params }: { method: string; params: any }) => {
    calls.push({ action: method, params });
    return answer(method);
  }) as never);
  return { cp, calls };
}
const location = 'https://fw.example.com/sim-22.bin';
const md5 = 'D41D8CD98F00B204E9800998ECF8427E';

describe('update_firmware', () => {
  it('2.0.1: install time, retries and signature in the UpdateFirmware', async () => {
    const { cp, calls } = await charger('FW201', 'ocpp2.0.1', 'p201');
    const done = await rig.command('FW201', 'update_firmware', {
      location,
      retrieve_at: '2030-01-01T00:00:00Z',
      install_at: '2030-01-01T03:00:00Z',
      retries: 2,
      retry_interval_s: 300,
      signing_certificate: signer,
      signature: 'c2lnbmF0dXJl',
    });
    expect(done).toMatchObject({ http: 201, status: 'succeeded' });
    expect(calls).toEqual([
      {
        action: 'UpdateFirmware',
        params: {
          requestId: expect.any(Number),
          retries: 2,
          retryInterval: 300,
          firmware: {
            location,
            retrieveDateTime: '2030-01-01T00:00:00Z',
            installDateTime: '2030-01-01T03:00:00Z',
            signingCertificate: signer,
            signature: 'c2lnbmF0dXJl',
          },
        },
      },
    ]);
    await cp.close({ force: true });
  });

  it('1.6: an install time only with signed firmware; a signer that is no certificate is refused unsent', async () => {
    const { cp, calls } = await charger('FW16', 'ocpp1.6', 'p16');
    const signed = { location, install_at: '2030-01-01T03:00:00Z', signing_certificate: signer, signature: 'c2ln' };
    expect(await rig.command('FW16', 'update_firmware', signed)).toMatchObject({ status: 'succeeded' });
    expect(calls[0]).toMatchObject({
      action: 'SignedUpdateFirmware',
      params: { firmware: { installDateTime: '2030-01-01T03:00:00Z', signingCertificate: signer } },
    });
    expect(await rig.command('FW16', 'update_firmware', { location, install_at: signed.install_at })).toMatchObject({
      status: 'rejected',
      error: expect.stringContaining('1.6 UpdateFirmware has no install time'),
    });
    expect(
      await rig.command('FW16', 'update_firmware', {
        ...signed,
        signing_certificate: '-----BEGIN CERTIFICATE-----\nAAAA',
      }),
    ).toMatchObject({ status: 'rejected', error: expect.stringContaining('not a PEM-encoded X.509 certificate') });
    expect(await rig.command('FW16', 'update_firmware', { ...signed, signature: 'not base64!' })).toMatchObject({
      status: 'rejected',
      error: expect.stringContaining('signature is not base64'),
    });
    expect(calls).toHaveLength(1);
    await cp.close({ force: true });
  });
});

describe('publishing firmware (2.0.1 local controller)', () => {
  it('publish_firmware, its status notifications as points, and unpublish_firmware', async () => {
    const { cp, calls } = await charger('FW201', 'ocpp2.0.1', 'p201', (action) =>
      action === 'UnpublishFirmware'
        ? { status: calls.length > 2 ? 'NoFirmware' : 'Unpublished' }
        : { status: 'Accepted' },
    );
    const done = await rig.command('FW201', 'publish_firmware', {
      location,
      checksum: md5,
      retries: 1,
      retry_interval_s: 60,
    });
    expect(done).toMatchObject({ status: 'succeeded' });
    const requestId = calls[0].params.requestId;
    expect(calls[0]).toEqual({
      action: 'PublishFirmware',
      params: { location, checksum: md5.toLowerCase(), requestId, retries: 1, retryInterval: 60 },
    });
    await cp.call('PublishFirmwareStatusNotification', { status: 'Downloading', requestId });
    await cp.call('PublishFirmwareStatusNotification', {
      status: 'Published',
      requestId,
      location: ['http://192.168.1.2/fw.bin', 'ftp://192.168.1.2/fw.bin'],
    });
    expect(await eventually(() => rig.lines('ocpp_firmware_publish').length === 2)).toBe(true);
    const [downloading, published] = rig.lines('ocpp_firmware_publish');
    expect(downloading).toMatch(new RegExp(`^ocpp_firmware_publish,device=FW201[, ].*status="Downloading"`));
    expect(published).toContain(`request_id=${requestId}i`);
    expect(published).toContain('locations="http://192.168.1.2/fw.bin ftp://192.168.1.2/fw.bin"');

    expect(await rig.command('FW201', 'unpublish_firmware', { checksum: md5 })).toMatchObject({ status: 'succeeded' });
    expect(await rig.command('FW201', 'unpublish_firmware', { checksum: md5 })).toMatchObject({
      status: 'rejected',
      error: 'UnpublishFirmware: NoFirmware',
    });
    expect(calls.slice(1)).toEqual([
      { action: 'UnpublishFirmware', params: { checksum: md5 } },
      { action: 'UnpublishFirmware', params: { checksum: md5 } },
    ]);
    await cp.close({ force: true });
  });

  it('1.6 has no local controller; a checksum that is not MD5 hex is refused with the rule', async () => {
    const { cp, calls } = await charger('FW16', 'ocpp1.6', 'p16');
    expect(await rig.command('FW16', 'publish_firmware', { location, checksum: md5 })).toMatchObject({
      status: 'rejected',
      error: expect.stringContaining('OCPP 2.0.1 only'),
    });
    expect(await rig.command('FW16', 'unpublish_firmware', { checksum: 'abc' })).toMatchObject({
      http: 400,
      error: { field: 'params.checksum', message: expect.stringContaining('^[0-9a-fA-F]{32}$') },
    });
    expect(calls).toEqual([]);
    await cp.close({ force: true });
  });
});
