/**
 * Proof that every provisioned alert rule, read back from the generated YAML and evaluated the way
 * Grafana does (query per series → reduce → math → threshold), fires for exactly the faulty
 * devices of the simulated fleet: none of the healthy ones, never the one in maintenance.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { load } from 'js-yaml';
import { beforeAll, describe, expect, it } from 'vitest';
import { sessionEnforcement } from '../collector/operations/sessions/session-measurements.ts';
import { InfluxQuery } from '../collector/pipeline/influx-query.ts';
import { encodeLine } from '../collector/pipeline/line-protocol.ts';
import { int } from '../collector/sdk/point.ts';
import { evaluateRule, type ProvisionedRule } from '../alerting/evaluate.ts';
import { REPO_ROOT } from '../dashboards/build.ts';
import { PROVISIONING_DIR } from '../dashboards/provisioning.ts';
import { FAULTS, FLEET, writeFleet } from './helpers/fleet-fixture.ts';
import { useInfluxd } from './helpers/influxd.ts';

const influx = useInfluxd();
let db: string;
let rules: ProvisionedRule[];
const now = Date.now();

beforeAll(async () => {
  db = await influx.freshDatabase({ prefix: 'alerts' });
  await writeFleet({ url: influx.url, db, now });
  const doc = load(await readFile(path.join(REPO_ROOT, PROVISIONING_DIR, 'alerting/rules.yaml'), 'utf8')) as {
    groups: { rules: ProvisionedRule[] }[];
  };
  rules = doc.groups.flatMap((g) => g.rules);
});

describe('alert rules on the simulated fleet', () => {
  it('every rule has a stated expectation, and every expectation a rule', () => {
    expect(rules.map((r) => r.uid).sort()).toEqual(Object.keys(FAULTS).sort());
  });

  it('each rule fires for exactly its faulty devices (or collector hosts)', async () => {
    const maintenance = FLEET.filter((d) => d.state === 'maintenance').map((d) => d.device);
    expect(maintenance).toEqual(['pc-maint']);
    for (const rule of rules) {
      const result = await evaluateRule(rule, influx.client(db), now);
      const fired = result.firing.map((l) => l.device ?? l.host ?? '(fleet)').sort();
      expect(fired, `${rule.uid}`).toEqual([...FAULTS[rule.uid]].sort());
      for (const m of maintenance) expect(fired).not.toContain(m);
      // Summaries name device, customer and site from labels the query really returns.
      for (const labels of result.firing) {
        if ('device' in labels)
          for (const l of ['device', 'kind', 'model', 'customer', 'site'])
            expect(labels[l], `${rule.uid} label ${l}`).toBeTruthy();
      }
    }
  });

  it('the device in maintenance would fire without the maintenance guard (the guard is what stops it)', async () => {
    const cpu = rules.find((r) => r.uid === 'fp-pc-high-cpu')!;
    const unguarded: ProvisionedRule = {
      ...cpu,
      data: cpu.data
        .filter((s) => ['A', 'B'].includes(s.refId))
        .concat({
          ...cpu.data.find((s) => s.refId === 'C')!,
          model: { ...cpu.data.find((s) => s.refId === 'C')!.model, expression: 'B' },
        }),
    };
    const fired = (await evaluateRule(unguarded, influx.client(db), now)).firing.map((l) => l.device).sort();
    expect(fired).toEqual(['pc-hot', 'pc-maint']);
  });

  it('fp-session-enforcement-failed: fires for a failed session end, not for one the station enforced itself while unreachable, not in maintenance', async () => {
    const rule = rules.find((r) => r.uid === 'fp-session-enforcement-failed')! as ProvisionedRule & {
      annotations: Record<string, string>;
    };
    const result = await evaluateRule(rule, influx.client(db), now);
    expect(result.firing).toEqual([
      // No contract tag in the fixture's points: the label is empty (routed as standard).
      { device: 'pc-enforce', kind: 'pc', model: 'GAMER-X', customer: 'globex', site: 'globex-s1', contract: '' },
    ]);
    // pc-ok's end was pending (unreachable), then enforced by its agent: seen, and not firing.
    expect(result.instances).toBe(2);
    // Which device, customer, site; what is wrong; where to look.
    for (const label of ['device', 'customer', 'site'])
      expect(rule.annotations.summary).toContain(`{{ $labels.${label} }}`);
    expect(rule.annotations.description).toContain('/api/v1/sessions?station={{ $labels.device }}');
    expect(rule.annotations.runbook_url).toMatch(/#fp-session-enforcement-failed$/);

    // A console behind a plug has no liveness series of its own: its plug's failure fires all the same.
    const consoles = await influx.freshDatabase({ prefix: 'consoles' });
    const tags = {
      device: 'ps5-1',
      kind: 'console',
      model: 'PS5',
      customer: 'acme',
      site: 'acme-s1',
      action: 'power_off',
    };
    const line = (state: string, minutesAgo: number) =>
      encodeLine({
        measurement: sessionEnforcement.name,
        tags,
        fields: {
          state,
          failed: int(state === 'failed' ? 1 : 0),
          by: 'plug',
          maintenance: int(0),
          session_id: 's-1',
          target: 'plug-1',
          error: '',
        },
        time: now - minutesAgo * 60_000,
      });
    await fetch(`${influx.url}/write?db=${consoles}&precision=ms`, { method: 'POST', body: line('failed', 3) });
    expect((await evaluateRule(rule, influx.client(consoles), now)).firing.map((l) => l.device)).toEqual(['ps5-1']);
    // Fifteen minutes on, it has passed.
    expect((await evaluateRule(rule, influx.client(consoles), now + 15 * 60_000)).firing).toEqual([]);
  });

  it('an empty or unreachable datasource raises one stale-data alert, and no per-device alert', async () => {
    const empty = await influx.freshDatabase({ prefix: 'empty' });
    for (const rule of rules) {
      const result = await evaluateRule(rule, influx.client(empty), now);
      expect(result.firing, rule.uid).toEqual([]);
      if (rule.uid === 'fp-fleet-data-stale') {
        expect(result.noData).toBe(true);
        expect(rule.noDataState).toBe('Alerting');
        expect(rule.execErrState).toBe('Alerting');
      } else {
        // No data on a device rule means no device matched: OK, never one alert per device.
        expect(rule.noDataState).toBe('OK');
        expect(rule.execErrState).toBe('KeepLast');
      }
    }
    // Unreachable: the query fails, which Grafana maps to execErrState (Alerting only for the stale-data rule).
    const unreachable = new InfluxQuery({ url: 'http://127.0.0.1:1', database: db, timeoutMs: 2000 });
    await expect(evaluateRule(rules[0], unreachable, now)).rejects.toThrow();
  });
});
