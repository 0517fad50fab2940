/**
 * Evaluates a provisioned alert rule the way Grafana's alerting engine does, against a real
 * InfluxDB: each InfluxQL step runs with `$timeFilter` set from its relativeTimeRange; every
 * series (labels = its GROUP BY tags) is reduced to one number; math joins series with equal
 * labels (a series without a partner is dropped); the threshold decides per series. Used by the
 * proofs to show which devices a rule fires for; not a runtime component.
 */
import type { InfluxQuery, Series } from '../collector/pipeline/influx-query.ts';
import { expandQuery } from '../dashboards/grafana-macros.ts';

type Labels = Record<string, string>;
interface Instance {
  labels: Labels;
  value: number | null;
}

export interface RuleStep {
  refId: string;
  relativeTimeRange?: { from: number; to: number };
  datasourceUid: string;
  model: Record<string, unknown>;
}
export interface ProvisionedRule {
  uid: string;
  condition: string;
  data: RuleStep[];
  noDataState: string;
  execErrState: string;
}

export interface Evaluation {
  /** Instances whose condition holds. */
  firing: Labels[];
  /** The same instances with the value the threshold was applied to (what `$values.B` names in a summary). */
  values: { labels: Labels; value: number | null }[];
  /** Instances evaluated (firing or not). */
  instances: number;
  /** The labels of every instance evaluated. */
  instanceLabels: Labels[];
  /** True when the condition's input had no series at all: the rule's noDataState applies. */
  noData: boolean;
}

const key = (labels: Labels) => JSON.stringify(Object.entries(labels).sort(([a], [b]) => a.localeCompare(b)));

function reduce(values: (number | null)[], reducer: string): number | null {
  const v = values.filter((x): x is number => typeof x === 'number' && !Number.isNaN(x)); // mode dropNN
  if (v.length === 0) return null;
  switch (reducer) {
    case 'last':
      return v[v.length - 1];
    case 'mean':
      return v.reduce((a, b) => a + b, 0) / v.length;
    case 'max':
      return Math.max(...v);
    case 'min':
      return Math.min(...v);
    case 'sum':
      return v.reduce((a, b) => a + b, 0);
    case 'count':
      return v.length;
    default:
      throw new Error(`reducer ${reducer} not supported`);
  }
}

function holds(value: number | null, ev: { type: string; params: number[] }): boolean {
  if (value === null) return false;
  const [a = 0, b = 0] = ev.params;
  switch (ev.type) {
    case 'gt':
      return value > a;
    case 'lt':
      return value < a;
    case 'within_range':
      return value > a && value < b;
    case 'outside_range':
      return value < a || value > b;
    default:
      throw new Error(`evaluator ${ev.type} not supported`);
  }
}

/** Grafana's InfluxQL backend: one frame per series and value column; the value column must be single. */
function seriesToInstances(series: Series[], refId: string): { labels: Labels; values: (number | null)[] }[] {
  return series.map((s) => {
    const valueColumns = s.columns.filter((c) => c !== 'time');
    if (valueColumns.length !== 1)
      throw new Error(`${refId}: alert queries must return one value column, got ${valueColumns.join(', ')}`);
    const i = s.columns.indexOf(valueColumns[0]);
    return {
      labels: { ...s.tags },
      values: s.values.map((row) => (typeof row[i] === 'number' ? row[i] : null)),
    };
  });
}

export async function evaluateRule(rule: ProvisionedRule, influx: InfluxQuery, now = Date.now()): Promise<Evaluation> {
  const results = new Map<string, Instance[]>();
  /** Per threshold step, the values it judged. */
  const judged = new Map<string, Instance[]>();
  const raw = new Map<string, { labels: Labels; values: (number | null)[] }[]>();
  for (const step of rule.data) {
    const m = step.model;
    if (step.datasourceUid !== '__expr__') {
      const range = {
        from: now - (step.relativeTimeRange?.from ?? 600) * 1000,
        to: now - (step.relativeTimeRange?.to ?? 0) * 1000,
      };
      const query = expandQuery(String(m.query), {
        range,
        maxDataPoints: Number(m.maxDataPoints ?? 43200),
        minIntervalMs: Number(m.intervalMs ?? 1000),
      });
      raw.set(step.refId, seriesToInstances(await influx.query(query), step.refId));
      continue;
    }
    if (m.type === 'reduce') {
      const input = raw.get(String(m.expression));
      if (!input)
        throw new Error(`${step.refId}: reduce of ${String(m.expression)}, which is not a query step before it`);
      results.set(
        step.refId,
        input.map((s) => ({ labels: s.labels, value: reduce(s.values, String(m.reducer)) })),
      );
    } else if (m.type === 'math') {
      const match = /^\$(\w+) \* \$(\w+)$/.exec(String(m.expression));
      if (!match) throw new Error(`${step.refId}: only "$X * $Y" math is supported, got ${String(m.expression)}`);
      const left = results.get(match[1]) ?? [];
      const right = new Map((results.get(match[2]) ?? []).map((r) => [key(r.labels), r]));
      const out: Instance[] = [];
      for (const l of left) {
        const r = right.get(key(l.labels));
        if (r) out.push({ labels: l.labels, value: l.value === null || r.value === null ? null : l.value * r.value });
      }
      results.set(step.refId, out);
    } else if (m.type === 'threshold') {
      const input = results.get(String(m.expression));
      if (!input)
        throw new Error(`${step.refId}: threshold on ${String(m.expression)}, which is not an expression before it`);
      const conditions = m.conditions as { evaluator: { type: string; params: number[] } }[];
      judged.set(step.refId, input);
      results.set(
        step.refId,
        input.map((i) => ({ labels: i.labels, value: holds(i.value, conditions[0].evaluator) ? 1 : 0 })),
      );
    } else {
      throw new Error(`${step.refId}: expression type ${String(m.type)} not supported`);
    }
  }
  const condition = results.get(rule.condition);
  if (!condition) throw new Error(`rule ${rule.uid}: condition ${rule.condition} is not a step`);
  const inputs = judged.get(rule.condition) ?? [];
  return {
    firing: condition.filter((i) => i.value === 1).map((i) => i.labels),
    values: condition.flatMap((i, n) => (i.value === 1 ? [{ labels: i.labels, value: inputs[n]?.value ?? null }] : [])),
    instances: condition.length,
    instanceLabels: condition.map((i) => i.labels),
    noData: condition.length === 0,
  };
}
