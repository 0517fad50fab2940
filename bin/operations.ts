import type { Logger } from 'pino';
import type { Static } from 'typebox';
import Value from 'typebox/value';
import type { Inventory } from '../collector/inventory/index.ts';
import {
  checkAddress,
  checkSmtpUrl,
  ContactError,
  escalationPolicy,
  parseContact,
} from '../collector/operations/escalation-contacts.ts';
import { maintenanceCalendar, Operations, type OperationsOptions } from '../collector/operations/operations.ts';
import type { InfluxQuery } from '../collector/pipeline/influx-query.ts';
import type { Collector } from '../collector/runtime/collector.ts';
import type { Plugin } from '../collector/sdk/index.ts';
import { OperationsConfig } from './config.ts';

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
  /** The `operations:` section of serve's configuration. Default: its defaults (no escalation). */
  config?: Static<typeof OperationsConfig>;
  /** Overrides of what the configuration sets (tests, embedding). */
  options?: OperationsOptions;
}

/**
 * Starts durable commands, rollouts, escalation and auto-recovery over serve's inventory and
 * collector; returns the `Operations` to hand to the API (`apiPlugin` option `operations`) and
 * to stop on shutdown (`await operations.stop(deadlineMs)`, before the inventory closes).
 * Settings that do not fit together throw an Error naming the key (serve exits with code 2).
 *
 * Configuration: `operations.escalation.*` (bin/config.ts, docs/configuration.md). Environment:
 *   FLEETPULSE_INCIDENT_WEBHOOK_SECRET  shared secret of Grafana's webhook (unset: webhook refuses all)
 */
export function startOperations(deps: StartOperationsDeps): Operations {
  const env = deps.env ?? process.env;
  // Escalation settings moved into the configuration; a variable left over would silently page nobody.
  for (const [old, key] of [
    ['FLEETPULSE_ESCALATION_CONTACTS', 'contacts'],
    ['FLEETPULSE_ESCALATION_DELAY_S', 'delay_s'],
  ] as const) {
    if (env[old] !== undefined)
      throw new Error(
        `${old} is no longer read: set operations.escalation.${key} (or FLEETPULSE_OPERATIONS__ESCALATION__${key.toUpperCase()})`,
      );
  }
  // A hand-kept list would disagree with the inventory: routing follows the customer's contract.
  if (env.FLEETPULSE_PREMIUM_CUSTOMERS !== undefined) {
    throw new Error(
      "FLEETPULSE_PREMIUM_CUSTOMERS is no longer read: alerts are routed by the customer's contract in the inventory (PATCH /api/v1/customers/:id with contract premium | standard | basic); unset it",
    );
  }
  const config = deps.config ?? (Value.Default(OperationsConfig, {}) as Static<typeof OperationsConfig>);
  const escalation = escalationOptions(config.escalation);
  const secret = env.FLEETPULSE_INCIDENT_WEBHOOK_SECRET;
  if (secret === undefined || secret === '')
    deps.log.warn('FLEETPULSE_INCIDENT_WEBHOOK_SECRET is not set: the incident webhook refuses every notification');
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
    affectedBy: (cause, key) => deps.collector.liveness.affectedBy(cause, key),
    options: {
      ...(secret ? { webhookSecret: secret } : {}),
      escalation,
      firmware: { allowedNetworks: config.firmware.allowed_networks },
      ...deps.options,
    },
  });
  operations.start();
  return operations;
}

type EscalationConfig = Static<typeof OperationsConfig>['escalation'];

/** The escalator's options from `operations.escalation`, checked together; errors name the key. */
export function escalationOptions(c: EscalationConfig): NonNullable<OperationsOptions['escalation']> {
  const key = (k: keyof EscalationConfig) => `operations.escalation.${k}`;
  const contacts = c.contacts.map((contact, i) => {
    try {
      return parseContact(contact);
    } catch (err) {
      if (!(err instanceof ContactError)) throw err;
      throw new Error(`${key('contacts')}[${i}]: ${err.message}`, { cause: err });
    }
  });
  const email = contacts.some((contact) => contact.kind === 'email');
  if (email && !c.smtp_url)
    throw new Error(
      `${key('contacts')}: mailto: contacts need an SMTP server: set ${key('smtp_url')} (FLEETPULSE_OPERATIONS__ESCALATION__SMTP_URL)`,
    );
  if (email && !c.from)
    throw new Error(
      `${key('contacts')}: mailto: contacts need a sender: set ${key('from')} (FLEETPULSE_OPERATIONS__ESCALATION__FROM)`,
    );
  const check = (k: keyof EscalationConfig, f: () => void) => {
    try {
      f();
    } catch (err) {
      if (!(err instanceof ContactError)) throw err;
      throw new Error(`${key(k)}: ${err.message}`, { cause: err });
    }
  };
  // Throws naming operations.escalation.allowed_networks.<i> for an entry that is not a CIDR.
  const policy = escalationPolicy(c.allowed_networks);
  // Literal hosts and refused names now; a name's addresses at each send, as it connects.
  for (const [i, contact] of contacts.entries()) {
    const bad = contact.kind === 'webhook' ? policy.urlRefusal(contact.url) : undefined;
    if (bad) throw new Error(`${key('contacts')}[${i}]: ${bad}`);
  }
  if (c.smtp_url) check('smtp_url', () => checkSmtpUrl(c.smtp_url));
  const smtpBad = c.smtp_url ? policy.literalRefusal(new URL(c.smtp_url).hostname) : undefined;
  if (smtpBad) throw new Error(`${key('smtp_url')}: ${smtpBad}`);
  if (c.from) check('from', () => checkAddress(c.from));
  if (c.public_url && !/^https?:\/\/[^/]/.test(c.public_url))
    throw new Error(`${key('public_url')}: '${c.public_url}' is not an http(s) URL`);
  return {
    contacts: c.contacts,
    delayS: c.delay_s,
    severities: c.severities,
    timeoutMs: c.timeout_ms,
    allowedNetworks: c.allowed_networks,
    ...(c.smtp_url ? { smtp: { url: c.smtp_url, from: c.from } } : {}),
    ...(c.public_url ? { publicUrl: c.public_url } : {}),
  };
}
