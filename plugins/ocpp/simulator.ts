import { getMaxListeners, setMaxListeners } from 'node:events';
import { defineSimulator } from '../../collector/sdk/index.ts';
import { runCharger, SIM_FIRMWARE, SIM_MODEL } from './simulated-charger.ts';

/**
 * `fleetpulse simulate --ocpp N`: N charge points, alternately 1.6 and 2.0.1 (or one version),
 * with 1–4 connectors each, connecting to `<server><path><prefix><n>`.
 *
 * Credentials: with `simulate --api-key`, every charger is registered and gets an `ocpp_password`
 * of its own. Else `--opt password=...` is sent by every charger (give them all that password in
 * the inventory). Without either, run serve with `plugins.ocpp.unknown_chargers: pending`,
 * `plugins.ocpp.password_required: false` and `inventory.auto_accept: [charger]`: each charger is
 * then registered at its first connection and accepted at once.
 *
 * Options (`--opt key=value`), with defaults:
 *   prefix=SIM-            identity prefix
 *   version=mixed          1.6 | 2.0.1 | mixed
 *   connectors=random      1–4, or a fixed number
 *   meter_interval_s=60    meter values (and charging progress) per connector
 *   plug_in_chance=0.1     per interval and idle connector: a car plugs in
 *   ramp_per_s=200         connections opened per second
 *   fault_drop=0           per interval: chance that a charger drops its connection
 *   fault_resend=0         per transaction message: chance it is sent twice with one message id
 *   fault_slow_ms=0        delay before answering a command
 *   fault_malformed=0      per interval: chance of sending a malformed frame
 *   fault_ignore_profiles=0  per charger: chance that it accepts charging profiles but draws past them
 *   security_event_chance=0.01  per interval: chance of a routine security event (each boot sends StartupOfTheDevice)
 *   security_alert_chance=0     per interval: chance of an alerting one (TamperDetectionActivated, ...)
 *   path=/ocpp/
 */
export default defineSimulator({
  flag: 'ocpp',
  description: 'OCPP-J 1.6 / 2.0.1 charge points (ocpp-rpc clients) with transactions, commands and faults',
  devices: (count, options) =>
    Array.from({ length: count }, (_, i) => ({
      id: identity(options, i),
      kind: 'charger',
      model: SIM_MODEL,
      firmware: SIM_FIRMWARE,
      credential: 'ocpp_password',
    })),
  async run({ server, count, options, progress, signal, credentials }) {
    const num = (key: string, fallback: number) => {
      const v = options[key] === undefined ? fallback : Number(options[key]);
      if (!Number.isFinite(v) || v < 0) throw new Error(`--opt ${key}: expected a number ≥ 0, got ${options[key]}`);
      return v;
    };
    const endpoint = server.replace(/^http/, 'ws') + (options.path ?? '/ocpp/').replace(/\/$/, '');
    const version = options.version ?? 'mixed';
    if (!['1.6', '2.0.1', 'mixed'].includes(version))
      throw new Error(`--opt version: 1.6, 2.0.1 or mixed, got ${version}`);
    // Each charger listens for the end of the run on the one signal (raise the limit, never lower it).
    if (getMaxListeners(signal) < count * 2 + 10) setMaxListeners(count * 2 + 10, signal);
    const rampPerS = Math.max(1, num('ramp_per_s', 200));
    let connected = 0;
    const runs: Array<Promise<void>> = [];
    for (let i = 0; i < count && !signal.aborted; i++) {
      const v =
        version === 'mixed' ? (i % 2 === 0 ? 'ocpp1.6' : 'ocpp2.0.1') : version === '1.6' ? 'ocpp1.6' : 'ocpp2.0.1';
      const id = identity(options, i);
      runs.push(
        runCharger({
          endpoint,
          identity: id,
          version: v,
          password: credentials?.get(id) ?? options.password,
          connectors: options.connectors
            ? Math.min(4, Math.max(1, num('connectors', 1)))
            : 1 + Math.floor(Math.random() * 4),
          meterIntervalS: Math.max(0.1, num('meter_interval_s', 60)),
          plugInChance: num('plug_in_chance', 0.1),
          faults: {
            drop: num('fault_drop', 0),
            resend: num('fault_resend', 0),
            slowMs: num('fault_slow_ms', 0),
            malformed: num('fault_malformed', 0),
            ignoreProfiles: num('fault_ignore_profiles', 0),
          },
          securityEvents: { routine: num('security_event_chance', 0.01), alerting: num('security_alert_chance', 0) },
          signal,
          count: (e) => progress.count(e),
          refused: (reason) => progress.refused?.(id, reason),
          connected: (up) => progress.update('connected', (connected += up ? 1 : -1), count),
        }),
      );
      if ((i + 1) % Math.ceil(rampPerS / 10) === 0) await new Promise((r) => setTimeout(r, 100));
    }
    await Promise.all(runs);
  },
});

/** Charger `i` (from 0) is `<prefix><i + 1, five digits>`. */
function identity(options: Record<string, string>, i: number): string {
  return `${options.prefix ?? 'SIM-'}${String(i + 1).padStart(5, '0')}`;
}
