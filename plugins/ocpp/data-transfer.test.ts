import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryDirectory } from '../../collector/sdk/index.ts';
import { eventually, rawCall, startRig, type Rig } from './testing.ts';

/**
 * DataTransfer both ways with real strict-mode ocpp-rpc chargers: the data_transfer command
 * through `POST /api/v1/commands`, and a charger's DataTransfer routed by vendorId to the handler
 * the config names, kept as ocpp_data_transfer points, and hostile ones refused and counted.
 */
const directory = new MemoryDirectory()
  .add({ id: 'DT16', kind: 'charger' }, { type: 'ocpp_password', value: 'p16' })
  .add({ id: 'DT201', kind: 'charger' }, { type: 'ocpp_password', value: 'p201' })
  .add({ id: 'DTX', kind: 'charger' }, { type: 'ocpp_password', value: 'px' });
let rig: Rig;
beforeAll(async () => {
  const data_transfer = {
    vendors: { 'com.acme': { message_ids: ['Ping', 'Report'] }, 'org.closed': { handler: 'reject' } },
    max_data_bytes: 1024,
  };
  rig = await startRig(directory, { data_transfer }, 5, { commands: true });
});
afterAll(() => rig?.stop());

describe('data_transfer (CSMS → charger)', () => {
  for (const version of ['ocpp1.6', 'ocpp2.0.1'] as const) {
    it(`${version}: the outcome carries the charger's status and data`, async () => {
      const id = version === 'ocpp1.6' ? 'DT16' : 'DT201';
      const cp = await rig.charger(id, version, { password: version === 'ocpp1.6' ? 'p16' : 'p201' });
      const calls: Array<{ action: string; params: any }> = [];
      cp.handle((async ({ method, params }: { method: string; params: any }) => {
        calls.push({ action: method, params });
        if (params.vendorId !== 'com.acme') return { status: 'UnknownVendorId' };
        return { status: 'Accepted', data: version === 'ocpp1.6' ? 'pong' : { pong: true } };
      }) as never);
      const data = version === 'ocpp1.6' ? 'ping' : { ping: 1 };
      expect(await rig.command(id, 'data_transfer', { vendor_id: 'com.acme', message_id: 'Ping', data })).toMatchObject(
        {
          http: 201,
          status: 'succeeded',
          result: { status: 'Accepted', data: version === 'ocpp1.6' ? 'pong' : { pong: true } },
        },
      );
      expect(await rig.command(id, 'data_transfer', { vendor_id: 'com.other' })).toMatchObject({
        status: 'rejected',
        error: 'DataTransfer: UnknownVendorId',
        result: { status: 'UnknownVendorId' },
      });
      expect(calls).toEqual([
        { action: 'DataTransfer', params: { vendorId: 'com.acme', messageId: 'Ping', data } },
        { action: 'DataTransfer', params: { vendorId: 'com.other' } },
      ]);
      if (version === 'ocpp1.6')
        expect(await rig.command(id, 'data_transfer', { vendor_id: 'com.acme', data: { a: 1 } })).toMatchObject({
          status: 'rejected',
          error: expect.stringContaining('1.6 DataTransfer data is a string'),
        });
      await cp.close({ force: true });
    });
  }
});

describe('DataTransfer (charger → CSMS)', () => {
  it('routed by vendorId: store, reject, UnknownMessageId, UnknownVendorId; each kept as a point', async () => {
    const cp = await rig.charger('DT201', 'ocpp2.0.1', { password: 'p201' });
    const send = (p: object) => cp.call('DataTransfer', p);
    expect(await send({ vendorId: 'com.acme', messageId: 'Report', data: { soc: 80 } })).toEqual({
      status: 'Accepted',
    });
    expect(await send({ vendorId: 'com.acme', messageId: 'Reboot' })).toEqual({ status: 'UnknownMessageId' });
    expect(await send({ vendorId: 'org.closed', messageId: 'X' })).toEqual({ status: 'Rejected' });
    expect(await send({ vendorId: 'com.stranger', data: 'hi' })).toEqual({ status: 'UnknownVendorId' });
    const lines = rig.lines('ocpp_data_transfer');
    expect(lines).toHaveLength(4);
    for (const field of ['vendor_id="com.acme"', 'message_id="Report"', 'data="{\\"soc\\":80}"', 'data_bytes=10i'])
      expect(lines[0]).toContain(field);
    expect(lines.map((l) => /status="(\w+)"/.exec(l)?.[1])).toEqual([
      'Accepted',
      'UnknownMessageId',
      'Rejected',
      'UnknownVendorId',
    ]);
    expect(await rig.events('data_transfer')).toBe(4);
    await cp.close({ force: true });
  });

  it('a huge or malformed DataTransfer is refused and counted; another charger is not harmed', async () => {
    const hostile = await rig.charger('DT16', 'ocpp1.6', { password: 'p16' });
    const other = await rig.charger('DTX', 'ocpp2.0.1', { password: 'px' });
    const before = rig.lines('ocpp_data_transfer').length;
    // Over max_data_bytes: answered Rejected, kept without its data.
    expect(
      await hostile.call('DataTransfer', { vendorId: 'com.acme', messageId: 'Ping', data: 'x'.repeat(50_000) }),
    ).toEqual({
      status: 'Rejected',
    });
    expect(await rig.events('data_transfer_too_large')).toBe(1);
    const huge = rig.lines('ocpp_data_transfer').slice(before);
    expect(huge).toHaveLength(1);
    expect(huge[0]).toContain('data_bytes=50000i');
    expect(huge[0]).not.toContain('data="');
    // 1.6 data must be a string: sent raw (a strict client would not send it), refused by the schema.
    const schemaBefore = await rig.events('schema_violation');
    const answer = await rawCall(hostile, 'dt-bad', 'DataTransfer', {
      vendorId: 'com.acme',
      data: { not: 'a string' },
    });
    expect(answer.slice(0, 3)).toEqual([
      4,
      'dt-bad',
      expect.stringMatching(/TypeConstraintViolation|FormationViolation/),
    ]);
    expect(await eventually(async () => (await rig.events('schema_violation')) === schemaBefore + 1)).toBe(true);
    expect(rig.lines('ocpp_data_transfer').length).toBe(before + 1);
    expect(await other.call('DataTransfer', { vendorId: 'com.acme', messageId: 'Ping' })).toEqual({
      status: 'Accepted',
    });
    expect(await hostile.call('Heartbeat', {})).toHaveProperty('currentTime');
    await hostile.close({ force: true });
    await other.close({ force: true });
  });
});
