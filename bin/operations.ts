import type { Logger } from 'pino';
import type { Inventory } from '../collector/inventory/index.ts';
import { maintenanceCalendar, Operations, type OperationsOptions } from '../collector/operations/operations.ts';
import type { InfluxQuery } from '../collector/pipeline/influx-query.ts';
import type { Collector } from '../collector/runtime/collector.ts';
import type { Plugin } from '../collector/sdk/index.ts';

export { maintenanceCalendar };

export interface StartOperationsDeps {
  inventory: Inventory;
  /** The running collector: its command bus, emitter (points to InfluxDB) and liveness. */
  collector: Pick<Collector, 'bus' | 'emitter' | 'liveness'>;
  /** `plugins/index.ts`: declared commands by device kind, for devices that are offline. */
  plugins: readonly Plugin[];
  /** InfluxQL for reports (`openInfluxTarget(...).query`). */
  influx?: Pick<InfluxQuery, 'query'>;
  /** The windows and calendar given to the Collector (`liveness.maintenance`); made here if absent. */
  maintenance?: ReturnType<typeof maintenanceCalendar>;
  log: Logger;
  /** Read for the settings below. Default `process.env`. */
  env?: NodeJS.ProcessEnv;
  /** Overrides, e.g. from a future `operations:` configuration section. */
  options?: OperationsOptions;
}

/**
 * Starts durable commands, rollouts, escalation and auto-recovery over serve's inventory and
 * collector; returns the `Operations` to hand to the API (`apiPlugin` option `operations`) and
 * to stop on shutdown (`await operations.stop(deadlineMs)`, before the inventory closes).
 *
 * Environment:
 *   FLEETPULSE_INCIDENT_WEBHOOK_SECRET  shared secret of Grafana's webhook (unset: webhook refuses all)
 *   FLEETPULSE_ESCALATION_CONTACTS      comma-separated webhook URLs, paged in order (unset: no escalation)
 *   FLEETPULSE_ESCALATION_DELAY_S       unacknowledged critical incidents escalate after this long, s (default 900)
 */
export function startOperations(deps: StartOperationsDeps): Operations {
  const env = deps.env ?? process.env;
  const contacts = (env.FLEETPULSE_ESCALATION_CONTACTS ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  for (const c of contacts) {
    let ok = false;
    try {
      ok = ['http:', 'https:'].includes(new URL(c).protocol);
    } catch {}
    if (!ok) throw new Error(`FLEETPULSE_ESCALATION_CONTACTS: '${c}' is not an http(s) URL`);
  }
  const delay = env.FLEETPULSE_ESCALATION_DELAY_S;
  if (delay !== undefined && !(Number(delay) > 0)) throw new Error(`FLEETPULSE_ESCALATION_DELAY_S must be a number of seconds > 0, got '${delay}'`);
  const secret = env.FLEETPULSE_INCIDENT_WEBHOOK_SECRET;
  if (secret === undefined || secret === '') deps.log.warn('FLEETPULSE_INCIDENT_WEBHOOK_SECRET is not set: the incident webhook refuses every notification');
  else if (secret.length < 16) throw new Error('FLEETPULSE_INCIDENT_WEBHOOK_SECRET must be at least 16 characters');
  const operations = new Operations({
    inventory: deps.inventory,
    bus: deps.collector.bus,
    plugins: deps.plugins,
    emit: (point) => deps.collector.emitter.system(point),
    log: deps.log.child({ component: 'operations' }),
    influx: deps.influx,
    maintenance: deps.maintenance,
    state: (id) => deps.collector.liveness.state(id)?.state,
    options: {
      ...(secret ? { webhookSecret: secret } : {}),
      escalation: { contacts, ...(delay !== undefined ? { delayS: Number(delay) } : {}) },
      ...deps.options,
    },
  });
  operations.start();
  return operations;
}
