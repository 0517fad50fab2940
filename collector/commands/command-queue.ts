import { randomUUID } from 'node:crypto';
import type { Database } from 'better-sqlite3';
import PQueue from 'p-queue';
import type { Logger } from 'pino';
import type { AuditInput } from '../inventory/audit.ts';
import { commandOutcome } from '../operations/measurements.ts';
import { DeviceUnreachable, int, type DeviceRecord, type Point } from '../sdk/index.ts';
import { InvalidCommand, type CommandBus, type CommandOutcome } from './command-bus.ts';
import type { CommandCatalogue } from './command-catalogue.ts';
import {
  CommandStore,
  TERMINAL,
  type CommandFilter,
  type CommandRecord,
  type CommandSource,
  type DurableStatus,
} from './command-store.ts';
import { Refusal } from '../errors.ts';

export interface CommandQueueOptions {
  /** The inventory's SQLite database (table `commands`, migration 4). */
  db: Database;
  bus: Pick<CommandBus, 'dispatch' | 'isAttached' | 'commandsFor' | 'validate'>;
  /** Declared commands by device kind, to validate commands for devices that are offline. */
  catalogue: CommandCatalogue;
  lookup(deviceId: string): DeviceRecord | undefined;
  /** `inventory.audit.record`: every state change of every command lands there. */
  audit(entry: AuditInput): void;
  /** Writes a point to InfluxDB (`command_outcome`). */
  emit(point: Point): void;
  log: Logger;
  /** Commands in flight at once, all devices. Default 64. */
  concurrency?: number;
  /** Commands in flight at once through one gateway (a device without one is its own). Default 4. */
  perGateway?: number;
  /** A command not sent within this long expires, s. Default 86,400 (a day). */
  defaultExpiryS?: number;
  /** The longest expiry a caller may ask for, s. Default 30 days. */
  maxExpiryS?: number;
  /** How often queued commands are matched against attached devices, ms. Default 1,000. */
  pollMs?: number;
  now?: () => number;
}

export interface NewCommand {
  device: string;
  name: string;
  params?: Record<string, unknown>;
  /** Default `defaultExpiryS`. */
  expires_in_s?: number;
  /** Overrides the plugin's declared timeout, s. */
  timeout_s?: number;
  source?: CommandSource;
  /** Who asked (API key name), for the audit log. */
  actor?: string | null;
}

export class CommandQueueError extends Refusal {
  override name = 'CommandQueueError';
}

const REQUEUED = 'not sent: the device went offline as the command was being sent; queued again until it is back';

const INTERRUPTED =
  'outcome unknown: fleetpulse stopped after sending this command and before the device answered; it was not sent again (it may have run)';

/**
 * Durable commands over the bus. Each command is a row that moves queued → sent → exactly one
 * terminal state. Commands for offline devices wait (polled every `pollMs`) until the device is
 * attached or the command expires. The row is committed as `sent` before the device sees the
 * command, so a restart never sends a command twice: a `sent` row found at start is ended as
 * `failed` with an "outcome unknown" error (at most once, never at least once: a reboot or a
 * firmware flash run twice does harm; the caller decides whether to create it again).
 */
export class CommandQueue {
  readonly store: CommandStore;
  private readonly o: Required<Omit<CommandQueueOptions, 'now'>> & { now: () => number };
  private readonly overall: PQueue;
  private readonly gateways = new Map<string, PQueue>();
  /** Devices with a command scheduled or in flight: one at a time per device, in creation order. */
  private readonly busy = new Set<string>();
  private readonly inFlight = new Map<string, AbortController>();
  private readonly listeners = new Set<(record: CommandRecord) => void>();
  private timer: NodeJS.Timeout | undefined;
  private stopped = true;

  constructor(options: CommandQueueOptions) {
    this.o = {
      concurrency: 64,
      perGateway: 4,
      defaultExpiryS: 86_400,
      maxExpiryS: 30 * 86_400,
      pollMs: 1000,
      now: Date.now,
      ...Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)),
    } as CommandQueue['o'];
    this.store = new CommandStore(options.db);
    this.overall = new PQueue({ concurrency: this.o.concurrency });
  }

  /** Ends commands a previous process left `sent`, then starts matching queued ones to devices. */
  start(): void {
    for (const id of this.store.idsIn('sent')) {
      const record = this.store.get(id)!;
      this.end(record, 'failed', undefined, INTERRUPTED);
    }
    this.stopped = false;
    this.timer = setInterval(() => this.pump(), this.o.pollMs);
    this.timer.unref();
    this.pump();
  }

  /** Stops sending; waits up to `deadlineMs` for commands in flight (the rest stay `sent`). */
  async stop(deadlineMs = 10_000): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.overall.onIdle(), new Promise((r) => (timer = setTimeout(r, deadlineMs)))]);
    clearTimeout(timer);
  }

  /** Called after every state change with the updated record (rollouts, recovery, incidents). */
  onChange(listener: (record: CommandRecord) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Validates every command first (device known and not retired, command and parameters as the
   * device's plugin declares them), then queues all of them in one transaction, or none.
   */
  create(inputs: readonly NewCommand[]): CommandRecord[] {
    const now = this.o.now();
    const records = inputs.map((input) => this.check(input, now));
    // One transaction for the rows and their audit entries: a selector over 20,000 devices is one commit.
    this.o.db.transaction(() => {
      this.store.insert(records);
      for (const r of records) this.changed(r, r.created_by);
    })();
    if (!this.stopped) setImmediate(() => this.pump());
    return records;
  }

  /** Checks one command without queueing it (dry runs, and `create`). */
  check(input: NewCommand, now = this.o.now()): CommandRecord {
    const device = this.o.lookup(input.device);
    if (!device) throw new CommandQueueError('not_found', `device '${input.device}' does not exist`, 'device');
    if (device.lifecycle === 'retired')
      throw new CommandQueueError('conflict', `device '${input.device}' is retired`, 'device');
    const commands = this.o.bus.commandsFor(input.device) ?? this.o.catalogue.forKind(device.kind);
    let params: Record<string, unknown>;
    try {
      params = this.o.bus.validate(commands, { name: input.name, params: input.params ?? {} }) as typeof params;
    } catch (err) {
      if (!(err instanceof InvalidCommand)) throw err;
      const field = err.field ? `params.${err.field}` : err.message.startsWith('unknown command') ? 'name' : 'params';
      throw new CommandQueueError('invalid', `${input.device}: ${err.message}`, field, { device: input.device });
    }
    const expiresIn = input.expires_in_s ?? this.o.defaultExpiryS;
    if (!(expiresIn > 0 && expiresIn <= this.o.maxExpiryS)) {
      throw new CommandQueueError(
        'invalid',
        `expires_in_s must be more than 0 and at most ${this.o.maxExpiryS}`,
        'expires_in_s',
      );
    }
    return {
      id: randomUUID(),
      device: input.device,
      kind: device.kind,
      name: input.name,
      params,
      status: 'queued',
      source: input.source ?? 'api',
      created_by: input.actor ?? null,
      timeout_s: input.timeout_s ?? null,
      created_at: now,
      expires_at: now + Math.round(expiresIn * 1000),
      sent_at: null,
      ended_at: null,
      result: null,
      error: null,
    };
  }

  get(id: string): CommandRecord | undefined {
    return this.store.get(id);
  }

  list(filter: CommandFilter): { items: CommandRecord[]; more: boolean } {
    return this.store.list(filter);
  }

  /** A queued command is cancelled at once; a sent one is aborted (the bus reports `cancelled`). */
  cancel(id: string, actor: string | null = null): CommandRecord {
    const record = this.store.get(id);
    if (!record) throw new CommandQueueError('not_found', `no command ${id}`);
    if (TERMINAL.includes(record.status)) {
      throw new CommandQueueError('conflict', `command ${id} already ended (${record.status})`, undefined, {
        status: record.status,
      });
    }
    if (record.status === 'queued' && this.end(record, 'cancelled', undefined, 'cancelled before it was sent', actor))
      return this.store.get(id)!;
    const abort = this.inFlight.get(id);
    if (!abort) throw new CommandQueueError('conflict', `command ${id} was sent and is no longer in flight here`);
    abort.abort();
    return this.store.get(id)!;
  }

  /** Commands in flight and scheduled: for tests and /healthz. */
  get pending(): { inFlight: number; scheduled: number } {
    return { inFlight: this.inFlight.size, scheduled: this.busy.size };
  }

  private pump(): void {
    if (this.stopped) return;
    const now = this.o.now();
    for (const row of this.store.queued(10_000)) {
      if (row.expires_at <= now) {
        const record = this.store.get(row.id);
        if (record) this.end(record, 'expired', undefined, 'the device was not reachable before the command expired');
        continue;
      }
      if (this.busy.has(row.device) || !this.o.bus.isAttached(row.device)) continue;
      this.busy.add(row.device);
      const gateway = this.o.lookup(row.device)?.gateway ?? row.device;
      let queue = this.gateways.get(gateway);
      if (!queue) this.gateways.set(gateway, (queue = new PQueue({ concurrency: this.o.perGateway })));
      void queue
        .add(() => this.overall.add(() => this.send(row.id, row.device)))
        .catch((err) => this.o.log.error({ err, command: row.id }, 'command dispatch failed'))
        .finally(() => this.busy.delete(row.device));
    }
    for (const [gateway, queue] of this.gateways)
      if (queue.size === 0 && queue.pending === 0) this.gateways.delete(gateway);
  }

  private async send(id: string, device: string): Promise<void> {
    if (this.stopped) return;
    const record = this.store.get(id);
    if (!record || record.status !== 'queued') return;
    const now = this.o.now();
    if (record.expires_at <= now) {
      this.end(record, 'expired', undefined, 'the device was not reachable before the command expired');
      return;
    }
    if (!this.o.bus.isAttached(device)) return; // went away while waiting for a slot: stays queued
    if (!this.store.claim(id, now)) return;
    const sent = { ...record, status: 'sent' as const, sent_at: now };
    this.changed(sent);
    const abort = new AbortController();
    this.inFlight.set(id, abort);
    let outcome: CommandOutcome;
    try {
      outcome = await this.o.bus.dispatch(device, {
        id,
        name: record.name,
        params: record.params,
        signal: abort.signal,
        ...(record.timeout_s !== null ? { timeout_s: record.timeout_s } : {}),
      });
    } catch (err) {
      if (err instanceof DeviceUnreachable) {
        // Thrown before anything was sent: the device detached between our check and the bus
        // (e.g. a listener of the `sent` change took it off). The `sent` already audited did not
        // happen: say so, and wait for the device again.
        if (this.o.db.open && this.store.requeue(id)) {
          this.changed({ ...record, status: 'queued', sent_at: null }, null, {
            action: 'command.requeued',
            at: this.o.now(),
            error: REQUEUED,
          });
        }
        return;
      }
      const message = err instanceof Error ? err.message : String(err);
      this.end(sent, err instanceof InvalidCommand ? 'rejected' : 'failed', undefined, message);
      return;
    } finally {
      this.inFlight.delete(id);
    }
    this.end(sent, outcome.status, outcome.result, outcome.error ?? null);
  }

  /** → terminal state, audited and emitted; false when the command had already ended. */
  private end(
    record: CommandRecord,
    status: DurableStatus,
    result: unknown,
    error: string | null,
    actor: string | null = null,
  ): boolean {
    const at = this.o.now();
    // An answer arriving after stop() and after the database closed (shutdown) is lost with the
    // process: the row stays `sent` and the next start ends it as "outcome unknown".
    if (!this.o.db.open) return false;
    if (!this.store.finish(record.id, status, at, result, error)) return false;
    this.changed({ ...record, status, ended_at: at, result: result ?? null, error }, actor);
    return true;
  }

  /**
   * Audits a state change and writes its `command_outcome` point. `requeue` marks sent → queued:
   * its own audit action, time (the record's timestamps are those of its creation) and reason.
   */
  private changed(
    record: CommandRecord,
    actor: string | null = null,
    requeue?: { action: string; at: number; error: string },
  ): void {
    const at = requeue?.at ?? record.ended_at ?? record.sent_at ?? record.created_at;
    try {
      this.o.audit({
        at,
        actor: null,
        actor_name: actor ?? 'fleetpulse',
        role: null,
        action: requeue?.action ?? `command.${record.status}`,
        target: record.device,
        method: null,
        path: null,
        status: null,
        result: ['failed', 'rejected', 'expired', 'timed_out'].includes(record.status) ? 'failed' : 'ok',
        // `source` is the caller's address in the audit log; who created the command goes in details.
        source: null,
        details: {
          command: record.id,
          name: record.name,
          source: record.source,
          ...((requeue?.error ?? record.error) ? { error: requeue?.error ?? record.error } : {}),
        },
      });
    } catch (err) {
      this.o.log.error({ err, command: record.id }, 'could not audit a command state change');
    }
    const terminal = TERMINAL.includes(record.status);
    this.o.emit({
      measurement: commandOutcome.name,
      tags: { device: record.device, command: record.name, status: record.status, source: record.source },
      fields: {
        count: int(1),
        latency_ms: terminal && record.sent_at !== null ? at - record.sent_at : undefined,
        wait_ms: record.status === 'queued' ? undefined : (record.sent_at ?? at) - record.created_at,
      },
      time: at,
    });
    for (const listener of this.listeners) {
      try {
        listener(record);
      } catch (err) {
        this.o.log.error({ err, command: record.id }, 'command listener failed');
      }
    }
  }
}
