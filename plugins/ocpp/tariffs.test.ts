import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryDirectory } from '../../collector/sdk/index.ts';
import { useInfluxd } from '../../test/helpers/influxd.ts';
import { boot16, boot201, eventually, intoInfluxd, startRig, token, type Rig } from './testing.ts';

/**
 * Named tariffs end to end: real strict ocpp-rpc chargers of both versions against the real runtime
 * and inventory. Site berlin-1 (Europe/Berlin, UTC+1 in December) has the `peak` tariff; customer
 * vip's sessions take `flat` wherever they charge. 2026-12-07 is a Monday. Figures by hand below.
 * The ocpp_session summary is also written into a real influxd and read back from there.
 */
const influx = useInfluxd();
const directory = new MemoryDirectory()
  .add({ id: 'CPT201', kind: 'charger', customer: 'acme', site: 'berlin-1' }, { type: 'ocpp_password', value: 'pw-a' })
  .add({ id: 'CPT16', kind: 'charger', customer: 'vip', site: 'berlin-1' }, { type: 'ocpp_password', value: 'pw-b' });
const tariffs = {
  named: {
    peak: {
      energy_per_kwh: 0.2,
      parking_per_min: 0.1,
      fixed_fee: 0.5,
      tax_pct: 20,
      bands: [
        {
          days: ['mon', 'tue', 'wed', 'thu', 'fri'],
          from: '17:00',
          to: '21:00',
          energy_per_kwh: 0.4,
          time_per_min: 0.05,
        },
      ],
    },
    flat: { currency: 'CHF', energy_per_kwh: 0.25, tax_pct: 8.1 },
  },
  sites: { 'berlin-1': 'peak' },
  customers: { vip: 'flat' },
};
let rig: Rig;

const api = async (method: string, path: string, body?: object) => {
  const res = await fetch(`${rig.url}/api/v1${path}`, {
    method,
    headers: { authorization: token('admin'), ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  expect(res.status, `${method} ${path}: ${await res.clone().text()}`).toBeLessThan(300);
  return (await res.json()) as Record<string, any>;
};

beforeAll(async () => {
  rig = await startRig(directory, { heartbeat_interval_s: 120, tariffs });
  await api('POST', '/customers', { id: 'acme', company: 'Acme' });
  await api('POST', '/customers', { id: 'vip', company: 'VIP' });
  await api('POST', '/sites', { id: 'berlin-1', customer: 'acme', name: 'Berlin', timezone: 'Europe/Berlin' });
  await api('PUT', '/id-tags/TAG-T', { status: 'accepted' });
});
afterAll(() => rig?.stop());

const energy = (timestamp: string, wh: number) => [
  {
    timestamp,
    sampledValue: [{ value: wh, measurand: 'Energy.Active.Import.Register', unitOfMeasure: { unit: 'Wh' } }],
  },
];
const event = (eventType: string, seqNo: number, timestamp: string, wh: number) => ({
  eventType,
  timestamp,
  triggerReason: eventType === 'Started' ? 'Authorized' : eventType === 'Ended' ? 'EVDeparted' : 'MeterValuePeriodic',
  seqNo,
  transactionInfo: { transactionId: 'TX-BAND', ...(eventType === 'Ended' ? { stoppedReason: 'EVDisconnected' } : {}) },
  evse: { id: 1, connectorId: 1 },
  meterValue: energy(timestamp, wh),
  ...(eventType === 'Started' ? { idToken: { idToken: 'TAG-T', type: 'ISO14443' } } : {}),
});
const session = (tx: string) =>
  rig.db.prepare('SELECT * FROM ocpp_sessions WHERE transaction_id = ?').get(tx) as Record<string, any>;

describe('a session across a tariff band edge', () => {
  it('2.0.1: costs what the bands say, with CostUpdated while charging and totalCost at the end', async () => {
    const cp = await rig.charger('CPT201', 'ocpp2.0.1', { password: 'pw-a' });
    const updates: Array<{ totalCost: number; transactionId: string }> = [];
    cp.handle('CostUpdated', async ({ params }) => {
      updates.push(params as (typeof updates)[number]);
      return {};
    });
    expect(await cp.call('BootNotification', boot201)).toMatchObject({ status: 'Accepted' });
    // 16:30 local 0 Wh; 17:00 (the peak edge) 5 kWh; 17:30 9 kWh; stopped 17:45, full since 17:30.
    await cp.call('TransactionEvent', event('Started', 0, '2026-12-07T15:30:00Z', 0));
    await cp.call('TransactionEvent', event('Updated', 1, '2026-12-07T16:00:00Z', 5000));
    // Running cost at 17:00: 5 kWh × 0.20 + 0.50 fee = 1.50, + 20 % = 1.80.
    expect(await eventually(() => updates.length === 1)).toBe(true);
    expect(updates[0]).toEqual({ totalCost: 1.8, transactionId: 'TX-BAND' });
    await cp.call('TransactionEvent', event('Updated', 2, '2026-12-07T16:30:00Z', 9000));
    // 1.50 + peak 4 kWh × 0.40 + 30 min × 0.05 = 4.60, + 20 % = 5.52.
    expect(await eventually(() => updates.length === 2)).toBe(true);
    expect(updates[1].totalCost).toBe(5.52);
    const ended = (await cp.call('TransactionEvent', event('Ended', 3, '2026-12-07T16:45:00Z', 9000))) as {
      totalCost?: number;
    };
    // + 15 min × 0.05 peak time + 15 min × 0.10 parking (base) = 6.85 net, 1.37 tax, 8.22.
    expect(ended.totalCost).toBe(8.22);
    expect(session('TX-BAND')).toMatchObject({
      cost_net: 6.85,
      cost: 8.22,
      currency: 'EUR',
      tariff: 'peak',
      state: 'ended',
    });
    expect(updates).toHaveLength(2); // none after the end
    expect(
      await eventually(() =>
        rig.lines('ocpp_session').some((l) => l.includes('transaction_id="TX-BAND"') && l.includes('cost=8.22')),
      ),
    ).toBe(true);
    const db = await intoInfluxd(influx, rig.lines('ocpp_session'));
    const [stored] = await influx.query(
      `SELECT cost, cost_net, currency FROM ocpp_session WHERE device = 'CPT201' AND transaction_id = 'TX-BAND' GROUP BY tariff`,
      { db },
    );
    expect(stored.tags).toEqual({ tariff: 'peak' });
    expect(stored.values.map((v) => v.slice(1))).toEqual([[8.22, 6.85, 'EUR']]);
  });

  it("1.6: the customer's tariff wins over the site's", async () => {
    const cp = await rig.charger('CPT16', 'ocpp1.6', { password: 'pw-b' });
    expect(await cp.call('BootNotification', boot16)).toMatchObject({ status: 'Accepted' });
    const start = (await cp.call('StartTransaction', {
      connectorId: 1,
      idTag: 'TAG-T',
      meterStart: 1000,
      timestamp: '2026-12-07T15:30:00Z',
    })) as { transactionId: number };
    await cp.call('StopTransaction', {
      transactionId: start.transactionId,
      meterStop: 13_000,
      timestamp: '2026-12-07T16:45:00Z',
      reason: 'EVDisconnected',
    });
    // flat: 12 kWh × 0.25 = 3.00 CHF, + 8.1 % = 3.243 → 3.24; the peak band does not apply.
    expect(session(String(start.transactionId))).toMatchObject({
      cost_net: 3,
      cost: 3.24,
      currency: 'CHF',
      tariff: 'flat',
    });
    const tx = `transaction_id="${start.transactionId}"`;
    expect(
      await eventually(() => rig.lines('ocpp_session').some((l) => l.includes(',tariff=flat') && l.includes(tx))),
    ).toBe(true);
  });
});
