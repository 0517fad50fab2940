import { afterAll, beforeAll, expect, it } from 'vitest';
import { MemoryDirectory } from '../../collector/sdk/index.ts';
import simulator from './simulator.ts';
import { SIM_VENDOR } from './simulated-operations.ts';
import { eventually, startRig, token, type Rig } from './testing.ts';

/**
 * The simulated 2.0.1 charger of `fleetpulse simulate --ocpp` answers display messages, customer
 * information, DataTransfer and firmware publishing as a charger would, through
 * `POST /api/v1/commands` against the real runtime (SIM-00001 is 1.6, SIM-00002 2.0.1).
 */
const directory = new MemoryDirectory(new Set(['charger']))
  .add({ id: 'SIM-00001', kind: 'charger' })
  .add({ id: 'SIM-00002', kind: 'charger' });
let rig: Rig;
beforeAll(async () => {
  rig = await startRig(directory, { heartbeat_interval_s: 1, password_required: false }, 5, { commands: true });
});
afterAll(() => rig?.stop());
const get = async (path: string) =>
  await (await fetch(`${rig.url}/api/v1${path}`, { headers: { authorization: token('operator') } })).json();

it('display messages, customer information, DataTransfer and publishing, answered by the simulator', async () => {
  const stop = new AbortController();
  const run = simulator.run({
    server: rig.url,
    count: 2,
    options: { meter_interval_s: '60', plug_in_chance: '0', connectors: '1' },
    progress: { update: () => {}, count: () => {} },
    signal: stop.signal,
  });
  try {
    const up = async () => (await rig.command('SIM-00002', 'data_transfer', { vendor_id: SIM_VENDOR, data: 1 })).status;
    expect(await eventually(async () => (await up()) === 'succeeded', 100)).toBe(true);
    expect(await rig.command('SIM-00001', 'data_transfer', { vendor_id: SIM_VENDOR, data: 'ping' })).toMatchObject({
      status: 'succeeded',
      result: { status: 'Accepted', data: 'ping' },
    });
    expect(await rig.command('SIM-00002', 'data_transfer', { vendor_id: 'com.other' })).toMatchObject({
      status: 'rejected',
    });

    const message = { id: 3, priority: 'in_front', message: { content: 'Welcome' } };
    expect(await rig.command('SIM-00002', 'set_display_message', message)).toMatchObject({ status: 'succeeded' });
    expect(await rig.command('SIM-00002', 'get_display_messages', {})).toMatchObject({ status: 'succeeded' });
    const reported = async () =>
      (await get('/chargers/SIM-00002/display-messages')).messages.some((m: any) => m.source === 'charger');
    expect(await eventually(reported)).toBe(true);
    expect(await rig.command('SIM-00002', 'clear_display_message', { id: 3 })).toMatchObject({ status: 'succeeded' });
    expect(await rig.command('SIM-00002', 'clear_display_message', { id: 3 })).toMatchObject({ status: 'rejected' });

    const asked = await rig.command('SIM-00002', 'customer_information', {
      report: true,
      clear: false,
      customer_identifier: 'cust-7',
    });
    expect(asked).toMatchObject({ status: 'succeeded' });
    const path = `/chargers/SIM-00002/customer-information/${asked.result.request_id}`;
    expect(await eventually(async () => (await get(path)).complete === true)).toBe(true);
    expect(await get(path)).toMatchObject({ parts: 2, data: 'customer cust-7: no sessions kept' });

    const checksum = '9e107d9d372bb6826bd81d3542a419d6';
    const location = 'https://fw.example.com/sim-22.bin';
    expect(await rig.command('SIM-00002', 'publish_firmware', { location, checksum })).toMatchObject({
      status: 'succeeded',
    });
    const published = () => rig.lines('ocpp_firmware_publish').some((l) => l.includes('status="Published"'));
    expect(await eventually(published)).toBe(true);
    expect(rig.lines('ocpp_firmware_publish').map((l) => /status="(\w+)"/.exec(l)?.[1])).toEqual([
      'Downloading',
      'Downloaded',
      'ChecksumVerified',
      'Published',
    ]);
    expect(await rig.command('SIM-00002', 'unpublish_firmware', { checksum })).toMatchObject({ status: 'succeeded' });
    expect(await rig.command('SIM-00002', 'unpublish_firmware', { checksum })).toMatchObject({
      status: 'rejected',
      error: 'UnpublishFirmware: NoFirmware',
    });
  } finally {
    stop.abort();
    await run;
  }
});
