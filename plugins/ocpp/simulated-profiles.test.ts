import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryDirectory } from '../../collector/sdk/index.ts';
import { CAR_W } from './simulated-charger.ts';
import simulator from './simulator.ts';
import { eventually, startRig, token, type Rig } from './testing.ts';

/**
 * The chargers of `fleetpulse simulate --ocpp` apply the charging profiles they are sent to the
 * power they report: against the real runtime, a 1.6 and a 2.0.1 simulated charger (strict-mode
 * ocpp-rpc clients) take profiles through the command bus, and their MeterValues /
 * TransactionEvent power (ocpp_meter) follows the limit in force: W directly, A × 230 V × phases.
 */
const directory = new MemoryDirectory(new Set(['charger']));
let rig: Rig;
beforeAll(async () => {
  rig = await startRig(directory, { heartbeat_interval_s: 1, unknown_chargers: 'pending', password_required: false });
});
afterAll(() => rig?.stop());

const run = (device: string, name: string, params: object) =>
  rig.collector.bus.dispatch(device, { name, params, timeout_s: 5 });
const api = async (path: string) =>
  await (await fetch(`${rig.url}/api/v1${path}`, { headers: { authorization: token('viewer') } })).json();

/** The power, W, of each ocpp_meter reading of `device`, oldest first. */
const powers = (device: string) =>
  rig
    .allLines('ocpp_meter')
    .filter((l) => l.includes(`device=${device},`))
    .map((l) => /power_active_import_w=([\d.]+)/.exec(l)?.[1])
    .filter((w) => w !== undefined)
    .map(Number);
/** True once the last three readings of `device` are all `watts` (one may have been taken before the change). */
const settlesAt = (device: string, watts: number) =>
  eventually(() => {
    const last = powers(device).slice(-3);
    return last.length === 3 && last.every((w) => w === watts);
  }, 200);

const profile = (purpose: string, unit: 'W' | 'A', limit: number, phases?: number) => ({
  id: 40,
  stack_level: 0,
  purpose,
  kind: 'absolute',
  schedule: { unit, start: '2020-01-01T00:00:00Z', periods: [{ start_s: 0, limit, ...(phases ? { phases } : {}) }] },
});

async function simulate(prefix: string, options: Record<string, string>, body: () => Promise<void>) {
  const stop = new AbortController();
  const running = simulator.run({
    server: rig.url,
    count: 2,
    options: { prefix, meter_interval_s: '0.05', connectors: '1', security_event_chance: '0', ...options },
    progress: { update: () => {}, count: () => {} },
    signal: stop.signal,
  });
  try {
    await body();
  } finally {
    stop.abort();
    await running;
  }
}

describe('simulated chargers obey their charging profiles', () => {
  it('1.6 TxDefault in W and 2.0.1 station max in A hold the draw; the composite schedule says so; clear lifts it', async () => {
    await simulate('SP-', { plug_in_chance: '1' }, async () => {
      const [p16, p201] = ['SP-00001', 'SP-00002'];
      expect(await settlesAt(p16, CAR_W)).toBe(true);
      expect(await settlesAt(p201, CAR_W)).toBe(true);

      expect(
        await run(p16, 'set_charging_profile', { connector: 0, profile: profile('tx_default', 'W', 3000) }),
      ).toMatchObject({
        status: 'succeeded',
      });
      // 10 A on one phase at 230 V.
      const max201 = profile('station_max', 'A', 10, 1);
      expect(await run(p201, 'set_charging_profile', { connector: 0, profile: max201 })).toMatchObject({
        status: 'succeeded',
      });
      expect(await settlesAt(p16, 3000)).toBe(true);
      expect(await settlesAt(p201, 2300)).toBe(true);

      for (const device of [p16, p201])
        expect(await run(device, 'get_composite_schedule', { connector: 1, duration_s: 600 })).toMatchObject({
          status: 'succeeded',
        });
      const [c16] = (await api(`/chargers/${p16}/smart-charging`)).composite_schedules;
      expect(c16.schedule).toMatchObject({
        status: 'Accepted',
        connectorId: 1,
        chargingSchedule: {
          duration: 600,
          chargingRateUnit: 'W',
          chargingSchedulePeriod: [{ startPeriod: 0, limit: 3000 }],
        },
      });
      const [c201] = (await api(`/chargers/${p201}/smart-charging`)).composite_schedules;
      expect(c201.schedule).toMatchObject({
        status: 'Accepted',
        schedule: { evseId: 1, chargingRateUnit: 'W', chargingSchedulePeriod: [{ startPeriod: 0, limit: 2300 }] },
      });

      expect(await run(p16, 'clear_charging_profile', { purpose: 'tx_default' })).toMatchObject({
        status: 'succeeded',
      });
      expect(await run(p201, 'clear_charging_profile', { id: 40 })).toMatchObject({ status: 'succeeded' });
      expect(await settlesAt(p16, CAR_W)).toBe(true);
      expect(await settlesAt(p201, CAR_W)).toBe(true);
    });
  });

  it('a remote start carrying a TxProfile charges under it, in both versions', async () => {
    await simulate('SR-', { plug_in_chance: '0' }, async () => {
      for (const device of ['SR-00001', 'SR-00002']) {
        // Booted and reporting its connectors: it takes commands now.
        const booted = () => rig.allLines('ocpp_connector_status').some((l) => l.includes(`device=${device},`));
        expect(await eventually(booted, 200)).toBe(true);
        const start = { id_tag: 'TAG-P', connector: 1, charging_profile: profile('tx', 'W', 4000) };
        expect(await run(device, 'remote_start', start)).toMatchObject({ status: 'succeeded' });
        // Its one transaction (nothing plugs in by itself here) sends at least two readings.
        expect(await eventually(() => powers(device).length >= 2, 200)).toBe(true);
        expect(powers(device).every((w) => w === 4000)).toBe(true);
      }
    });
  });

  it('one built to ignore its profiles accepts them and draws past them (the fault the alert rules look for)', async () => {
    await simulate('SI-', { plug_in_chance: '1', version: '1.6', fault_ignore_profiles: '1' }, async () => {
      expect(await settlesAt('SI-00001', CAR_W)).toBe(true);
      expect(
        await run('SI-00001', 'set_charging_profile', { connector: 0, profile: profile('tx_default', 'W', 3000) }),
      ).toMatchObject({ status: 'succeeded' });
      const from = powers('SI-00001').length;
      expect(await eventually(() => powers('SI-00001').length >= from + 5, 200)).toBe(true);
      expect(powers('SI-00001').slice(from)).toEqual(Array(powers('SI-00001').length - from).fill(CAR_W));
    });
  });
});
