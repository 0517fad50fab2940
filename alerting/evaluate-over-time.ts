/**
 * Runs a provisioned rule at successive evaluation times the way Grafana's scheduler does and
 * keeps each instance's state: the condition must hold for the rule's `for:` (Pending meanwhile)
 * before the instance is Alerting; it is Normal again as soon as the condition is false. An
 * instance missing from one evaluation keeps its state: Grafana resolves it as stale only when it
 * is missing from `STALE_AFTER_EVALUATIONS` evaluations in a row. No data at all maps through the
 * rule's noDataState (Alerting: one label-less instance that goes through Pending like any other).
 * Used by the proofs; not a runtime component.
 */
import type { InfluxQuery } from '../collector/pipeline/influx-query.ts';
import { parseInterval } from '../dashboards/grafana-macros.ts';
import { evaluateRule, type ProvisionedRule } from './evaluate.ts';

export type AlertState = 'Normal' | 'Pending' | 'Alerting';
/** Grafana's `missing_series_evals_to_resolve` default. */
export const STALE_AFTER_EVALUATIONS = 2;

export interface TimedRule extends ProvisionedRule {
  for: string;
}

/** One instance's state at each evaluation time (same order as `times`). */
export interface InstanceTimeline {
  labels: Record<string, string>;
  states: AlertState[];
  /** Whether the condition held at each time (false when the instance was missing). */
  holds: boolean[];
}

interface Tracked {
  labels: Record<string, string>;
  state: AlertState;
  activeSince: number;
  missing: number;
  states: AlertState[];
  holds: boolean[];
}

const key = (labels: Record<string, string>) =>
  JSON.stringify(Object.entries(labels).sort(([a], [b]) => a.localeCompare(b)));

export async function evaluateOverTime(
  rule: TimedRule,
  influx: InfluxQuery,
  times: number[],
): Promise<Map<string, InstanceTimeline>> {
  const forMs = parseInterval(rule.for);
  const tracked = new Map<string, Tracked>();
  for (const [i, now] of times.entries()) {
    const result = await evaluateRule(rule, influx, now);
    const seen = new Map<string, { labels: Record<string, string>; holds: boolean }>();
    for (const labels of result.instanceLabels) seen.set(key(labels), { labels, holds: false });
    for (const labels of result.firing) seen.set(key(labels), { labels, holds: true });
    if (result.noData && rule.noDataState === 'Alerting') seen.set(key({}), { labels: {}, holds: true });
    for (const [k, s] of seen) {
      let t = tracked.get(k);
      if (!t) {
        t = {
          labels: s.labels,
          state: 'Normal',
          activeSince: now,
          missing: 0,
          states: Array<AlertState>(i).fill('Normal'),
          holds: Array<boolean>(i).fill(false),
        };
        tracked.set(k, t);
      }
      t.missing = 0;
      if (!s.holds) t.state = 'Normal';
      else {
        if (t.state === 'Normal') t.activeSince = now;
        t.state = now - t.activeSince >= forMs ? 'Alerting' : 'Pending';
      }
    }
    for (const [k, t] of tracked) {
      if (!seen.has(k) && ++t.missing >= STALE_AFTER_EVALUATIONS) t.state = 'Normal';
      t.states.push(t.state);
      t.holds.push(seen.get(k)?.holds ?? false);
    }
  }
  return new Map([...tracked].map(([k, t]) => [k, { labels: t.labels, states: t.states, holds: t.holds }]));
}
