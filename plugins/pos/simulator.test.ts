import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryDirectory } from '../../collector/sdk/index.ts';
import { startPluginRuntime, type PluginRuntime } from '../../test/helpers/plugin-runtime.ts';
import { FAILURE_REASONS, SimulatedBackOffice, trafficShape, type BackOfficeOptions } from './simulated-back-office.ts';
import pos from './index.ts';
import simulator from './simulator.ts';

// The simulated back offices post to the real runtime over HTTP; each runs on a clock of its own
// (moved by the test) and a seeded random source, so every run sees the same traffic.
const SECRET = 'sim-test-secret';
let rt: PluginRuntime;
let directory: MemoryDirectory;

/** The stores a prefix names, registered as `simulate --api-key` would (back office + its devices). */
const register = (prefix: string, devices: number) => {
  for (const d of simulator.devices!(devices, { prefix, devices_per_store: String(devices) })) {
    directory.add(
      { id: d.id, kind: d.kind, model: d.model, gateway: d.gateway },
      d.credential ? { type: d.credential, value: SECRET } : undefined,
    );
  }
};

beforeAll(async () => {
  directory = new MemoryDirectory();
  for (const prefix of ['peak-', 'lull-', 'outage-', 'fail-']) register(prefix, 4);
  // The back offices' clocks sit at chosen hours of today: a day of signature tolerance.
  rt = await startPluginRuntime({ plugins: [pos], pluginConfig: { pos: { tolerance_s: 86_400 } }, directory });
});
afterAll(() => rt?.stop());

/** mulberry32: a small seeded PRNG. */
function seeded(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const today = (hour: number, minute: number) => new Date().setHours(hour, minute, 0, 0);

function backOffice(store: string, start: number, options: Partial<BackOfficeOptions> = {}) {
  const clock = { t: start, now: () => clock.t };
  const counts = new Map<string, number>();
  const refused: string[] = [];
  const bo = new SimulatedBackOffice({
    store,
    devices: [1, 2, 3, 4].map((n) => `${store}-pos-${n}`),
    url: `${rt.url}/ingest/pos`,
    secret: SECRET,
    heartbeatMs: 60_000,
    ordersPerHour: 60,
    failurePct: 4,
    outagePct: 0,
    clock,
    random: seeded(store.length * 7919),
    progress: {
      update() {},
      count: (e, by = 1) => void counts.set(e, (counts.get(e) ?? 0) + by),
      refused: (d, why) => void refused.push(`${d}: ${why}`),
    },
    ...options,
  });
  /** Moves the clock by `seconds` one-second steps, the devices acting in each. */
  const run = (seconds: number) => {
    for (let i = 0; i < seconds; i++) {
      clock.t += 1000;
      bo.tick(1000);
    }
  };
  return { bo, clock, counts, refused, run };
}
const storeLines = (measurement: string, store: string) =>
  rt.lines(measurement).filter((l) => l.includes(`,store=${store} `));
const delivered = (sender: string) =>
  (rt.pluginDb.prepare('SELECT count(*) AS n FROM pos_events_seen WHERE sender = ?').get(sender) as { n: number }).n;

describe('pos simulator', () => {
  it('has a lunch peak: more orders at 12:30 than at 15:30, in the curve and at the server', async () => {
    expect(trafficShape(12.5)).toBe(1);
    expect(trafficShape(12.5)).toBeGreaterThan(5 * trafficShape(15.5));
    expect(trafficShape(18.5)).toBeGreaterThan(trafficShape(15.5)); // the smaller dinner peak
    expect(trafficShape(3)).toBeLessThan(0.1); // quiet nights

    // One simulated hour each: 12:00-13:00 and 15:00-16:00, the same devices and rate.
    const peak = backOffice('peak-0001', today(12, 0), { ordersPerHour: 120 });
    const lull = backOffice('lull-0001', today(15, 0), { ordersPerHour: 120 });
    peak.run(3600);
    lull.run(3600);
    await Promise.all([peak.bo.flush(), lull.bo.flush()]);
    expect([peak.bo.held, lull.bo.held]).toEqual([0, 0]);
    const atPeak = storeLines('pos_order', 'peak-0001').length;
    const atLull = storeLines('pos_order', 'lull-0001').length;
    expect(atPeak).toBe(peak.counts.get('orders'));
    expect(atLull).toBe(lull.counts.get('orders'));
    expect(atPeak).toBeGreaterThan(3 * atLull);
  });

  it('holds events through an outage and sends them after it, in batches, every event id once', async () => {
    const store = backOffice('outage-0001', today(12, 30), { ordersPerHour: 36_000, outagePct: 100 });
    store.bo.tick(60_000); // a chance of 100 % a minute: the uplink goes down now
    const downUntil = store.bo.uplinkDownUntil;
    expect(store.counts.get('outages')).toBe(1);
    expect(downUntil - store.clock.t).toBeGreaterThanOrEqual(60_000);
    expect(downUntil - store.clock.t).toBeLessThanOrEqual(300_000);

    while (store.clock.t + 5000 < downUntil) {
      store.run(5);
      await store.bo.flush(); // the back office tries every 5 s; nothing leaves during the outage
    }
    const held = store.bo.held;
    expect(held).toBeGreaterThan(500); // more than one batch
    expect(store.counts.get('events_sent')).toBeUndefined();
    expect(delivered('outage-0001-bo')).toBe(0);
    expect(storeLines('pos_order', 'outage-0001')).toEqual([]);

    const duplicatesBefore = await rt.events('pos', 'events_duplicate');
    store.clock.t = downUntil; // the uplink is back
    await store.bo.flush();
    expect(store.bo.held).toBe(0);
    expect(store.counts.get('events_sent')).toBe(held);
    expect(delivered('outage-0001-bo')).toBe(held); // distinct ids the server took
    expect(await rt.events('pos', 'events_duplicate')).toBe(duplicatesBefore); // none twice
    expect(storeLines('pos_order', 'outage-0001')).toHaveLength(store.counts.get('orders')!);
    expect(store.counts.get('outages')).toBe(1);
  });

  it('keeps events the server refuses (401) and sends them once it is registered', async () => {
    const store = backOffice('late-0001', today(12, 30), { ordersPerHour: 3600 });
    store.run(30);
    const held = store.bo.held;
    expect(held).toBeGreaterThan(0);
    await store.bo.flush();
    expect(store.counts.get('http_401')).toBe(1);
    expect(store.refused).toEqual(['late-0001-bo: webhook answered HTTP 401']);
    expect(store.bo.held).toBe(held);

    register('late-', 4);
    await store.bo.flush();
    expect(store.bo.held).toBe(0);
    expect(delivered('late-0001-bo')).toBe(held);
    expect(storeLines('pos_order', 'late-0001')).toHaveLength(store.counts.get('orders')!);
  });

  it('fails card and mobile payments at the configured rate, each with a reason, and retries them in cash', async () => {
    const store = backOffice('fail-0001', today(12, 30), { ordersPerHour: 36_000, failurePct: 10 });
    store.run(500);
    await store.bo.flush();
    expect(store.bo.held).toBe(0);
    const payments = storeLines('pos_payment', 'fail-0001').map((line) => ({
      method: /,method=(\w+)/.exec(line)![1],
      result: /,result=(\w+)/.exec(line)![1],
      reason: /,reason=(\w+)/.exec(line)?.[1],
      order: /order_id="([^"]+)"/.exec(line)![1],
    }));
    const attempts = payments.filter((p) => p.method !== 'cash');
    const failures = payments.filter((p) => p.result === 'failure');
    expect(attempts.length).toBeGreaterThan(1000);
    expect(
      failures.every((p) => p.method !== 'cash' && (FAILURE_REASONS as readonly string[]).includes(p.reason!)),
    ).toBe(true);
    expect(new Set(failures.map((p) => p.reason)).size).toBe(FAILURE_REASONS.length);
    expect(payments.filter((p) => p.result === 'success').every((p) => p.reason === undefined)).toBe(true);
    const rate = failures.length / attempts.length;
    expect(rate).toBeGreaterThan(0.06); // configured 10 %, a generous bound
    expect(rate).toBeLessThan(0.14);
    const paidInCash = new Set(
      payments.filter((p) => p.method === 'cash' && p.result === 'success').map((p) => p.order),
    );
    expect(failures.every((p) => paidInCash.has(p.order))).toBe(true);
  });
});
