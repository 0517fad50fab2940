/**
 * Proof that every provisioned alert rule, read back from the generated YAML and evaluated against
 * a real influxd, holds at its edges: its threshold and `for:` are the numbers below (a changed
 * number fails here); a value exactly at the threshold does not fire and one step past it does;
 * over a real series written a minute at a time, it is Pending before `for:` has passed, Alerting
 * after, stays so through a four-minute gap in the data, and is Normal once the condition clears.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { load } from 'js-yaml';
import { beforeAll, describe, expect, it } from 'vitest';
import { evaluateOverTime, type TimedRule } from '../alerting/evaluate-over-time.ts';
import { evaluateRule } from '../alerting/evaluate.ts';
import { encodeLine } from '../collector/pipeline/line-protocol.ts';
import type { Point } from '../collector/sdk/point.ts';
import { REPO_ROOT } from '../dashboards/build.ts';
import { parseInterval } from '../dashboards/grafana-macros.ts';
import { PROVISIONING_DIR } from '../dashboards/provisioning.ts';
import { useInfluxd } from './helpers/influxd.ts';
import { PROBES } from './helpers/rule-probes.ts';

/** The numbers on-call agreed to, written out so that a changed rule fails a test. */
const EDGES: Record<string, { type: 'gt' | 'lt'; threshold: number; for: string }> = {
  'fp-device-offline': { type: 'lt', threshold: 1, for: '0s' },
  'fp-charger-offline': { type: 'lt', threshold: 1, for: '0s' },
  'fp-gateway-offline': { type: 'gt', threshold: -1, for: '0s' },
  'fp-site-outage': { type: 'gt', threshold: 0, for: '0s' },
  'fp-terminal-error': { type: 'gt', threshold: 0, for: '2m' },
  'fp-pos-error': { type: 'gt', threshold: 0, for: '2m' },
  'fp-pc-error': { type: 'gt', threshold: 0, for: '2m' },
  'fp-charger-faulted': { type: 'gt', threshold: 0, for: '0s' },
  'fp-charger-security-event': { type: 'gt', threshold: 0, for: '0s' },
  'fp-charger-severe-event': { type: 'gt', threshold: 0, for: '0s' },
  'fp-site-over-power-limit': { type: 'gt', threshold: 0, for: '5m' },
  'fp-charger-ignoring-profile': { type: 'gt', threshold: 500, for: '10m' },
  'fp-terminal-firmware-failed': { type: 'gt', threshold: 0, for: '0s' },
  'fp-charger-firmware-failed': { type: 'gt', threshold: 0, for: '0s' },
  'fp-terminal-high-cpu': { type: 'gt', threshold: 90, for: '5m' },
  'fp-terminal-high-memory': { type: 'gt', threshold: 90, for: '5m' },
  'fp-terminal-disk-full': { type: 'gt', threshold: 90, for: '5m' },
  'fp-pc-high-cpu': { type: 'gt', threshold: 90, for: '5m' },
  'fp-pc-high-memory': { type: 'gt', threshold: 90, for: '5m' },
  'fp-pc-disk-full': { type: 'gt', threshold: 90, for: '5m' },
  'fp-session-enforcement-failed': { type: 'gt', threshold: 0, for: '0s' },
  'fp-pos-payment-failures': { type: 'gt', threshold: 4, for: '0s' },
  'fp-points-dropped': { type: 'gt', threshold: 0, for: '0s' },
  'fp-spool-backlog': { type: 'gt', threshold: 10_000, for: '5m' },
  'fp-spool-stuck': { type: 'gt', threshold: 600, for: '5m' },
  'fp-data-disk-low': { type: 'lt', threshold: 1024 ** 3, for: '5m' },
  'fp-api-errors': { type: 'gt', threshold: 10, for: '0s' },
  'fp-api-latency': { type: 'gt', threshold: 1, for: '5m' },
  'fp-inventory-errors': { type: 'gt', threshold: 0, for: '0s' },
  'fp-write-errors': { type: 'gt', threshold: 0, for: '0s' },
  'fp-rollups-failing': { type: 'gt', threshold: 0, for: '15m' },
  'fp-fleet-data-stale': { type: 'lt', threshold: 1, for: '2m' },
};

type Rule = TimedRule & {
  data: { refId: string; model: Record<string, unknown>; relativeTimeRange?: { from: number } }[];
};

const influx = useInfluxd();
const MIN = 60_000;
// Minute-aligned plus 10 s, so that a reading and the evaluation 30 s later share a GROUP BY time(1m) bucket.
const now = Math.floor(Date.now() / MIN) * MIN + 10_000;
let rules: Rule[];

beforeAll(async () => {
  const doc = load(await readFile(path.join(REPO_ROOT, PROVISIONING_DIR, 'alerting/rules.yaml'), 'utf8')) as {
    groups: { rules: Rule[] }[];
  };
  rules = doc.groups.flatMap((g) => g.rules);
});

const evaluator = (r: Rule) =>
  (
    r.data.find((s) => s.refId === r.condition)!.model.conditions as { evaluator: { type: string; params: number[] } }[]
  )[0].evaluator;
const lookbackS = (r: Rule) => r.data.find((s) => s.refId === 'A')!.relativeTimeRange!.from;
/** "Just past": one probe step beyond the threshold, in the rule's direction. */
const past = (r: Rule) => evaluator(r).params[0] + (evaluator(r).type === 'gt' ? 1 : -1) * PROBES[r.uid].step;
/** What an instance is about: a device, a collector host, a site, or the whole fleet. */
const subject = (l: Record<string, string>) => l.device ?? l.host ?? l.site ?? '(fleet)';
const firingIds = (r: Rule, e: Awaited<ReturnType<typeof evaluateRule>>) =>
  e.noData && r.noDataState === 'Alerting' ? ['(fleet)'] : e.firing.map(subject);

async function databaseWith(points: Point[], prefix: string): Promise<string> {
  const db = await influx.freshDatabase({ prefix });
  if (points.length === 0) return db;
  const res = await fetch(`${influx.url}/write?db=${db}&precision=ms`, {
    method: 'POST',
    body: points.map(encodeLine).join('\n'),
  });
  if (res.status !== 204) throw new Error(`write: ${res.status} ${await res.text()}`);
  return db;
}

describe('alert rules at their edges', () => {
  it('every rule has a probe and the threshold and for: written here', () => {
    expect(rules.map((r) => r.uid).sort()).toEqual(Object.keys(EDGES).sort());
    expect(Object.keys(PROBES).sort()).toEqual(Object.keys(EDGES).sort());
    for (const r of rules) {
      expect({ type: evaluator(r).type, threshold: evaluator(r).params[0], for: r.for }, r.uid).toEqual(EDGES[r.uid]);
    }
  });

  it('a value at the threshold does not fire; one step past it does', async () => {
    for (const r of rules) {
      const probe = PROBES[r.uid];
      const threshold = evaluator(r).params[0];
      const inside = await databaseWith(probe.edge('probe', threshold, now), 'edge-in');
      const beyond = await databaseWith(probe.edge('probe', past(r), now), 'edge-past');
      const fleet = r.uid === 'fp-fleet-data-stale';
      expect(firingIds(r, await evaluateRule(r, influx.client(inside), now)), `${r.uid} at ${threshold}`).toEqual([]);
      expect(firingIds(r, await evaluateRule(r, influx.client(beyond), now)), `${r.uid} at ${past(r)}`).toEqual([
        fleet ? '(fleet)' : 'probe',
      ]);
    }
  });

  it('over a real series: Pending until for: has passed, Alerting after, no resolve on a gap, Normal once clear', async () => {
    for (const r of rules) {
      const probe = PROBES[r.uid];
      const healthy = probe.healthy ?? evaluator(r).params[0];
      const forMs = parseInterval(EDGES[r.uid].for);
      // Minutes from the first reading past the threshold: healthy before, past for 20 minutes with
      // no reading at all in minutes 8–11, healthy after for the look-back (at most 20 min) and 3 more.
      const clearFrom = 20;
      const end = clearFrom + Math.min(lookbackS(r) / 60, 20) + 3;
      const gap = (m: number) => m >= 8 && m <= 11;
      const points: Point[] = [];
      let total = 0;
      let n = 0;
      for (let m = -30; m < end; m++) {
        if (gap(m)) continue;
        const v = m >= 0 && m < clearFrom ? past(r) : healthy;
        total += v;
        n += 1;
        points.push(...probe.reading('probe', v, now + m * MIN, total, n));
      }
      const db = await databaseWith(points, 'for');
      const minutes = Array.from({ length: end + 3 }, (_, i) => i - 3);
      const timelines = await evaluateOverTime(
        r,
        influx.client(db),
        minutes.map((m) => now + m * MIN + 30_000),
      );
      const probeLine = [...timelines.values()].find((t) => ['probe', '(fleet)'].includes(subject(t.labels)));
      expect(probeLine, r.uid).toBeDefined();
      const { states, holds } = probeLine!;
      const at = (m: number) => minutes.indexOf(m);
      const onset = minutes[holds.indexOf(true)];
      // The condition starts with the first reading past the threshold, or once the look-back holds
      // only such readings (a minimum, a silence), never before it and never after the look-back.
      expect(onset, `${r.uid} onset`).toBeGreaterThanOrEqual(0);
      expect(onset, `${r.uid} onset`).toBeLessThanOrEqual(lookbackS(r) / 60);
      const alerting = minutes[states.indexOf('Alerting')];
      expect(alerting - onset, `${r.uid}: Alerting after for: (${EDGES[r.uid].for}), not before`).toBe(forMs / MIN);
      if (forMs > 0) expect(states[at(alerting - 1)], `${r.uid} pending`).toBe('Pending');
      expect(alerting, `${r.uid} alerts while the series is past the threshold`).toBeLessThan(clearFrom);
      // Through the gap and up to the last reading past the threshold: never Normal.
      for (let m = onset; m < clearFrom; m++) expect(states[at(m)], `${r.uid} minute ${m}`).not.toBe('Normal');
      for (let m = alerting; m < clearFrom; m++) expect(states[at(m)], `${r.uid} minute ${m}`).toBe('Alerting');
      // Normal once the condition has not held for two evaluations (a rule whose query drops the
      // device when clear leaves a missing instance, which Grafana resolves as stale on the second).
      holds.forEach((h, i) => {
        if (i > 0 && !h && !holds[i - 1]) expect(states[i], `${r.uid} minute ${minutes[i]}`).toBe('Normal');
      });
      expect(states.at(-1), `${r.uid} resolved`).toBe('Normal');
    }
  });
});
