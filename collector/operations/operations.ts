import type { Logger } from 'pino';
import type { CommandBus } from '../commands/command-bus.ts';
import { CommandCatalogue } from '../commands/command-catalogue.ts';
import { CommandQueue, type CommandQueueOptions } from '../commands/command-queue.ts';
import type { Inventory } from '../inventory/index.ts';
import type { InfluxQuery } from '../pipeline/influx-query.ts';
import { OutboundPolicy, type DeviceState, type Plugin, type Point, type RecoveryRule } from '../sdk/index.ts';
import { AutoRecovery } from './auto-recovery.ts';
import { Escalator, type EscalationOptions } from './escalation.ts';
import { FirmwareCatalogue } from './firmware-catalogue.ts';
import { Incidents, type AffectedBy } from './incidents.ts';
import { WindowCalendar } from './maintenance-calendar.ts';
import { MaintenanceWindows } from './maintenance-windows.ts';
import { Rollouts, type RolloutsOptions } from './rollouts.ts';
import { SessionScheduler } from './sessions/session-scheduler.ts';
import { StoredUptime, type StoredUptimeOptions } from './stored-uptime.ts';

export interface OperationsOptions {
  commands?: Pick<CommandQueueOptions, 'concurrency' | 'perGateway' | 'defaultExpiryS' | 'maxExpiryS' | 'pollMs'>;
  escalation?: Pick<
    EscalationOptions,
    'contacts' | 'delayS' | 'severities' | 'smtp' | 'publicUrl' | 'checkEveryMs' | 'timeoutMs' | 'allowedNetworks'
  >;
  /** Shared secret Grafana sends as `Authorization: Bearer <secret>`. Without it the webhook refuses everything. */
  webhookSecret?: string;
  /** SLA targets by contract, %. Default basic 99.0, standard 99.5, premium 99.9. */
  slaTargets?: Record<string, number>;
  rollouts?: Pick<RolloutsOptions, 'tickMs' | 'maxOfflineTurns'>;
  /** How often the open month's stored uptime sums are renewed, and when a month is final (stored-uptime.ts). */
  reports?: Pick<StoredUptimeOptions, 'refreshMinutes' | 'settleHours'>;
  /** Private networks firmware image URLs may point into (CIDRs). Default none. */
  firmware?: { allowedNetworks?: readonly string[] };
  /**
   * Auto-recovery rules (default: the plugins' `recovery`; [] turns it off) and check interval, ms (default 30,000).
   */
  recovery?: { rules?: readonly RecoveryRule[]; checkEveryMs?: number };
}

export interface OperationsDeps {
  inventory: Inventory;
  bus: CommandBus;
  /** The plugin list: declared commands by device kind (for devices that are offline) and recovery rules. */
  plugins: readonly Pick<Plugin, 'kinds' | 'commands' | 'recovery'>[];
  /** Writes a point to InfluxDB (the collector's `emitter.system`). */
  emit: (point: Point) => void;
  log: Logger;
  /** For reports; without it reports answer 503-style errors. */
  influx?: Pick<InfluxQuery, 'query'>;
  /** The calendar the Collector's liveness was given (`maintenanceCalendar(inventory)`). */
  maintenance?: { windows: MaintenanceWindows; calendar: WindowCalendar };
  options?: OperationsOptions;
  /** A device's liveness state now (`collector.liveness.state(id)?.state`); without it auto-recovery is off. */
  state?: (deviceId: string) => DeviceState | undefined;
  /** The devices down because of a cause now (`collector.liveness.affectedBy`); without it incidents list none. */
  affectedBy?: AffectedBy;
  now?: () => number;
}

/** The windows and the liveness calendar over them: create before the Collector, which takes the calendar. */
export function maintenanceCalendar(inventory: Inventory): { windows: MaintenanceWindows; calendar: WindowCalendar } {
  const windows = new MaintenanceWindows(inventory.db);
  return { windows, calendar: new WindowCalendar(inventory.db, windows) };
}

/**
 * Everything operations teams use, over one inventory and one command bus: durable commands,
 * maintenance windows, incidents with escalation, firmware rollouts, timed sessions and reports.
 * `start()` resumes durable work.
 */
export class Operations {
  readonly commands: CommandQueue;
  readonly windows: MaintenanceWindows;
  readonly calendar: WindowCalendar;
  readonly incidents: Incidents;
  readonly escalator: Escalator;
  readonly recovery: AutoRecovery | undefined;
  readonly catalogue: CommandCatalogue;
  readonly firmware: FirmwareCatalogue;
  readonly rollouts: Rollouts;
  readonly sessions: SessionScheduler;
  /** The uptime reports' stored sums; only with InfluxDB to sum them from. */
  readonly uptime: StoredUptime | undefined;

  constructor(readonly deps: OperationsDeps) {
    const { inventory, log } = deps;
    const now = deps.now ?? Date.now;
    this.catalogue = new CommandCatalogue(deps.plugins);
    this.commands = new CommandQueue({
      db: inventory.db,
      bus: deps.bus,
      catalogue: this.catalogue,
      lookup: (id) => inventory.directory.lookup(id),
      audit: (entry) => inventory.audit.record(entry),
      emit: deps.emit,
      log: log.child({ component: 'commands' }),
      now,
      ...deps.options?.commands,
    });
    const maintenance = deps.maintenance ?? maintenanceCalendar(inventory);
    this.windows = maintenance.windows;
    this.calendar = maintenance.calendar;
    this.firmware = new FirmwareCatalogue(
      inventory.db,
      now,
      new OutboundPolicy({
        setting: 'operations.firmware.allowed_networks',
        allowedNetworks: deps.options?.firmware?.allowedNetworks ?? [],
      }),
    );
    this.rollouts = new Rollouts({
      inventory,
      queue: this.commands,
      bus: deps.bus,
      catalogue: this.catalogue,
      firmware: this.firmware,
      emit: deps.emit,
      log: log.child({ component: 'rollouts' }),
      now,
      ...deps.options?.rollouts,
    });
    this.incidents = new Incidents(inventory.db, (id) => inventory.directory.lookup(id), now, deps.affectedBy);
    this.escalator = new Escalator({
      db: inventory.db,
      incidents: this.incidents,
      contacts: [],
      log: log.child({ component: 'escalation' }),
      now,
      ...deps.options?.escalation,
    });
    this.sessions = new SessionScheduler({
      db: inventory.db,
      dispatch: (device, request) => deps.bus.dispatch(device, request),
      emit: (measurement, fields, tags = {}, time) => deps.emit({ measurement, fields, tags, time }),
      lookup: (id) => inventory.directory.lookup(id),
      log: log.child({ component: 'sessions' }),
      clock: { now },
      // A station that is back gets the session changes it missed at once.
      onAttach: (listener) => deps.bus.onAttach(listener),
      maintenance: this.calendar,
    });
    this.recovery = Operations.recoveryFor(this, deps, now);
    this.uptime =
      deps.influx &&
      new StoredUptime({
        db: inventory.db,
        influx: deps.influx,
        log: log.child({ component: 'reports' }),
        now,
        ...deps.options?.reports,
      });
  }

  /** Builds auto-recovery when the deps can say a device's state. */
  private static recoveryFor(self: Operations, deps: OperationsDeps, now: () => number): AutoRecovery | undefined {
    const rules = deps.options?.recovery?.rules ?? deps.plugins.flatMap((p) => p.recovery ?? []);
    if (!deps.state || rules.length === 0) return undefined;
    return new AutoRecovery({
      db: deps.inventory.db,
      queue: self.commands,
      incidents: self.incidents,
      audit: (entry) => deps.inventory.audit.record(entry),
      devices: () => deps.inventory.directory.all(),
      state: deps.state,
      rules,
      checkEveryMs: deps.options?.recovery?.checkEveryMs,
      log: deps.log.child({ component: 'recovery' }),
      now,
    });
  }

  get inventory(): Inventory {
    return this.deps.inventory;
  }

  get influx(): Pick<InfluxQuery, 'query'> | undefined {
    return this.deps.influx;
  }

  get webhookSecret(): string | undefined {
    return this.deps.options?.webhookSecret || undefined;
  }

  start(): void {
    this.commands.start();
    this.rollouts.start();
    this.escalator.start();
    this.recovery?.start();
    this.sessions.start();
    this.uptime?.start();
  }

  async stop(deadlineMs = 10_000): Promise<void> {
    this.sessions.stop();
    this.uptime?.stop();
    this.escalator.stop();
    this.rollouts.stop();
    this.recovery?.stop();
    await this.commands.stop(deadlineMs);
  }
}
