/**
 * One alert and one incident per cause. A fleet with gateways and sites is replayed through the
 * runtime's real liveness (test/helpers/liveness-replay.ts), its device_status and site_status go
 * into a real influxd, the provisioned rules are evaluated the way Grafana does, and what fires is
 * fed to the real incident store (SQLite), which asks the same liveness what each cause affects.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { load } from 'js-yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { evaluateRule, type ProvisionedRule } from '../alerting/evaluate.ts';
import { Incidents } from '../collector/operations/incidents.ts';
import { tempInventory } from '../collector/inventory/testing.ts';
import { deviceStatus, siteStatus } from '../collector/runtime/measurements.ts';
import type { DeviceRecord } from '../collector/sdk/index.ts';
import { REPO_ROOT } from '../dashboards/build.ts';
import { PROVISIONING_DIR } from '../dashboards/provisioning.ts';
import { useInfluxd } from './helpers/influxd.ts';
import { LivenessReplay } from './helpers/liveness-replay.ts';

type Rule = ProvisionedRule & { title: string; labels: Record<string, string> };
const influx = useInfluxd();
const MIN = 60_000;
const now = Math.floor(Date.now() / MIN) * MIN;
let rules: Rule[];

const device = (id: string, kind: string, customer: string, site: string, gateway?: string) =>
  ({ id, kind, model: kind === 'pc' ? 'NUC-11' : 'TC-200', customer, site, ...(gateway ? { gateway } : {}) }) as Omit<
    DeviceRecord,
    'lifecycle'
  >;
const range = (n: number, f: (i: number) => string) => Array.from({ length: n }, (_, i) => f(i));

// store-1: a store PC (agent) with 5 terminals, beside 4 chargers that stay up (6 of 10 is no site outage).
const STORE_TERMINALS = range(5, (i) => `t1-${i}`);
// store-2: a healthy agent; one of its terminals goes offline by itself.
// mall: 50 devices (5 agents with 8 terminals each, 5 chargers) lose the WAN together.
const MALL = [
  ...range(5, (a) => `mall-pc-${a}`),
  ...range(40, (i) => `mall-t-${i}`),
  ...range(5, (i) => `mall-c-${i}`),
];
const FLEET = [
  device('agent-1', 'pc', 'acme', 'store-1'),
  ...STORE_TERMINALS.map((id) => device(id, 'terminal', 'acme', 'store-1', 'agent-1')),
  ...range(4, (i) => `s1-c-${i}`).map((id) => device(id, 'charger', 'acme', 'store-1')),
  device('agent-2', 'pc', 'acme', 'store-2'),
  ...range(3, (i) => `t2-${i}`).map((id) => device(id, 'terminal', 'acme', 'store-2', 'agent-2')),
  ...MALL.map((id) => {
    const m = /^mall-t-(\d+)$/.exec(id);
    const kind = id.startsWith('mall-pc') ? 'pc' : m ? 'terminal' : 'charger';
    return device(id, kind, 'globex', 'mall', m ? `mall-pc-${Math.floor(Number(m[1]) / 8)}` : undefined);
  }),
];
const OFFLINE_RULES = ['fp-device-offline', 'fp-charger-offline', 'fp-gateway-offline', 'fp-site-outage'];
const CUT = now - 10 * MIN;
/** What falls silent at CUT: agent-1 and its terminals, t2-0, the whole mall. */
const silent = new Set(['agent-1', ...STORE_TERMINALS, 't2-0', ...MALL]);

beforeAll(async () => {
  const doc = load(await readFile(path.join(REPO_ROOT, PROVISIONING_DIR, 'alerting/rules.yaml'), 'utf8')) as {
    groups: { rules: Rule[] }[];
  };
  rules = doc.groups.flatMap((g) => g.rules).filter((r) => OFFLINE_RULES.includes(r.uid));
  expect(rules.map((r) => r.uid).sort()).toEqual([...OFFLINE_RULES].sort());
});

async function write(db: string, lines: string[]): Promise<void> {
  const res = await fetch(`${influx.url}/write?db=${db}&precision=ms`, { method: 'POST', body: lines.join('\n') });
  expect(res.status).toBe(204);
}

/** Every rule's firing instances at `at`, as `uid → { 'device or customer/site': value }`. */
async function fired(db: string, at: number): Promise<Record<string, Record<string, number | null>>> {
  const out: Record<string, Record<string, number | null>> = {};
  for (const rule of rules) {
    const r = await evaluateRule(rule, influx.client(db), at);
    out[rule.uid] = Object.fromEntries(
      r.values.map((v) => [v.labels.device ?? `${v.labels.customer}/${v.labels.site}`, v.value]),
    );
  }
  return out;
}

/** Feeds every firing instance to the incident store as Grafana's webhook would, and every one gone as resolved. */
async function notify(
  incidents: Incidents,
  db: string,
  at: number,
  before: Map<string, Record<string, string>> = new Map(),
): Promise<Map<string, Record<string, string>>> {
  const firing = new Map<string, Record<string, string>>();
  for (const rule of rules) {
    for (const labels of (await evaluateRule(rule, influx.client(db), at)).firing) {
      const all = { alertname: rule.title, ...rule.labels, ...labels };
      firing.set(JSON.stringify(all), all);
    }
  }
  const startsAt = new Date(CUT).toISOString();
  for (const [key, labels] of before)
    if (!firing.has(key))
      incidents.record({ status: 'resolved', labels, startsAt, endsAt: new Date(at).toISOString() });
  for (const labels of firing.values()) incidents.record({ status: 'firing', labels, startsAt });
  return firing;
}

describe('dependencies: one alert and one incident per cause', () => {
  let replay: LivenessReplay;
  let db: string;
  const inv = tempInventory();
  afterAll(() => {
    replay?.close();
    inv.cleanup();
  });

  /** agent-1 comes back at `back` (if given) with all but the first two of its terminals. */
  let back = Infinity;
  const stillDown = STORE_TERMINALS.slice(0, 2);
  const report = (id: string, t: number) => {
    if (!silent.has(id) || t < CUT) return { state: 'online' as const };
    if (t >= back && (id === 'agent-1' || (STORE_TERMINALS.includes(id) && !stillDown.includes(id))))
      return { state: 'online' as const };
    return 'silent' as const;
  };

  beforeAll(async () => {
    db = await influx.freshDatabase({ prefix: 'deps' });
    replay = new LivenessReplay({ devices: FLEET, report });
    await write(db, replay.run(now - 30 * MIN, now).take(deviceStatus.name, siteStatus.name));
  });

  it('a store PC with 5 terminals offline: 1 gateway alert naming 5; the site outage: 1 alert naming 50; a lone terminal: its own', async () => {
    expect(await fired(db, now)).toEqual({
      'fp-device-offline': { 't2-0': 0 },
      'fp-charger-offline': {},
      'fp-gateway-offline': { 'agent-1': 5 },
      'fp-site-outage': { 'globex/mall': 50 },
    });
  });

  let firing: Map<string, Record<string, string>>;
  const incidents = () =>
    new Incidents(
      inv.inventory.db,
      (id) => replay.directory.lookup(id),
      () => now,
      replay.liveness.affectedBy.bind(replay.liveness),
    );

  it('one incident per cause, with the affected devices listed on it', async () => {
    const store = incidents();
    firing = await notify(store, db, now);
    const { items } = store.list({ limit: 50 });
    const byRule = Object.fromEntries(items.map((i) => [i.labels.device ?? i.site, i]));
    expect(Object.keys(byRule).sort()).toEqual(['agent-1', 'mall', 't2-0']);
    expect(store.affected(byRule['agent-1'].id).map((a) => a.device)).toEqual([...STORE_TERMINALS].sort());
    expect(store.affected(byRule.mall.id).map((a) => a.device)).toEqual([...MALL].sort());
    expect(store.affected(byRule['t2-0'].id)).toEqual([]);
  });

  it('when the gateway comes back, the terminals still down become incidents of their own', async () => {
    back = now + MIN;
    const later = now + 10 * MIN;
    await write(db, replay.run(now + MIN, later).take(deviceStatus.name, siteStatus.name));
    expect((await fired(db, later))['fp-device-offline']).toEqual({ 't1-0': 0, 't1-1': 0, 't2-0': 0 });
    expect((await fired(db, later))['fp-gateway-offline']).toEqual({});
    const store = incidents();
    await notify(store, db, later, firing);
    const gateway = store.list({ device: 'agent-1', limit: 5 }).items[0];
    expect(gateway.status).toBe('resolved');
    const own = Object.fromEntries(stillDown.map((id) => [id, store.list({ device: id, limit: 5 }).items]));
    for (const id of stillDown) expect(own[id]).toHaveLength(1);
    expect(Object.fromEntries(store.affected(gateway.id).map((a) => [a.device, a.moved_to]))).toEqual({
      't1-0': own['t1-0'][0].id,
      't1-1': own['t1-1'][0].id,
      't1-2': null,
      't1-3': null,
      't1-4': null,
    });
    expect(store.events(own['t1-0'][0].id).map((e) => e.type)).toEqual(['opened', 'split']);
  });
});

describe('dependencies under maintenance', () => {
  it('maintenance suppresses the gateway, site and per-device alerts alike', async () => {
    const db = await influx.freshDatabase({ prefix: 'deps-maint' });
    const replay = new LivenessReplay({
      devices: FLEET,
      report: (id, t) => (silent.has(id) && t >= CUT ? 'silent' : { state: 'online' }),
      maintenance: () => true,
    });
    await write(db, replay.run(now - 30 * MIN, now).take(deviceStatus.name, siteStatus.name));
    replay.close();
    expect(await fired(db, now)).toEqual({
      'fp-device-offline': {},
      'fp-charger-offline': {},
      'fp-gateway-offline': {},
      'fp-site-outage': {},
    });
  });
});
