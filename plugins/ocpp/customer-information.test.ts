import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryDirectory } from '../../collector/sdk/index.ts';
import { MAX_PARTS } from './customer-reports.ts';
import { startRig, token, type Rig } from './testing.ts';

/**
 * customer_information (2.0.1) through `POST /api/v1/commands` to a real strict-mode ocpp-rpc
 * charger, its NotifyCustomerInformation parts assembled per requestId, and the audit.
 */
const directory = new MemoryDirectory()
  .add({ id: 'CI16', kind: 'charger' }, { type: 'ocpp_password', value: 'p16' })
  .add({ id: 'CI201', kind: 'charger' }, { type: 'ocpp_password', value: 'p201' });
let rig: Rig;
beforeAll(async () => {
  rig = await startRig(directory, {}, 5, { commands: true });
});
afterAll(() => rig?.stop());

const report = async (charger: string, requestId: number, role: 'viewer' | 'operator' = 'operator') => {
  const res = await fetch(`${rig.url}/api/v1/chargers/${charger}/customer-information/${requestId}`, {
    headers: { authorization: token(role) },
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
};
const part = (requestId: number, seqNo: number, data: string, tbc: boolean) => ({
  requestId,
  seqNo,
  data,
  tbc,
  generatedAt: '2030-01-01T00:00:00Z',
});

describe('customer information', () => {
  it('the report arrives in parts, out of order, and is read assembled; the command is audited', async () => {
    const cp = await rig.charger('CI201', 'ocpp2.0.1', { password: 'p201' });
    const calls: Array<{ action: string; params: any }> = [];
    cp.handle((async ({ method, params }: { method: string; params: any }) => {
      calls.push({ action: method, params });
      return { status: 'Accepted' };
    }) as never);
    const done = await rig.command('CI201', 'customer_information', {
      report: true,
      clear: true,
      id_token: { id: '04A2B3C4D5' },
      customer_identifier: 'cust-7',
    });
    expect(done).toMatchObject({ http: 201, status: 'succeeded', result: { status: 'Accepted' } });
    const requestId = done.result.request_id as number;
    expect(calls).toEqual([
      {
        action: 'CustomerInformation',
        params: {
          requestId,
          report: true,
          clear: true,
          customerIdentifier: 'cust-7',
          idToken: { idToken: '04A2B3C4D5', type: 'ISO14443' },
        },
      },
    ]);
    expect((await report('CI201', requestId)).status).toBe(404);
    await cp.call('NotifyCustomerInformation', part(requestId, 1, 'sessions: 12', false));
    expect((await report('CI201', requestId)).body).toMatchObject({ complete: false, parts: 1 });
    await cp.call('NotifyCustomerInformation', part(requestId, 0, 'id token 04A2B3C4D5; ', true));
    expect((await report('CI201', requestId)).body).toEqual({
      charger: 'CI201',
      request_id: requestId,
      complete: true,
      parts: 2,
      data: 'id token 04A2B3C4D5; sessions: 12',
      generated_at: '2030-01-01T00:00:00Z',
    });
    // Personal data: not for viewers.
    expect((await report('CI201', requestId, 'viewer')).status).toBe(403);
    const audit = rig.db
      .prepare("SELECT action, target FROM audit WHERE action = 'commands.create' AND target = 'CI201'")
      .all();
    expect(audit).toEqual([{ action: 'commands.create', target: 'CI201' }]);
    await cp.close({ force: true });
  });

  it('a charger flooding parts is counted, not stored past the cap, and keeps its connection', async () => {
    const cp = await rig.charger('CI201', 'ocpp2.0.1', { password: 'p201' });
    for (let i = 0; i < MAX_PARTS + 3; i++) await cp.call('NotifyCustomerInformation', part(77, i, 'x', true));
    expect((await report('CI201', 77)).body).toMatchObject({ parts: MAX_PARTS, complete: false });
    expect(await rig.events('customer_information_overflow')).toBe(3);
    expect(await cp.call('Heartbeat', {})).toHaveProperty('currentTime');
    await cp.close({ force: true });
  });

  it('refused without a customer, or on 1.6; a bad id token type lists the allowed ones', async () => {
    const cp = await rig.charger('CI16', 'ocpp1.6', { password: 'p16' });
    expect(
      await rig.command('CI16', 'customer_information', { report: true, clear: false, customer_identifier: 'c' }),
    ).toMatchObject({ status: 'rejected', error: expect.stringContaining('OCPP 2.0.1 only') });
    await cp.close({ force: true });
    const cp201 = await rig.charger('CI201', 'ocpp2.0.1', { password: 'p201' });
    expect(await rig.command('CI201', 'customer_information', { report: true, clear: false })).toMatchObject({
      status: 'rejected',
      http: 201,
      error: expect.stringContaining('needs one of customer_identifier, id_token, customer_certificate'),
    });
    const bad = await rig.command('CI201', 'customer_information', {
      report: true,
      clear: false,
      id_token: { id: 'T', type: 'RFID' },
    });
    expect(bad.error).toMatchObject({
      field: 'params.id_token.type',
      message: expect.stringContaining('"Central", "eMAID", "ISO14443", "ISO15693", "KeyCode", "Local", "MacAddress"'),
    });
    await cp201.close({ force: true });
  });
});
