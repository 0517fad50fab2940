import type { Database } from 'better-sqlite3';
import type { Logger } from 'pino';
import { CommandQueueError, type CommandQueue } from '../commands/command-queue.ts';
import type { AuditInput } from '../inventory/audit.ts';
import type { DeviceRecord, DeviceState, RecoveryRule } from '../sdk/index.ts';
import type { Incidents } from './incidents.ts';

export interface AutoRecoveryOptions {
  db: Database;
  queue: CommandQueue;
  incidents: Incidents;
  /** `inventory.audit.record`: every attempt, sent or not, lands there (`recovery.attempt`). */
  audit(entry: AuditInput): void;
  /** Every device to watch (the directory's active devices). */
  devices(): Iterable<DeviceRecord>;
  /** A device's liveness state now (`collector.liveness.state(id)?.state`). */
  state(deviceId: string): DeviceState | undefined;
  /** The plugins' declared rules (`PluginDefinition.recovery`). */
  rules: readonly RecoveryRule[];
  /** How often conditions are checked, ms. Default 30,000. */
  checkEveryMs?: number;
  log: Logger;
  now?: () => number;
}

const DAY = 86_400_000;

/**
 * Runs a command when a device condition holds for a while, capped per device and day. How long
 * a state has held is observed by this process (after a restart the clock starts again: a
 * recovery never fires early). Each attempt is a row in `recovery_attempts`, an audit entry
 * (`recovery.attempt`, failed when nothing could be sent), a note on the device's open incident,
 * and when it could be sent a durable command (source `recovery`, audited by the queue too).
 */
export class AutoRecovery {
  private readonly since = new Map<string, { state: DeviceState; at: number }>();
  private timer: NodeJS.Timeout | undefined;
  private readonly now: () => number;

  constructor(private readonly o: AutoRecoveryOptions) {
    this.now = o.now ?? Date.now;
  }

  start(): void {
    this.timer = setInterval(() => this.check(), this.o.checkEveryMs ?? 30_000);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** One pass over every device; returns the commands created. */
  check(now = this.now()): string[] {
    const created: string[] = [];
    for (const device of this.o.devices()) {
      const state = this.o.state(device.id);
      if (state === undefined) continue;
      const seen = this.since.get(device.id);
      if (!seen || seen.state !== state) this.since.set(device.id, { state, at: now });
      const held = now - this.since.get(device.id)!.at;
      for (const rule of this.o.rules) {
        if (!rule.kinds.includes(device.kind) || rule.state !== state || held < rule.for_s * 1000) continue;
        const id = this.attempt(rule, device, now);
        if (id) created.push(id);
      }
    }
    return created;
  }

  private attempt(rule: RecoveryRule, device: DeviceRecord, now: number): string | undefined {
    const done = this.o.db
      .prepare('SELECT count(*) FROM recovery_attempts WHERE device = ? AND at > ?')
      .pluck()
      .get(device.id, now - DAY) as number;
    if (done >= (rule.max_per_day ?? 3)) return undefined;
    // The condition must hold for another full period before the next attempt.
    this.since.set(device.id, { state: rule.state, at: now });
    const target = rule.via_label ? device.labels?.[rule.via_label] : device.id;
    const incident = this.o.incidents.openFor(device.id);
    let commandId: string | null = null;
    let error: string | undefined;
    if (!target) {
      error = `no label '${rule.via_label}' names the device to send ${rule.command} to`;
    } else {
      try {
        const [c] = this.o.queue.create([
          {
            device: target,
            name: rule.command,
            params: rule.params ?? {},
            source: 'recovery',
            actor: `recovery ${rule.name}`,
            expires_in_s: rule.for_s,
          },
        ]);
        commandId = c.id;
      } catch (err) {
        if (!(err instanceof CommandQueueError)) throw err;
        error = err.message;
      }
    }
    this.o.db
      .prepare('INSERT INTO recovery_attempts (rule, device, at, command_id) VALUES (?, ?, ?, ?)')
      .run(rule.name, device.id, now, commandId);
    const text = error
      ? `auto-recovery ${rule.name} could not run: ${error}`
      : `auto-recovery ${rule.name}: ${rule.command} sent to ${target} (command ${commandId})`;
    if (incident)
      this.o.incidents.note(incident.id, 'fleetpulse', 'recovery', text, {
        rule: rule.name,
        command: commandId,
        target: target ?? null,
      });
    try {
      this.o.audit({
        at: now,
        actor: null,
        actor_name: `recovery ${rule.name}`,
        role: null,
        action: 'recovery.attempt',
        target: device.id,
        method: null,
        path: null,
        status: null,
        result: error ? 'failed' : 'ok',
        source: 'recovery',
        details: {
          rule: rule.name,
          command: rule.command,
          sent_to: target ?? null,
          command_id: commandId,
          ...(error ? { error } : {}),
          ...(incident ? { incident: incident.id } : {}),
        },
      });
    } catch (err) {
      this.o.log.error({ err, device: device.id, rule: rule.name }, 'could not audit a recovery attempt');
    }
    if (error) this.o.log.warn({ device: device.id, rule: rule.name, err: error }, 'auto-recovery could not run');
    return commandId ?? undefined;
  }
}
