/**
 * From a simulated charger to the alert: simulated chargers (`fleetpulse simulate --ocpp`, real
 * strict-mode ocpp-rpc clients) against the real runtime take a 3 kW TxDefault; one built with
 * `fault_ignore_profiles=1` draws 7.4 kW anyway. What the runtime spooled is written into a real
 * influxd and the provisioned fp-charger-ignoring-profile rule (read back from rules.yaml) is
 * evaluated there: its condition holds for the one ignoring its profile and not for the one obeying.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { load } from 'js-yaml';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { evaluateRule, type ProvisionedRule } from '../alerting/evaluate.ts';
import { MemoryDirectory } from '../collector/sdk/index.ts';
import { REPO_ROOT } from '../dashboards/build.ts';
import { PROVISIONING_DIR } from '../dashboards/provisioning.ts';
import simulator from '../plugins/ocpp/simulator.ts';
import { eventually, intoInfluxd, startRig, type Rig } from '../plugins/ocpp/testing.ts';
import { useInfluxd } from './helpers/influxd.ts';

const influx = useInfluxd();
const directory = new MemoryDirectory(new Set(['charger']));
let rig: Rig;
let rule: ProvisionedRule;
beforeAll(async () => {
  rig = await startRig(directory, { heartbeat_interval_s: 1, unknown_chargers: 'pending', password_required: false });
  const doc = load(await readFile(path.join(REPO_ROOT, PROVISIONING_DIR, 'alerting/rules.yaml'), 'utf8')) as {
    groups: { rules: ProvisionedRule[] }[];
  };
  rule = doc.groups.flatMap((g) => g.rules).find((r) => r.uid === 'fp-charger-ignoring-profile')!;
});
afterAll(() => rig?.stop());

function simulate(prefix: string, ignore: string, signal: AbortSignal) {
  return simulator.run({
    server: rig.url,
    count: 1,
    options: {
      prefix,
      version: '1.6',
      meter_interval_s: '0.05',
      connectors: '1',
      plug_in_chance: '1',
      security_event_chance: '0',
      fault_ignore_profiles: ignore,
    },
    progress: { update: () => {}, count: () => {} },
    signal,
  });
}

/** Points of ocpp_charging_limit with a draw, of `device`. */
const drawn = (device: string) =>
  rig.allLines('ocpp_charging_limit').filter((l) => l.includes(`device=${device},`) && l.includes('drawn_w='));

it('a simulated charger ignoring its TxDefault trips fp-charger-ignoring-profile; one obeying it does not', async () => {
  const stop = new AbortController();
  const runs = [simulate('OBEY-', '0', stop.signal), simulate('IGNORE-', '1', stop.signal)];
  try {
    const [obeying, ignoring] = ['OBEY-00001', 'IGNORE-00001'];
    const profile = {
      id: 5,
      stack_level: 0,
      purpose: 'tx_default',
      kind: 'absolute',
      schedule: { unit: 'W', start: '2020-01-01T00:00:00Z', periods: [{ start_s: 0, limit: 3000 }] },
    };
    for (const device of [obeying, ignoring]) {
      const booted = () => rig.allLines('ocpp_meter').some((l) => l.includes(`device=${device},`));
      expect(await eventually(booted, 200)).toBe(true);
      const sent = await rig.collector.bus.dispatch(device, {
        name: 'set_charging_profile',
        params: { connector: 0, profile },
        timeout_s: 5,
      });
      expect(sent).toMatchObject({ status: 'succeeded' });
    }
    expect(await eventually(() => drawn(obeying).length >= 3 && drawn(ignoring).length >= 3, 200)).toBe(true);
  } finally {
    stop.abort();
    await Promise.all(runs);
  }
  // The watched join needs a device_status point with the model the charger booted with (the runtime
  // writes one as it goes offline at the end of the run; its first points predate the boot).
  const statusWithModel = (device: string) =>
    rig.allLines('device_status').some((l) => l.includes(`device=${device},`) && l.includes('model=Fleetpulse'));
  expect(await eventually(() => statusWithModel('OBEY-00001') && statusWithModel('IGNORE-00001'), 200)).toBe(true);
  expect(drawn('OBEY-00001').every((l) => l.includes('drawn_w=3000,') || l.includes('drawn_w=3000 '))).toBe(true);
  const db = await intoInfluxd(influx, rig.allLines());
  const result = await evaluateRule(rule, influx.client(db), Date.now());
  expect(result.instanceLabels.map((l) => l.device).sort()).toEqual(['IGNORE-00001', 'OBEY-00001']);
  expect(result.firing.map((l) => l.device)).toEqual(['IGNORE-00001']);
  expect(result.values.find((v) => v.labels.device === 'IGNORE-00001')?.value).toBe(7400 - 3000);
});
