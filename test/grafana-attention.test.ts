/**
 * Proof that the "now" lists built on `device_attention` show exactly the devices that need
 * attention, against a real influxd, with the points written by the runtime's real liveness path
 * (a Collector's Liveness through the Emitter): a device flapping, devices recovering (just now,
 * long ago), an error turning into maintenance, a silent device in maintenance, an uplink closed,
 * an error whose reason changes; and that healthy devices write no series at all (the cost claim).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { deviceAttention } from '../collector/runtime/measurements.ts';
import type { PanelQuery } from '../dashboards/board.ts';
import { ALL, expandQuery, type VariableState } from '../dashboards/grafana-macros.ts';
import { boards } from '../dashboards/index.ts';
import { ALL_VALUE } from '../dashboards/variables.ts';
import { useInfluxd } from './helpers/influxd.ts';
import { LivenessReplay, type Report } from './helpers/liveness-replay.ts';

const influx = useInfluxd();
let db: string;
const MIN = 60_000;
const now = Date.now();
const start = now - 30 * MIN;
const ago = (t: number) => now - t * MIN;

/** Each device's behaviour over the last 30 minutes (reports every minute when it reports). */
const SCRIPT: Record<string, { kind: string; report(t: number): Report; maintenance?(t: number): boolean }> = {
  healthy: { kind: 'terminal', report: () => ({ state: 'online' }) },
  // Silent 10–6 min ago and again for the last 4 min: listed offline at the end.
  flapping: {
    kind: 'terminal',
    report: (t) => ((t > ago(10) && t <= ago(6)) || t > ago(4) ? 'silent' : { state: 'online' }),
  },
  // Silent 12–1.5 min ago, reporting again in the last minute: its closing point drops it.
  'back-now': { kind: 'terminal', report: (t) => (t > ago(12) && t <= ago(1.5) ? 'silent' : { state: 'online' }) },
  // In error until 20 min ago: nothing written since, not listed.
  'back-long-ago': {
    kind: 'pc',
    report: (t) => (t <= ago(20) ? { state: 'error', reason: 'E1' } : { state: 'online' }),
  },
  // Error, then a maintenance window from 5 min ago: closed with state maintenance.
  'err-then-maint': {
    kind: 'terminal',
    report: () => ({ state: 'error', reason: 'E9' }),
    maintenance: (t) => t > ago(5),
  },
  // Silent all along, but in maintenance all along: never listed.
  'silent-in-maint': { kind: 'terminal', report: () => 'silent', maintenance: () => true },
  // Its uplink closed 3 min ago.
  closed: { kind: 'pc', report: (t) => (t > ago(3) ? 'closed' : { state: 'online' }) },
  // In error all along, the code changes 8 min ago.
  'err-changing': { kind: 'terminal', report: (t) => ({ state: 'error', reason: t > ago(8) ? 'E7' : 'E3' }) },
};

beforeAll(async () => {
  db = await influx.freshDatabase({ prefix: 'attention' });
  const replay = new LivenessReplay({
    devices: Object.entries(SCRIPT).map(([id, d]) => ({
      id,
      kind: d.kind,
      model: d.kind === 'terminal' ? 'TC-200' : 'NUC',
      customer: 'acme',
      site: 'acme-s1',
      firmware: '1.0',
    })),
    report: (id, t) => SCRIPT[id].report(t),
    maintenance: (id, t) => SCRIPT[id].maintenance?.(t) ?? false,
  });
  // Devices are first seen at `start`; half-minute steps so transitions fall between status intervals.
  const lines = replay.run(start, now - 1_000, 30_000).take(deviceAttention.name);
  replay.close();
  const res = await fetch(`${influx.url}/write?db=${db}&precision=ms`, { method: 'POST', body: lines.join('\n') });
  expect(res.status).toBe(204);
});

const all = boards();
const allSelected = (): Record<string, VariableState> =>
  Object.fromEntries(
    ['customer', 'site', 'kind', 'model', 'device'].map((v) => [
      v,
      { current: ALL, multi: true, includeAll: true, allValue: ALL_VALUE },
    ]),
  );
const panel = (uid: string, title: string): PanelQuery =>
  all.find((b) => b.spec.uid === uid)!.queries.find((q) => q.panel === title)!;
async function rows(q: PanelQuery, variables = allSelected()): Promise<Record<string, unknown>[]> {
  const series = await influx.query(expandQuery(q.query, { range: { from: start, to: now }, variables }), { db });
  return series.flatMap((s) =>
    s.values.map((v) => ({ ...s.tags, ...Object.fromEntries(s.columns.map((c, i) => [c, v[i]])) })),
  );
}

describe('device_attention lists', () => {
  it('NOC: exactly the devices offline or in error now, each with its state and reason', async () => {
    const listed = await rows(panel('fp-fleet-overview', 'Offline and erroring devices'));
    expect(listed.map((r) => [r.device, r.state, r.reason]).sort()).toEqual([
      ['closed', 'offline', ''],
      ['err-changing', 'error', 'E7'],
      ['flapping', 'offline', ''],
    ]);
    const flapping = listed.find((r) => r.device === 'flapping')!;
    // Silent for 4 min: offline since ≈ 2 min (two missed 60 s intervals), last report ≈ 4 min ago.
    expect(flapping.in_state_for as number).toBeLessThan(150);
    expect(flapping.silent_for as number).toBeGreaterThanOrEqual(180);
    expect(listed.find((r) => r.device === 'err-changing')!.in_state_for as number).toBeGreaterThan(25 * 60);
  });

  it('TC-200: offline terminals and terminals in error, other kinds left out', async () => {
    expect(
      (await rows(panel('fp-terminals', 'Terminals offline (no report for 2 intervals)'))).map((r) => r.device),
    ).toEqual(['flapping']);
    expect((await rows(panel('fp-terminals', 'Terminals in error now'))).map((r) => [r.device, r.reason])).toEqual([
      ['err-changing', 'E7'],
    ]);
  });

  it('the variables narrow the list; a site with nobody in attention gives no row', async () => {
    const q = panel('fp-fleet-overview', 'Offline and erroring devices');
    const vars = allSelected();
    vars.kind = { current: ['pc'], multi: true, includeAll: true, allValue: ALL_VALUE };
    expect((await rows(q, vars)).map((r) => r.device)).toEqual(['closed']);
    vars.site = { current: ['elsewhere'], multi: true, includeAll: true, allValue: ALL_VALUE };
    expect(await rows(q, vars)).toEqual([]);
  });

  it('a device silent in maintenance writes no series; healthy ones only their first sight; lately only those that needed attention', async () => {
    const series = await influx.query(`SHOW TAG VALUES FROM "${deviceAttention.name}" WITH KEY = "device"`, { db });
    const devices = series.flatMap((s) => s.values.map((v) => v[1])).sort();
    // Every device is offline until its first report (never seen before `start`): an entry opened
    // and closed at `start`. The one in maintenance never needed attention.
    expect(devices).toEqual(
      Object.keys(SCRIPT)
        .filter((d) => d !== 'silent-in-maint')
        .sort(),
    );
    const recent = await influx.query(
      `SELECT count("state") FROM "${deviceAttention.name}" WHERE time > now() - 15m GROUP BY "device"`,
      { db },
    );
    expect(recent.map((s) => s.tags.device).sort()).toEqual([
      'back-now',
      'closed',
      'err-changing',
      'err-then-maint',
      'flapping',
    ]);
  });

  it('recovered and maintenance devices leave exactly one closing point with their new state', async () => {
    const last = await influx.query(
      `SELECT last("state") AS "state" FROM "${deviceAttention.name}" WHERE time > now() - 35m GROUP BY "device"`,
      { db },
    );
    const state = Object.fromEntries(last.map((s) => [s.tags.device, s.values[0][1]]));
    expect(state).toMatchObject({
      'back-now': 'online',
      'back-long-ago': 'online',
      'err-then-maint': 'maintenance',
      healthy: 'online',
    });
    const closing = await influx.query(
      `SELECT count("state") FROM "${deviceAttention.name}" WHERE "state" = 'maintenance' GROUP BY "device"`,
      { db },
    );
    expect(closing.map((s) => [s.tags.device, s.values[0][1]])).toEqual([['err-then-maint', 1]]);
  });
});
