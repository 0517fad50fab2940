/**
 * Exact values of every panel of fp-device-detail on the fleet fixture in a real influxd, per kind.
 * The status panels are checked by hand for a terminal that went silent half-way and a PC in error.
 * Each measurement panel is run for one device of its plugin's kinds (a faulty one where the fixture
 * has one) and compared value by value with that device's raw points, bucketed and averaged (time
 * series) or reduced to the last value of each field (latest tables) in this file. The counter-example
 * is a neighbour: a point of every measurement from another device, with the same tags and values
 * no fixture device has, in the same interval as the device's last point; no panel may show it. The
 * device's own newest point then has text values unlike its earlier ones: the latest tables show it.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { encodeLine } from '../collector/pipeline/line-protocol.ts';
import { HOUR_MS } from '../collector/runtime/rollups.ts';
import type { MeasurementSpec } from '../collector/sdk/index.ts';
import { int, type Fields } from '../collector/sdk/point.ts';
import { intervalMs } from '../dashboards/grafana-macros.ts';
import { pluginMeasurements } from '../dashboards/plugin-measurements.ts';
import { FLEET, writeFleet } from './helpers/fleet-fixture.ts';
import { useInfluxd } from './helpers/influxd.ts';
import { panelQuery, panelRunner, rows } from './helpers/panel-run.ts';

const influx = useInfluxd();
const now = Date.now();
const range = { from: now - 6 * HOUR_MS, to: now };
const UID = 'fp-device-detail';
let db: string;

beforeAll(async () => {
  db = await influx.freshDatabase({ prefix: 'device_values' });
  await writeFleet({ url: influx.url, db, now });
}, 120_000);

const panel = panelRunner(influx, () => db, range);
const table = async (title: string, device: string) => rows(await panel(UID, title, { device }), true);
/** Values as influxd gives them back, rounded where a mean may differ in the last bits. */
const exact = (v: unknown) => (typeof v === 'number' ? Math.round(v * 1e9) / 1e9 : v);

describe('device detail: status', () => {
  it('Current status: the one device picked, its last state, online and seconds since last report', async () => {
    const got = await table('Current status', 'term-off');
    expect(got.map(({ time: _, ...r }) => r)).toEqual([
      {
        device: 'term-off',
        kind: 'terminal',
        model: 'TC-200',
        customer: 'acme',
        site: 'acme-s2',
        gateway: '',
        state: 'offline',
        online: 0,
        last_seen_s: (29 - 15) * 60 + 120,
      },
    ]);
    expect((await table('Current status', 'pc-err')).map((r) => [r.device, r.state, r.online])).toEqual([
      ['pc-err', 'error', 1],
    ]);
  });

  it('Online and seconds since last report: online until half-way, then silent for longer each minute', async () => {
    const runs = (vs: unknown[]) => vs.filter((v, i) => v !== null && v !== vs[i - 1]);
    expect(runs((await table('Online', 'term-off')).map((r) => r.online))).toEqual([1, 0]);
    expect(runs((await table('Online', 'pc-err')).map((r) => r.online))).toEqual([1]); // in error, reachable
    const silent = (await table('Seconds since last report', 'term-off')).map((r) => r.last_seen_s);
    expect(silent.filter((v) => v !== null)).toEqual(
      Array.from({ length: 30 }, (_, i) => (i < 15 ? 30 : (i - 15) * 60 + 120)),
    );
  });
});

/** The device a measurement's panels are checked on: one with faults or tags there, else the first reporting one. */
function deviceFor(kinds: readonly string[], m: MeasurementSpec): string {
  const of = FLEET.filter((d) => kinds.includes(d.kind) && d.state !== 'offline');
  return (of.find((d) => d.faults?.[m.name] || d.tags?.[m.name]) ?? of[0]).device;
}

/** The device's raw points of `m` in the range, each with its declared tags. */
async function rawPoints(m: MeasurementSpec, device: string) {
  const series = await influx.query(
    `SELECT * FROM "${m.name}" WHERE "device" = '${device}' AND time > ${range.from}ms AND time < ${range.to}ms GROUP BY *`,
    { db },
  );
  return series.flatMap((s) =>
    s.values.map((v) => ({
      key: Object.keys(m.tags)
        .map((t) => s.tags[t] ?? '')
        .join('|'),
      tags: s.tags,
      time: v[0] as number,
      fields: Object.fromEntries(s.columns.map((c, i): [string, unknown] => [c, v[i]]).filter(([c]) => c in m.fields)),
    })),
  );
}

/**
 * Two points just after the device's last one: the neighbour's (same tags, another device) and the
 * device's own newest, each with values no fixture device has, so that a panel reading another
 * device, or a first value for the last, differs from the raw points.
 */
async function writeCounterExamples(m: MeasurementSpec, last: Awaited<ReturnType<typeof rawPoints>>[number]) {
  const point = (device: string, text: string, n: number, flag: boolean, dt: number) => {
    const fields: Fields = {};
    for (const [f, spec] of Object.entries(m.fields))
      fields[f] = spec.type === 'string' ? text : spec.type === 'bool' ? flag : spec.type === 'float' ? n : int(n);
    return encodeLine({ measurement: m.name, tags: { ...last.tags, device }, fields, time: last.time + dt });
  };
  const lines = [point('neighbour', 'neighbour', 1e6, false, 1), point(last.tags.device, 'newest', 7777, false, 2)];
  const res = await fetch(`${influx.url}/write?db=${db}&precision=ms`, { method: 'POST', body: lines.join('\n') });
  expect(res.status).toBe(204);
}

const kindsOf = pluginMeasurements.map((p) => [p.plugin, p.kinds, p.measurements] as const);

describe('device detail: every measurement panel, per kind', () => {
  it('per kind, by hand: the faults the fixture gave show on their device’s page', async () => {
    const latest = async (m: string, device: string, field: string) =>
      (await table(`${m} (latest)`, device)).map((r) => r[field]);
    expect(await latest('terminal_status', 'term-err', 'state')).toEqual(['error']);
    expect(await latest('host_session', 'pc-enforce', 'error')).toEqual(['lock refused']);
    expect(await latest('ocpp_connector_status', 'chg-fault', 'status')).toEqual(['Faulted']);
    expect(await latest('pos_health', 'pos-fail', 'printer')).toEqual(['paper_out']);
    const tariffs = (await table('ocpp_session (latest)', 'chg-tamper')).map((r) => r.tariff);
    expect(tariffs).toEqual(['fleet']);
    const cpu = (await table('host_cpu', 'pc-hot')).map((r) => r.usage_pct).filter((v) => v !== null);
    expect(new Set(cpu)).toEqual(new Set([98]));
  });

  it.each(kindsOf)('%s: each panel shows exactly the picked device’s points', async (_, kinds, measurements) => {
    const checked: string[] = [];
    for (const m of measurements) {
      if ('site' in m.tags) continue; // per site: no panel on this board
      const device = deviceFor(kinds, m);
      const fixture = (await rawPoints(m, device)).sort((a, b) => a.time - b.time);
      expect(fixture.length, `${m.name} of ${device} in the fixture`).toBeGreaterThan(0);
      await writeCounterExamples(m, fixture.at(-1)!);
      const raw = (await rawPoints(m, device)).sort((a, b) => a.time - b.time);
      const keyOf = (r: Record<string, unknown>) =>
        Object.keys(m.tags)
          .map((t) => (r[t] as string | undefined) ?? '')
          .join('|');
      const numeric = Object.keys(m.fields).filter((f) => !['string', 'bool'].includes(m.fields[f].type));
      const text = Object.keys(m.fields).filter((f) => ['string', 'bool'].includes(m.fields[f].type));
      if (numeric.length > 0) {
        const iv = intervalMs(range, 1000, panelQuery(UID, m.name).minIntervalMs);
        const buckets = new Map<string, Record<string, number[]>>();
        for (const p of raw) {
          const at = `${p.key}@${Math.floor(p.time / iv) * iv}`;
          const b = buckets.get(at) ?? {};
          buckets.set(at, b);
          for (const f of numeric) if (typeof p.fields[f] === 'number') (b[f] ??= []).push(p.fields[f]);
        }
        const want = [...buckets].map(([k, b]) => [
          k,
          ...numeric.map((f) => (b[f] ? exact(b[f].reduce((x, y) => x + y) / b[f].length) : null)),
        ]);
        const got = (await table(m.name, device))
          .filter((r) => numeric.some((f) => r[f] !== null))
          .map((r) => [`${keyOf(r)}@${String(r.time)}`, ...numeric.map((f) => exact(r[f]))]);
        expect(got.sort(), `${m.name} of ${device}`).toEqual(want.sort());
        checked.push(m.name);
      }
      if (text.length > 0) {
        const last = new Map<string, Record<string, unknown>>();
        for (const p of raw) {
          const l = last.get(p.key) ?? {};
          for (const f of text) if (p.fields[f] !== null && p.fields[f] !== undefined) l[f] = p.fields[f];
          last.set(p.key, l);
        }
        const want = [...last].map(([k, l]) => [k, ...text.map((f) => l[f] ?? null)]);
        const got = (await table(`${m.name} (latest)`, device)).map((r) => [keyOf(r), ...text.map((f) => r[f])]);
        expect(got.sort(), `${m.name} (latest) of ${device}`).toEqual(want.sort());
        checked.push(`${m.name} (latest)`);
      }
    }
    expect(checked.length).toBeGreaterThan(0);
  });
});
