import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useInfluxd } from '../../test/helpers/influxd.ts';
import { Drain } from '../pipeline/drain.ts';
import { rows } from '../pipeline/influx-query.ts';
import { InfluxV1Writer } from '../pipeline/influx-writer.ts';
import { encodeLine } from '../pipeline/line-protocol.ts';
import { Spool } from '../pipeline/spool.ts';
import { openStateDb } from '../pipeline/state-db.ts';
import { defineMeasurement, int, MemoryDirectory, parseLineHead, type Point } from '../sdk/index.ts';
import { Downsampler, MAX_HOURS_PER_QUERY, runs } from './downsampler.ts';
import { Emitter } from './emitter.ts';
import { deviceAvailability, deviceAvailabilityCustomerHourly, deviceAvailabilityHourly } from './measurements.ts';
import { COUNTER_LOOKBACK_HOURS, counterIncrease, HOUR_MS, hourOf, rollupMeasurement } from './rollups.ts';
import { SelfMetrics } from './self-metrics.ts';

const meter = defineMeasurement({
  name: 'meter_status',
  description: 'A test device kind with a gauge, a counter and an error code.',
  tags: {},
  fields: {
    load_pct: { type: 'float', unit: '%', description: 'gauge' },
    pulses: { type: 'int', description: 'counter' },
    error_code: { type: 'int', description: '0 = none' },
    label: { type: 'string', description: 'not rolled up' },
  },
  rollup: { fields: { load_pct: 'mean', pulses: 'increase', error_code: 'count_positive' } },
});
const hourly = rollupMeasurement(meter);

const influx = useInfluxd();
const log = pino({ level: 'silent' });
const MIN = 60_000;
/** An hour well in the past, so the clock plays no part in the exact figures. */
const H = hourOf(Date.now()) - 3 * HOUR_MS;
const A = { device: 'dev-a', customer: 'c1', site: 's1', kind: 'meter', model: 'M1' };
const B = { device: 'dev-b', customer: 'c1', site: 's1', kind: 'meter', model: 'M1' };
const C = { device: 'dev-c', customer: 'c2', site: 's2', kind: 'meter' }; // the inventory has no model

async function writeRaw(db: string, points: Point[]): Promise<void> {
  const res = await fetch(`${influx.url}/write?db=${db}&precision=ms`, {
    method: 'POST',
    body: points.map(encodeLine).join('\n'),
  });
  expect(res.status).toBe(204);
}
const reading = (tags: Record<string, string>, at: number, fields: Point['fields']): Point => ({
  measurement: meter.name,
  tags,
  fields,
  time: at,
});

/** A downsampler whose points go to InfluxDB through the pipeline's own writer. */
function downsampler(db: string, extra: Partial<ConstructorParameters<typeof Downsampler>[0]> = {}) {
  const lines: string[] = [];
  const writer = new InfluxV1Writer({ url: influx.url, database: db, gzip: false });
  const ds = new Downsampler({
    query: influx.client(db),
    write: (p) => lines.push(encodeLine(p)),
    measurements: [meter, deviceAvailability],
    log,
    ...extra,
  });
  const flush = async () => {
    if (lines.length === 0) return;
    expect(await writer.write(lines.splice(0))).toEqual({ kind: 'written' });
  };
  return { ds, flush };
}

async function hourlyRows(db: string, hour: number) {
  const q = `SELECT * FROM "${hourly.name}" WHERE time = ${hour}ms GROUP BY "customer", "site", "kind", "model"`;
  return Object.fromEntries(
    rows(await influx.query(q, { db })).map((r) => [[r.customer, r.site, r.model].join('/'), r]),
  );
}

describe('rollup declarations', () => {
  it("names and types the fields of <name>_hourly from the declaration; group tags are fleet_status's", () => {
    expect(hourly.name).toBe('meter_status_hourly');
    expect(Object.fromEntries(Object.entries(hourly.fields).map(([k, f]) => [k, f.type]))).toEqual({
      load_pct_sum: 'float',
      load_pct_count: 'int',
      pulses_increase: 'int',
      error_code_positive: 'int',
    });
    expect(Object.keys(deviceAvailabilityHourly.fields)).toEqual([
      'online_s_sum',
      'error_s_sum',
      'offline_s_sum',
      'maintenance_s_sum',
    ]);
  });

  it('refuses a rollup of a string or undeclared field, naming it', () => {
    const bad = { ...meter, rollup: { fields: { label: 'mean' } } } as never;
    expect(() => rollupMeasurement(bad)).toThrow('meter_status: rollup "mean" of string field "label"');
    const ghost = { ...meter, rollup: { fields: { nope: 'sum' } } } as never;
    expect(() => rollupMeasurement(ghost)).toThrow('rollup of undeclared field "nope"');
    expect(() => new Downsampler({ query: influx.client('x'), write: () => {}, measurements: [bad], log })).toThrow(
      /string field "label"/,
    );
  });

  it('a counter below its baseline was reset and counts from zero', () => {
    expect(counterIncrease(100, 130)).toBe(30);
    expect(counterIncrease(500, 7)).toBe(7);
  });

  it('adjacent hours are read as one run, at most MAX_HOURS_PER_QUERY long', () => {
    expect(runs([H + 5 * MIN, H, H + HOUR_MS + 1, H + 5 * HOUR_MS])).toEqual([
      { from: H, hours: 2 },
      { from: H + 5 * HOUR_MS, hours: 1 },
    ]);
    const day = Array.from({ length: MAX_HOURS_PER_QUERY + 2 }, (_, i) => H + i * HOUR_MS);
    expect(runs(day).map((r) => r.hours)).toEqual([MAX_HOURS_PER_QUERY, 2]);
  });
});

describe('downsampler against a real influxd', () => {
  let db: string;
  beforeAll(async () => {
    db = await influx.freshDatabase({ prefix: 'rollup' });
    await writeRaw(db, [
      // The hour before H: each counter's baseline.
      reading(A, H - 10 * MIN, { pulses: int(100), load_pct: 99, error_code: int(0) }),
      reading(B, H - 10 * MIN, { pulses: int(500), load_pct: 99, error_code: int(0) }),
      // C was silent the hour before H: its baseline is older (within COUNTER_LOOKBACK_HOURS).
      reading(C, H - COUNTER_LOOKBACK_HOURS * HOUR_MS, { pulses: int(40), load_pct: 99, error_code: int(0) }),
      // D starts in H: no baseline, so no increase (its gauge still counts).
      reading({ ...C, device: 'dev-d' }, H + 25 * MIN, { pulses: int(9000), load_pct: 7, error_code: int(0) }),
      // H: A counts 100 → 130; B is reset (505, 2, 7); C counts 40 → 60.
      reading(A, H, { pulses: int(110), load_pct: 10, error_code: int(0), label: 'x' }),
      reading(A, H + 20 * MIN, { pulses: int(120), load_pct: 20, error_code: int(3) }),
      reading(A, H + 40 * MIN, { pulses: int(130), load_pct: 30, error_code: int(0) }),
      reading(B, H + 5 * MIN, { pulses: int(505), error_code: int(0) }),
      reading(B, H + 10 * MIN, { pulses: int(2), load_pct: 40, error_code: int(1) }),
      reading(B, H + 50 * MIN, { pulses: int(7), error_code: int(0) }),
      reading(C, H + 15 * MIN, { pulses: int(50), load_pct: 5, error_code: int(0) }),
      reading(C, H + 30 * MIN, { pulses: int(60), error_code: int(0) }),
      // The hour after H must not leak into it.
      reading(A, H + HOUR_MS, { pulses: int(1000), load_pct: 77, error_code: int(9) }),
      reading(A, H + HOUR_MS + 30 * MIN, { pulses: int(1030), load_pct: 79, error_code: int(0) }),
      {
        measurement: deviceAvailability.name,
        tags: A,
        fields: { online_s: int(3000), error_s: int(0), offline_s: int(600), maintenance_s: int(0) },
        time: H,
      },
      {
        measurement: deviceAvailability.name,
        tags: B,
        fields: { online_s: int(3500), error_s: int(100), offline_s: int(0), maintenance_s: int(0) },
        time: H,
      },
      {
        measurement: deviceAvailability.name,
        tags: C,
        fields: { online_s: int(0), error_s: int(0), offline_s: int(0), maintenance_s: int(3600) },
        time: H,
      },
    ]);
  });

  it('writes exact sums, counts, increases (with a reset) and positive counts per group and hour', async () => {
    const { ds, flush } = downsampler(db);
    const outcomes = await ds.computeHours([H + 17 * MIN, H + HOUR_MS]);
    expect(outcomes.map((o) => [o.measurement, o.hour, o.hours, o.points, o.error])).toEqual([
      ['meter_status_hourly', H, 2, 3, undefined],
      ['device_availability_hourly', H, 2, 2 + 2, undefined], // its groups, and the same per customer and kind
    ]);
    await flush();
    const got = await hourlyRows(db, H);
    expect(got['c1/s1/M1']).toMatchObject({
      load_pct_sum: 100,
      load_pct_count: 4,
      pulses_increase: 30 + 7,
      error_code_positive: 2,
    });
    // The group without a model has no model tag; no positive report is a written 0.
    expect(got['c2/s2/']).toMatchObject({
      load_pct_sum: 12,
      load_pct_count: 2,
      pulses_increase: 20,
      error_code_positive: 0,
    });
    // The next hour, from the same query: A's baseline is its last value of H.
    expect((await hourlyRows(db, H + HOUR_MS))['c1/s1/M1']).toMatchObject({
      load_pct_sum: 156,
      load_pct_count: 2,
      pulses_increase: 900,
      error_code_positive: 1,
    });
    const avail = rows(
      await influx.query(`SELECT * FROM "${deviceAvailabilityHourly.name}" WHERE time = ${H}ms GROUP BY "customer"`, {
        db,
      }),
    );
    expect(avail.map((r) => [r.customer, r.online_s_sum, r.error_s_sum, r.offline_s_sum, r.maintenance_s_sum])).toEqual(
      [
        ['c1', 6500, 100, 600, 0],
        ['c2', 0, 0, 0, 3600],
      ],
    );
  });

  it('a point that arrives after its hour was rolled up is counted when the hour is computed again', async () => {
    const { ds, flush } = downsampler(db);
    await writeRaw(db, [reading(C, H + 55 * MIN, { pulses: int(80), load_pct: 15, error_code: int(4) })]);
    expect((await hourlyRows(db, H))['c2/s2/']).toMatchObject({ pulses_increase: 20 });
    await ds.computeHours([H]);
    await flush();
    const got = await hourlyRows(db, H);
    expect(got['c2/s2/']).toMatchObject({
      load_pct_sum: 27,
      load_pct_count: 3,
      pulses_increase: 40,
      error_code_positive: 1,
    });
    // Rewritten, not added: the other group is unchanged and there is still one point per group.
    expect(got['c1/s1/M1']).toMatchObject({ load_pct_sum: 100, load_pct_count: 4, pulses_increase: 37 });
    expect(Object.keys(got).sort()).toEqual(['c1/s1/M1', 'c2/s2/']);
  });
});

describe('the per-customer availability rollup against a real influxd', () => {
  const at = (device: string, tags: Record<string, string>, hour: number, online: number, error = 0) => ({
    measurement: deviceAvailability.name,
    tags: { device, ...tags },
    fields: {
      online_s: int(online),
      error_s: int(error),
      offline_s: int(3600 - online - error),
      maintenance_s: int(0),
    },
    time: hour,
  });
  const T1 = { customer: 'c1', kind: 'terminal', model: 'T1' };
  const P = { customer: 'c1', kind: 'pc' };
  const SUMS = `sum("online_s_sum") AS "online", sum("error_s_sum") AS "error", sum("offline_s_sum") AS "offline"`;
  const perCustomer = async (db: string, measurement: string) =>
    rows(
      await influx.query(
        `SELECT ${SUMS} FROM "${measurement}" WHERE time >= ${H}ms AND time < ${H + 2 * HOUR_MS}ms GROUP BY time(1h), "customer", "kind" fill(none)`,
        { db },
      ),
    ).map((r) => [r.time, r.customer ?? '', r.kind, r.online, r.error, r.offline]);

  it('equals the per-group rollup summed per customer, kind and hour, and is rewritten with it', async () => {
    const db = await influx.freshDatabase({ prefix: 'rollup_customer' });
    await writeRaw(db, [
      // c1's terminals at two sites, its PCs of two models, c2's terminal, and a device without a customer.
      at('t1', { ...T1, site: 's1' }, H, 3600),
      at('t2', { ...T1, site: 's1' }, H, 1800, 600),
      at('t3', { ...T1, site: 's2' }, H, 3000),
      at('p1', { ...P, site: 's1', model: 'P1' }, H, 3600),
      at('p2', { ...P, site: 's1', model: 'P2' }, H, 0),
      at('t4', { customer: 'c2', kind: 'terminal', site: 's3', model: 'T1' }, H, 2400, 1200),
      at('x1', { kind: 'terminal', site: 's9', model: 'T1' }, H, 100),
      at('t1', { ...T1, site: 's1' }, H + HOUR_MS, 3500),
      at('t3', { ...T1, site: 's2' }, H + HOUR_MS, 3600),
    ]);
    const { ds, flush } = downsampler(db);
    expect((await ds.computeHours([H, H + HOUR_MS])).filter((o) => o.error)).toEqual([]);
    await flush();
    const fine = await perCustomer(db, deviceAvailabilityHourly.name);
    const coarse = await perCustomer(db, deviceAvailabilityCustomerHourly.name);
    expect(coarse).toEqual(fine);
    expect(coarse).toEqual([
      [H, '', 'terminal', 100, 0, 3500],
      [H, 'c1', 'pc', 3600, 0, 3600],
      [H, 'c1', 'terminal', 3600 + 1800 + 3000, 600, 1200 + 600],
      [H + HOUR_MS, 'c1', 'terminal', 3500 + 3600, 0, 100],
      [H, 'c2', 'terminal', 2400, 1200, 0],
    ]);
    // One point per customer, kind and hour: site and model are summed away, nothing else is kept.
    const points = rows(await influx.query(`SELECT * FROM "${deviceAvailabilityCustomerHourly.name}"`, { db }));
    expect(points).toHaveLength(5);
    expect(Object.keys(points[0]).sort()).toEqual([
      'customer',
      'error_s_sum',
      'kind',
      'maintenance_s_sum',
      'offline_s_sum',
      'online_s_sum',
      'time',
    ]);
    // A late device in H: computing H again rewrites both rollups, and they still agree.
    await writeRaw(db, [at('t5', { ...T1, site: 's2' }, H, 1000)]);
    await ds.computeHours([H]);
    await flush();
    const again = await perCustomer(db, deviceAvailabilityCustomerHourly.name);
    expect(again).toEqual(await perCustomer(db, deviceAvailabilityHourly.name));
    expect(again[2]).toEqual([H, 'c1', 'terminal', 3600 + 1800 + 3000 + 1000, 600, 1200 + 600 + 2600]);
  });
});

describe('the loop, through the spool and drain as in serve', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'fp-downsampler-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('a late point (an agent back after hours offline) gets its hour computed again, up to lateHours back', async () => {
    const name = await influx.freshDatabase({ prefix: 'late' });
    const now = hourOf(Date.now());
    const late = now - 3 * HOUR_MS;
    const tooOld = now - 6 * HOUR_MS;
    // Already in InfluxDB, never rolled up (older than the backfill).
    await writeRaw(name, [reading(A, late + 10 * MIN, { load_pct: 10, pulses: int(1), error_code: int(0) })]);
    const stateDb = openStateDb(path.join(dir, `late-${name}.db`));
    const spool = new Spool({ db: stateDb, commitIntervalMs: 5 });
    const drain = new Drain({
      spool,
      writer: new InfluxV1Writer({ url: influx.url, database: name }),
      log,
      flushIntervalMs: 20,
    });
    const ds = new Downsampler({
      query: influx.client(name),
      write: (p) => spool.append(encodeLine(p)),
      measurements: [meter],
      log,
      intervalS: 0.1,
      recentHours: 1,
      backfillHours: 1,
      lateHours: 4,
    });
    const directory = new MemoryDirectory();
    directory.add({ id: A.device, kind: A.kind, model: A.model, customer: A.customer, site: A.site });
    const emitter = new Emitter(spool, directory, new SelfMetrics('test'), log, { now: () => Date.now() });
    emitter.late = ds;
    const forward = emitter.forwarder('agent', new Map([[meter.name, meter]]));
    const hourlyAt = async (hour: number) =>
      rows(await influx.query(`SELECT * FROM "${hourly.name}" WHERE time = ${hour}ms`, { db: name }));
    try {
      drain.start();
      ds.start();
      forward(parseLineHead(`${meter.name},device=${A.device} load_pct=30,pulses=2i,error_code=5i ${late + 20 * MIN}`));
      forward(
        parseLineHead(`${meter.name},device=${A.device} load_pct=70,pulses=3i,error_code=0i ${tooOld + 5 * MIN}`),
      );
      let found: Record<string, unknown>[] = [];
      for (let i = 0; i < 200 && !(found[0]?.load_pct_count === 2); i++) {
        await new Promise((r) => setTimeout(r, 50));
        found = await hourlyAt(late);
      }
      expect(found).toEqual([
        expect.objectContaining({
          load_pct_sum: 40,
          load_pct_count: 2,
          error_code_positive: 1,
          customer: 'c1',
          site: 's1',
        }),
      ]);
      // The raw point older than lateHours is stored, but its hour is not computed again.
      expect(await influx.count(meter.name, name)).toBe(3);
      expect(await hourlyAt(tooOld)).toEqual([]);
    } finally {
      await ds.stop();
      await drain.stop(2000);
      spool.close();
      stateDb.close();
    }
  });

  it('a query error is counted and logged, later passes still run, stop() ends the loop', async () => {
    // The database does not exist yet: every query of the backfill fails.
    const name = `late_${Date.now()}`;
    const stateDb = openStateDb(path.join(dir, 'spool.db'));
    const spool = new Spool({ db: stateDb, commitIntervalMs: 5 });
    const drain = new Drain({
      spool,
      writer: new InfluxV1Writer({ url: influx.url, database: name, gzip: false }),
      log,
      flushIntervalMs: 20,
    });
    const metrics = new SelfMetrics('test');
    const warnings: string[] = [];
    const logged = pino({ level: 'warn' }, { write: (line: string) => void warnings.push(line) });
    const ds = new Downsampler({
      query: influx.client(name),
      write: (p) => spool.append(encodeLine(p)),
      measurements: [meter],
      log: logged,
      metrics,
      intervalS: 0.1,
      recentHours: 1,
      backfillHours: 3,
    });
    const errors = async () =>
      (await metrics.registry.getSingleMetricAsString('fleetpulse_downsampler_errors_total')).match(
        /measurement="meter_status_hourly"} (\d+)/,
      )?.[1];
    try {
      drain.start();
      ds.start();
      for (let i = 0; i < 200 && (await errors()) === undefined; i++) await new Promise((r) => setTimeout(r, 25));
      expect(Number(await errors())).toBeGreaterThanOrEqual(1);
      expect(warnings.join('')).toContain('database not found');
      // The database appears with data in the current hour: the next passes roll it up.
      await influx.query(`CREATE DATABASE "${name}"`);
      const now = hourOf(Date.now());
      await writeRaw(name, [reading(A, now, { load_pct: 50, pulses: int(1), error_code: int(0) })]);
      let found: Record<string, unknown>[] = [];
      for (let i = 0; i < 200 && found.length === 0; i++) {
        await new Promise((r) => setTimeout(r, 50));
        found = rows(await influx.query(`SELECT * FROM "${hourly.name}"`, { db: name }));
      }
      expect(found).toEqual([expect.objectContaining({ load_pct_sum: 50, load_pct_count: 1, customer: 'c1' })]);
      await ds.stop();
      expect(ds.stopped).toBe(true);
      // Stopped: nothing more is appended, however long we wait.
      const before = spool.size().points;
      await new Promise((r) => setTimeout(r, 300));
      expect(spool.size().points).toBe(before);
    } finally {
      await ds.stop();
      await drain.stop(2000);
      spool.close();
      stateDb.close();
    }
  });
});
