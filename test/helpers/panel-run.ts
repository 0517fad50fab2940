/**
 * A dashboard panel's queries run as Grafana runs them (macros and variables expanded, All
 * selected unless picked) against a real influxd, and their results as rows: what the value tests
 * compare value by value.
 */
import type { Series } from '../../collector/pipeline/influx-query.ts';
import type { TimeRange } from '../../dashboards/grafana-macros.ts';
import { ALL, expandQuery, type VariableState } from '../../dashboards/grafana-macros.ts';
import { boards } from '../../dashboards/index.ts';
import { DEVICE_VARIABLES } from '../../dashboards/influxql.ts';
import type { InfluxdFixture } from './influxd.ts';

/** Every variable a board offers: the device ones and the collector host. */
const NAMES = [...DEVICE_VARIABLES, 'host'] as const;
export type Pick = Partial<Record<(typeof NAMES)[number], string>>;

/** All selected, or the picked values: the boards' own variable semantics (regex, `.*` for All). */
export const variables = (pick: Pick = {}) =>
  Object.fromEntries(
    NAMES.map((v): [string, VariableState] => [
      v,
      { current: pick[v] ?? ALL, multi: true, includeAll: true, allValue: '.*', options: [] },
    ]),
  );

const built = boards();

/** The panel's query with `refId` (default its first), by board uid and panel title. */
export function panelQuery(uid: string, title: string, refId = 'A') {
  const board = built.find((b) => b.spec.uid === uid);
  const q = board?.queries.find((x) => x.panel === title && x.refId === refId);
  if (!q) throw new Error(`no panel "${title}" (${refId}) on ${uid}`);
  return q;
}

export interface PanelRunner {
  (uid: string, title: string, pick?: Pick, refId?: string): Promise<Series[]>;
}

/** Runs panels over `range` in `db()` (a function: the database is made in beforeAll). */
export function panelRunner(influx: InfluxdFixture, db: () => string, range: TimeRange): PanelRunner {
  return (uid, title, pick = {}, refId = 'A') => {
    const q = panelQuery(uid, title, refId);
    return influx.query(expandQuery(q.query, { range, minIntervalMs: q.minIntervalMs, variables: variables(pick) }), {
      db: db(),
    });
  };
}

/** Every row as tags + columns (time left out unless asked for). */
export const rows = (series: Series[], withTime = false) =>
  series.flatMap((s) =>
    s.values.map((v) => ({
      ...s.tags,
      ...Object.fromEntries(s.columns.map((c, i) => [c, v[i]]).filter(([c]) => withTime || c !== 'time')),
    })),
  );

/** What a stat shows: the one value of its one row (undefined: the panel's "no value"). */
export const only = (series: Series[]) => series[0]?.values[0]?.[1];

/** The colour a panel's thresholds give `value` (Grafana: the last step at or below it). */
export function colourOf(uid: string, title: string, value: number): string {
  const p = built
    .find((b) => b.spec.uid === uid)!
    .build()
    .panels!.find((x) => 'title' in x && x.title === title) as {
    fieldConfig: { defaults: { thresholds: { steps: { color: string; value: number | null }[] } } };
  };
  const steps = p.fieldConfig.defaults.thresholds.steps;
  return steps.filter((s) => s.value === null || value >= s.value).at(-1)!.color;
}
