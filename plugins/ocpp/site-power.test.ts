import type { RPCClient } from 'ocpp-rpc';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryDirectory } from '../../collector/sdk/index.ts';
import { useInfluxd } from '../../test/helpers/influxd.ts';
import type { RunningTransaction } from './schedule-limit.ts';
import { SimulatedProfiles } from './simulated-profiles.ts';
import { eventually, intoInfluxd, startRig, token, type Rig } from './testing.ts';

/**
 * The site power limit as it reaches InfluxDB: three real strict-mode chargers at one site (1.6,
 * 2.0.1, 1.6) start sessions under a 21 kW limit, one ends. Each charger holds its profiles the way
 * the simulator does (SimulatedProfiles) and reports the power that leaves it for a car wanting
 * 11 kW. What the runtime spooled is written to a real influxd as the writer writes it, and read
 * back: each connector's limit beside its power, the power the chargers reported, and the site's
 * limit beside what its sessions draw.
 */
const influx = useInfluxd();
const at = (id: string, site: string, pw: string) =>
  [
    { id, kind: 'charger', site, customer: 'acme' },
    { type: 'ocpp_password', value: pw },
  ] as const;
const directory = new MemoryDirectory()
  .add(...at('SP-A16', 'depot', 'pa'))
  .add(...at('SP-B201', 'depot', 'pb'))
  .add(...at('SP-C16', 'depot', 'pc'))
  .add(...at('SP-OTHER', 'elsewhere', 'po'));
let rig: Rig;
beforeAll(async () => {
  rig = await startRig(directory);
});
afterAll(() => rig?.stop());

const CAR_WANTS_W = 11_000;
const MIN = 60_000;
// In the past, so that every meter value sorts before the points written at the shares (now).
const T0 = Math.floor((Date.now() - 60 * MIN) / 1000) * 1000;
const iso = (t: number) => new Date(t).toISOString();

/** A charger that holds profiles as the simulator does, with its running transactions per connector. */
async function charger(id: string, version: 'ocpp1.6' | 'ocpp2.0.1', password: string) {
  const cp: RPCClient = await rig.charger(id, version, { password });
  const running = new Map<number, RunningTransaction>();
  const profiles = new SimulatedProfiles(version === 'ocpp1.6', (n) => running.get(n));
  profiles.serve(cp);
  /** The power the connector draws now, W: what its meter values report. */
  const draw = (connector: number) => profiles.drawW(connector, CAR_WANTS_W, Date.now(), 1);
  return { cp, running, draw, version, profiles };
}
type Charger = Awaited<ReturnType<typeof charger>>;

async function start(c: Charger, connector: number, transactionId?: string) {
  if (c.version === 'ocpp1.6') {
    c.profiles.opened(connector);
    const answer = (await c.cp.call('StartTransaction', {
      connectorId: connector,
      idTag: 'ANY',
      meterStart: 0,
      timestamp: iso(T0),
    })) as { transactionId: number };
    c.running.set(connector, { id: String(answer.transactionId), startedAt: T0 });
    c.profiles.started(connector, String(answer.transactionId));
    return;
  }
  await c.cp.call('TransactionEvent', {
    eventType: 'Started',
    timestamp: iso(T0),
    triggerReason: 'CablePluggedIn',
    seqNo: 0,
    transactionInfo: { transactionId },
    evse: { id: connector, connectorId: 1 },
  });
  c.running.set(connector, { id: transactionId!, startedAt: T0 });
}

/** A meter value at `t` with the power the connector draws now. */
async function meter(c: Charger, connector: number, t: number, seqNo = 1) {
  const watts = c.draw(connector);
  const tx = c.running.get(connector)!;
  if (c.version === 'ocpp1.6')
    await c.cp.call('MeterValues', {
      connectorId: connector,
      transactionId: Number(tx.id),
      meterValue: [
        { timestamp: iso(t), sampledValue: [{ value: String(watts), measurand: 'Power.Active.Import', unit: 'W' }] },
      ],
    });
  else
    await c.cp.call('TransactionEvent', {
      eventType: 'Updated',
      timestamp: iso(t),
      triggerReason: 'MeterValuePeriodic',
      seqNo,
      transactionInfo: { transactionId: tx.id },
      meterValue: [
        {
          timestamp: iso(t),
          sampledValue: [{ value: watts, measurand: 'Power.Active.Import', unitOfMeasure: { unit: 'W' } }],
        },
      ],
    });
}

/** The shares the backend has recorded as accepted (it stores one once the charger's answer is in). */
const recorded = async () => {
  const res = await fetch(`${rig.url}/api/v1/sites/depot/power-limit`, { headers: { authorization: token('viewer') } });
  return ((await res.json()) as { allocations: Array<{ limit_w: number | null }> }).allocations.map((a) => a.limit_w);
};
const holds = (c: Charger[], connectors: number[], watts: number) => async () =>
  c.every((x, i) => x.draw(connectors[i]) === watts) && (await recorded()).every((w) => w === watts);

const rows = async (db: string, q: string) => {
  const series = await influx.query(q, { db });
  return series.map((s) => ({ tags: s.tags, values: s.values.map((v) => v.slice(1)) }));
};

describe('the site power limit in InfluxDB', () => {
  it('21 kW over three sessions is 7000 W each, then 10 500 W each over two: limits, power and site draw', async () => {
    const a = await charger('SP-A16', 'ocpp1.6', 'pa');
    const b = await charger('SP-B201', 'ocpp2.0.1', 'pb');
    const c = await charger('SP-C16', 'ocpp1.6', 'pc');
    const other = await charger('SP-OTHER', 'ocpp1.6', 'po');
    const res = await fetch(`${rig.url}/api/v1/sites/depot/power-limit`, {
      method: 'PUT',
      headers: { authorization: token('operator'), 'content-type': 'application/json' },
      body: JSON.stringify({ max_power_kw: 21 }),
    });
    expect(res.status).toBe(200);

    await start(a, 1);
    await start(b, 2, 'TX-B');
    await start(c, 2);
    await start(other, 1);
    // Both sides hold the share: the charger draws it and the backend has recorded it.
    expect(await eventually(holds([a, b, c], [1, 2, 2], 7000))).toBe(true);
    await meter(a, 1, T0 + 1 * MIN);
    await meter(b, 2, T0 + 2 * MIN);
    await meter(c, 2, T0 + 3 * MIN);
    await meter(other, 1, T0 + 3 * MIN);

    await a.cp.call('StopTransaction', {
      transactionId: Number(a.running.get(1)!.id),
      meterStop: 5000,
      timestamp: iso(T0 + 4 * MIN),
    });
    a.running.delete(1);
    expect(await eventually(holds([b, c], [2, 2], 10_500))).toBe(true);
    await meter(b, 2, T0 + 5 * MIN, 2);
    await meter(c, 2, T0 + 6 * MIN);

    const db = await intoInfluxd(influx, rig.allLines());
    // What the chargers reported: never above their share (the car wanted 11 kW); the other site's is unlimited.
    expect(await rows(db, 'SELECT power_active_import_w FROM ocpp_meter GROUP BY device')).toEqual([
      { tags: { device: 'SP-A16' }, values: [[7000]] },
      { tags: { device: 'SP-B201' }, values: [[7000], [10_500]] },
      { tags: { device: 'SP-C16' }, values: [[7000], [10_500]] },
      { tags: { device: 'SP-OTHER' }, values: [[CAR_WANTS_W]] },
    ]);
    // Each connector's limit beside its power at each meter value; the other site's charger holds none.
    const limits = await rows(
      db,
      'SELECT limit_w, drawn_w FROM ocpp_charging_limit WHERE drawn_w >= 0 GROUP BY device, connector',
    );
    expect(limits).toEqual([
      { tags: { device: 'SP-A16', connector: '1' }, values: [[7000, 7000]] },
      {
        tags: { device: 'SP-B201', connector: '2' },
        values: [
          [7000, 7000],
          [10_500, 10_500],
        ],
      },
      {
        tags: { device: 'SP-C16', connector: '2' },
        values: [
          [7000, 7000],
          [10_500, 10_500],
        ],
      },
    ]);
    // The shares as they were accepted (time = now): as sessions started each got the share of the
    // moment (how many runs that took depends on timing); the last is a third for A, half for B and C.
    const shares = await rows(db, 'SELECT limit_w FROM ocpp_charging_limit WHERE time > now() - 10m GROUP BY device');
    expect(shares.map((s) => [s.tags.device, s.values.at(-1)![0], s.values.some((v) => v[0] === 7000)])).toEqual([
      ['SP-A16', 7000, true],
      ['SP-B201', 10_500, true],
      ['SP-C16', 10_500, true],
    ]);
    // The site: its limit beside the sum of its sessions' last power, at each meter value.
    const site = await rows(
      db,
      `SELECT limit_w, drawn_w, sessions FROM ocpp_site_power WHERE time < now() - 10m GROUP BY site, customer`,
    );
    expect(site).toEqual([
      {
        tags: { site: 'depot', customer: 'acme' },
        values: [
          [21_000, 7000, 3],
          [21_000, 14_000, 3],
          [21_000, 21_000, 3],
          [21_000, 17_500, 2],
          [21_000, 21_000, 2],
        ],
      },
    ]);
  });
});
