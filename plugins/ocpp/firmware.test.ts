import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryDirectory } from '../../collector/sdk/index.ts';
import { makeCa } from '../../test/helpers/test-ca.ts';
import { startRig, type Rig } from './testing.ts';

/**
 * Firmware commands through `POST /api/v1/commands` to real strict-mode ocpp-rpc chargers: an
 * install time and a signature on update_firmware.
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
