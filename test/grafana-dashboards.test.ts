/**
 * Proof that every panel query of every generated dashboard runs against a real influxd with
 * Grafana's macros and template variables expanded, and returns the columns and series tags the
 * panel was built for, on a simulated fleet with all device kinds.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Series } from '../collector/pipeline/influx-query.ts';
import type { PanelQuery } from '../dashboards/board.ts';
import { REPO_ROOT } from '../dashboards/build.ts';
import { MIN_INTERVAL_MS } from '../dashboards/datasource.ts';
import {
  ALL,
  expandQuery,
  parseInterval,
  referencedVariables,
  type VariableState,
} from '../dashboards/grafana-macros.ts';
import { uptime } from '../dashboards/availability.ts';
import { counterIncrease } from '../dashboards/fleet-sums.ts';
import { boards } from '../dashboards/index.ts';
import { DEVICE_VARIABLES } from '../dashboards/influxql.ts';
import { terminalStatus } from '../plugins/tc200/measurements.ts';
import { PROVISIONING_DIR } from '../dashboards/provisioning.ts';
import { FLEET, firmwareOf, ROLLOUTS, writeFleet } from './helpers/fleet-fixture.ts';
import { useInfluxd } from './helpers/influxd.ts';

const influx = useInfluxd();
let db: string;
const now = Date.now();
const range = { from: now - 6 * 3_600_000, to: now };

interface TemplateVar {
  name: string;
  type: string;
  query?: string;
  multi?: boolean;
  includeAll?: boolean;
  allValue?: string;
}
interface Target {
  refId: string;
  query: string;
  resultFormat: string;
}
interface PanelJson {
  title: string;
  type: string;
  interval?: string;
  targets?: Target[];
  datasource?: { uid: string };
}
interface DashboardJson {
  uid: string;
  title: string;
  tags: string[];
  templating: { list: TemplateVar[] };
  panels: PanelJson[];
}

async function loadDashboard(uid: string): Promise<DashboardJson> {
  return JSON.parse(
    await readFile(path.join(REPO_ROOT, PROVISIONING_DIR, 'dashboards/fleetpulse', `${uid}.json`), 'utf8'),
  ) as DashboardJson;
}

const run = (q: string, variables: Record<string, VariableState>, minIntervalMs = MIN_INTERVAL_MS) =>
  influx.query(expandQuery(q, { range, minIntervalMs, variables }), { db });

/** Runs the variable queries in order (each narrowed by the ones before), as Grafana does on load. */
async function resolveVariables(
  d: DashboardJson,
  pick: Record<string, string | string[]> = {},
): Promise<Record<string, VariableState>> {
  const states: Record<string, VariableState> = {};
  for (const v of d.templating.list) {
    if (v.type !== 'query' || !v.query) continue;
    const series = await run(v.query, states);
    const options = series.flatMap((s) => s.values.map((row) => String(row[s.columns.indexOf('value')])));
    states[v.name] = {
      current: pick[v.name] ?? (v.includeAll ? ALL : options[0]),
      multi: v.multi,
      includeAll: v.includeAll,
      allValue: v.allValue,
      options,
    };
  }
  return states;
}

function checkShape(series: Series[], expected: PanelQuery): void {
  for (const s of series) {
    expect(s.columns, `${expected.dashboard} / ${expected.panel} / ${expected.refId}`).toEqual(expected.columns);
    expect(Object.keys(s.tags).sort(), `${expected.dashboard} / ${expected.panel} tags`).toEqual(
      [...expected.tags].sort(),
    );
  }
}

const all = boards();

beforeAll(async () => {
  db = await influx.freshDatabase({ prefix: 'dash' });
  // 90 min: the 1 h fleet trends need two hour buckets whatever the time of day (30 min failed
  // from hh:29 to hh:59, all points in one bucket).
  await writeFleet({ url: influx.url, db, now, minutes: 90 });
});

describe('generated dashboards', () => {
  it('each committed dashboard target is one the TypeScript declared, with its expectations', async () => {
    for (const board of all) {
      const d = await loadDashboard(board.spec.uid);
      const targets = d.panels.flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title, ...t })));
      expect(targets.length).toBe(board.queries.length);
      for (const t of targets) {
        const q = board.queries.find((x) => x.panel === t.panel && x.refId === t.refId);
        expect(q?.query, `${d.uid} / ${t.panel}`).toBe(t.query);
        expect(t.resultFormat).toBe(q?.format);
      }
      // The proofs and the benchmark expand $__interval with the panel's own minimum, as Grafana does.
      for (const p of d.panels.filter((x) => x.targets)) {
        const declared = board.queries.find((x) => x.panel === p.title)?.minIntervalMs;
        expect(
          p.interval === undefined ? undefined : parseInterval(p.interval),
          `${d.uid} / ${p.title} min interval`,
        ).toBe(declared);
      }
    }
  });

  it("fleet trends over 24 h: the panel minimum sets the bucket, not Grafana's 1 min; a bad interval is refused", () => {
    const terminals = all.find((b) => b.spec.uid === 'fp-terminals')!;
    const day = { from: now - 86_400_000, to: now };
    for (const panel of ['CPU / memory / disk (fleet mean)', 'Transactions and failures per interval']) {
      for (const q of terminals.queries.filter((x) => x.panel === panel)) {
        expect(expandQuery(q.query, { range: day, minIntervalMs: q.minIntervalMs ?? MIN_INTERVAL_MS })).toContain(
          'GROUP BY time(1h)',
        );
      }
    }
    expect(expandQuery('GROUP BY time($__interval)', { range: day, minIntervalMs: MIN_INTERVAL_MS })).toContain(
      'time(1m)',
    );
    expect(parseInterval('5m')).toBe(300_000);
    expect(() => parseInterval('5 minutes')).toThrow(/not a Grafana interval/);
  });

  for (const board of all.filter((b) => b.spec.variables !== 'device')) {
    it(`${board.spec.uid}: every panel query answers with the expected columns (All selected)`, async () => {
      const d = await loadDashboard(board.spec.uid);
      const vars = await resolveVariables(d);
      for (const v of Object.values(vars)) expect(v.options!.length).toBeGreaterThan(0);
      for (const q of board.queries) {
        for (const name of referencedVariables(q.query))
          expect(vars[name] ?? name === 'fleetpulse_api', `${q.panel}: $${name} is a variable`).toBeTruthy();
        const series = await run(q.query, vars, q.minIntervalMs);
        if (!q.mayBeEmpty)
          expect(
            series.length,
            `${board.spec.uid} / ${q.panel} / ${q.refId} returned nothing:\n${q.query}`,
          ).toBeGreaterThan(0);
        checkShape(series, q);
      }
    });
  }

  /** What the panel's groupBy transformation shows: the group rows summed per value of `tag`. */
  const sumRows = (series: Series[], tag: string) => {
    const out: Record<string, number[]> = {};
    for (const s of series) {
      const row = s.columns.slice(1).map((c) => Number(s.values[0][s.columns.indexOf(c)]));
      const acc = (out[s.tags[tag]] ??= row.map(() => 0));
      row.forEach((v, i) => (acc[i] += v));
    }
    return out;
  };

  it('multi-value variables filter: two customers as /^(acme|globex)$/, one customer narrows the tables', async () => {
    const board = all.find((b) => b.spec.uid === 'fp-fleet-overview')!;
    const d = await loadDashboard(board.spec.uid);
    const perCustomer = board.queries.find((q) => q.panel === 'Per customer' && q.refId === 'A')!;
    const both = await resolveVariables(d, { customer: ['acme', 'globex'] });
    expect(expandQuery(perCustomer.query, { range, variables: both })).toContain('"customer" =~ /^(acme|globex)$/');
    expect(Object.keys(sumRows(await run(perCustomer.query, both), 'customer')).sort()).toEqual(['acme', 'globex']);
    const one = await resolveVariables(d, { customer: ['globex'] });
    const summed = sumRows(await run(perCustomer.query, one), 'customer');
    expect(Object.keys(summed)).toEqual(['globex']);
    expect(summed.globex[perCustomer.columns.indexOf('devices') - 1]).toBe(
      FLEET.filter((f) => f.customer === 'globex').length,
    );
    // The site list is narrowed by the customer, as Grafana chains the variables.
    expect(one.site.options!.sort()).toEqual(['globex-s1']);
  });

  it('NOC counts match the fleet: offline, error, maintenance', async () => {
    const board = all.find((b) => b.spec.uid === 'fp-fleet-overview')!;
    const vars = await resolveVariables(await loadDashboard(board.spec.uid));
    const count = async (panel: string) => {
      const s = await run(board.queries.find((q) => q.panel === panel)!.query, vars);
      return s[0]?.values[0]?.[1];
    };
    expect(await count('Devices')).toBe(FLEET.length);
    expect(await count('Offline')).toBe(FLEET.filter((f) => f.state === 'offline').length);
    expect(await count('Error')).toBe(FLEET.filter((f) => f.state === 'error').length);
    expect(await count('In maintenance')).toBe(1);
    expect(await count('Online')).toBe(FLEET.filter((f) => f.state === 'online' || f.state === 'error').length);
  });

  it("NOC per-site counts (fleet_status groups, each one's last interval, summed as the panel does) equal the fleet device by device", async () => {
    const board = all.find((b) => b.spec.uid === 'fp-fleet-overview')!;
    const vars = await resolveVariables(await loadDashboard(board.spec.uid));
    const q = board.queries.find((x) => x.panel === 'Per site')!;
    const got = sumRows(await run(q.query, vars), 'site');
    const want: Record<string, number[]> = {};
    for (const f of FLEET) {
      // devices, online (reachable: online or error), offline, error, maintenance — as the panel's columns.
      const row = (want[f.site] ??= [0, 0, 0, 0, 0]);
      row[0]++;
      if (f.state === 'online' || f.state === 'error') row[1]++;
      if (f.state !== 'online') row[2 + ['offline', 'error', 'maintenance'].indexOf(f.state)]++;
    }
    expect(q.columns).toEqual(['time', 'devices', 'online', 'offline', 'error', 'maintenance']);
    // 30 minutes of rollups are stored; only the last interval of each group counts (offline devices were online
    // earlier).
    expect(got).toEqual(want);
  });

  it('"now" lists from the runtime\'s device_attention and fleet_firmware show exactly the fleet\'s devices', async () => {
    const noc = all.find((b) => b.spec.uid === 'fp-fleet-overview')!;
    const terminals = all.find((b) => b.spec.uid === 'fp-terminals')!;
    const vars = await resolveVariables(await loadDashboard(noc.spec.uid));
    const rows = async (board: typeof noc, title: string) => {
      const q = board.queries.find((x) => x.panel === title)!;
      const series = await run(q.query, vars);
      return series.flatMap((x) =>
        x.values.map((v) => ({ ...x.tags, ...Object.fromEntries(x.columns.map((c, i) => [c, v[i]])) })),
      ) as Record<string, unknown>[];
    };
    const listed = await rows(noc, 'Offline and erroring devices');
    expect(listed.map((r) => `${r.device} ${r.state}`).sort()).toEqual(
      FLEET.filter((d) => d.state === 'offline' || d.state === 'error')
        .map((d) => `${d.device} ${d.state}`)
        .sort(),
    );
    expect(listed.find((r) => r.device === 'term-err')).toMatchObject({
      reason: 'E42',
      customer: 'acme',
      site: 'acme-s1',
      kind: 'terminal',
      model: 'TC-200',
    });
    // Offline devices went silent half-way through the 90 minutes: ≈ 45 min, less the 2 allowed intervals.
    expect(listed.find((r) => r.device === 'term-off')!.silent_for as number).toBeGreaterThan(40 * 60);
    expect((await rows(terminals, 'Terminals offline (no report for 2 intervals)')).map((r) => r.device)).toEqual([
      'term-off',
    ]);
    expect((await rows(terminals, 'Terminals in error now')).map((r) => [r.device, r.reason])).toEqual([
      ['term-err', 'E42'],
    ]);
    const firmware = Object.fromEntries(
      (await rows(terminals, 'Firmware versions in the fleet')).map((r) => [r.firmware, r.terminals]),
    );
    const want: Record<string, number> = {};
    for (const d of FLEET.filter((x) => x.kind === 'terminal')) want[firmwareOf(d)!] = (want[firmwareOf(d)!] ?? 0) + 1;
    expect(firmware).toEqual(want);
    expect(
      (await rows(terminals, 'Failed updates in rollouts (in the range)')).map((r) => [r.device, r.rollout, r.error]),
    ).toEqual([['term-fw-fail', 'ro-term', 'update_firmware failed: signature mismatch']]);
    const rollouts = await rows(terminals, 'Rollout progress');
    expect(rollouts.map((r) => [r.rollout, r.done, r.failed, r.status])).toEqual(
      ROLLOUTS.filter((r) => r.tags.kind === 'terminal').map((r) => [r.tags.rollout, 4, 1, 'completed']),
    );
  });

  it('rollup panels (written by the real downsampler) show the figures the raw-point queries they replace give', async () => {
    const terminals = all.find((b) => b.spec.uid === 'fp-terminals')!;
    const noc = all.find((b) => b.spec.uid === 'fp-fleet-overview')!;
    const vars = await resolveVariables(await loadDashboard(terminals.spec.uid));
    const panel = async (board: typeof terminals, title: string) => {
      const q = board.queries.find((x) => x.panel === title)!;
      expect(q.query, title).toContain('_hourly');
      return rowsOf(await run(q.query, vars, q.minIntervalMs));
    };
    const raw = async (q: string) => rowsOf(await run(q, vars, 3_600_000));
    const rowsOf = (series: Series[]) =>
      series.flatMap((s) => s.values.map((v) => Object.fromEntries(s.columns.map((c, i) => [c, v[i]]))));
    const byTime = (list: Record<string, unknown>[]) => new Map(list.map((r) => [r.time, r]));
    const T = `FROM "${terminalStatus.name}" WHERE $timeFilter GROUP BY time($__interval)`;

    const means = byTime(
      await raw(
        `SELECT mean("cpu_pct") AS "cpu_pct", mean("mem_pct") AS "mem_pct", mean("disk_pct") AS "disk_pct" ${T} fill(none)`,
      ),
    );
    const rolledMeans = (await panel(terminals, 'CPU / memory / disk (fleet mean)')).filter((r) => r.cpu_pct !== null);
    expect(rolledMeans.length).toBeGreaterThanOrEqual(2);
    for (const r of rolledMeans)
      for (const f of ['cpu_pct', 'mem_pct', 'disk_pct'])
        expect(r[f] as number, f).toBeCloseTo(means.get(r.time)![f] as number, 9);

    const errors = byTime(
      await raw(
        `SELECT count("error_code") AS "error_reports" ${T.replace('$timeFilter', '$timeFilter AND "error_code" > 0')} fill(0)`,
      ),
    );
    const rolledErrors = (await panel(terminals, 'Error reports per interval')).filter(
      (r) => (r.error_reports as number) > 0,
    );
    expect(rolledErrors.length).toBeGreaterThanOrEqual(2);
    for (const r of rolledErrors) expect(r.error_reports).toBe(errors.get(r.time)!.error_reports);

    // The raw form has no figure for a terminal's first hour (nothing to compare with); the
    // rollup counts it from the hour's first report. Every later hour must agree exactly.
    const rawTx = byTime(
      rowsOf(await run(counterIncrease(terminalStatus, 'transactions', 'transactions').toString(), vars, 3_600_000)),
    );
    const rolledTx = await panel(terminals, 'Transactions and failures per interval');
    const later = rolledTx.filter((r) => rawTx.has(r.time));
    expect(later.length).toBeGreaterThanOrEqual(1);
    for (const r of later) expect(r.transactions).toBe(rawTx.get(r.time)!.transactions);

    const rawUptime = rowsOf(await run(uptime(DEVICE_VARIABLES).toString(), vars));
    const [fleet] = await panel(noc, 'Fleet uptime');
    expect(fleet.uptime_pct as number).toBeCloseTo(rawUptime[0].uptime_pct as number, 9);
    const rawHourly = byTime(rowsOf(await run(uptime(DEVICE_VARIABLES).byTime('1h', 'none').toString(), vars)));
    const hourly = await panel(noc, 'Uptime per hour');
    expect(hourly.length).toBe(3);
    for (const r of hourly) expect(r.uptime_pct as number).toBeCloseTo(rawHourly.get(r.time)!.uptime_pct as number, 9);
  });

  it('device detail: every query answers for some device, each with the expected columns', async () => {
    const board = all.find((b) => b.spec.uid === 'fp-device-detail')!;
    const d = await loadDashboard(board.spec.uid);
    const answered = new Set<string>();
    for (const device of FLEET) {
      const vars = await resolveVariables(d, { device: device.device });
      for (const q of board.queries) {
        const series = await run(q.query, vars);
        checkShape(series, q);
        if (series.length > 0) answered.add(`${q.panel}/${q.refId}`);
        for (const s of series) if ('device' in s.tags) expect(s.tags.device).toBe(device.device);
      }
    }
    const silent = board.queries.filter((q) => !answered.has(`${q.panel}/${q.refId}`)).map((q) => q.panel);
    expect(silent, 'panels no device of the fleet fills').toEqual([]);
  });
});
