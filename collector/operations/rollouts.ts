import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { CommandBus } from '../commands/command-bus.ts';
import type { CommandCatalogue } from '../commands/command-catalogue.ts';
import { CommandQueueError, type CommandQueue } from '../commands/command-queue.ts';
import type { Inventory } from '../inventory/index.ts';
import { int, type Point } from '../sdk/index.ts';
import { FirmwareError, firmwareParams, type Firmware, type FirmwareCatalogue } from './firmware-catalogue.ts';
import { rolloutFailure, rolloutProgress } from './measurements.ts';
import {
  RolloutError,
  RolloutStore,
  type Rollout,
  type RolloutDevice,
  type RolloutInput,
  type RolloutProgress,
  type RolloutStatus,
} from './rollout-store.ts';

export { RolloutError, type RolloutInput, type RolloutProgress };

export const FIRMWARE_COMMAND = 'update_firmware';

export interface RolloutsOptions {
  inventory: Inventory;
  queue: CommandQueue;
  bus: Pick<CommandBus, 'isAttached' | 'commandsFor'>;
  catalogue: CommandCatalogue;
  firmware: FirmwareCatalogue;
  emit(point: Point): void;
  log: Logger;
  /** How often rollouts advance, ms. Default 1,000. */
  tickMs?: number;
  /** A device offline at this many turns fails. Default 12. */
  maxOfflineTurns?: number;
  now?: () => number;
}

/**
 * Firmware rollouts in waves, driven by a tick from durable state only: a canary wave, then waves
 * of `wave_size`; each wave waits until its devices report the new version (inventory `firmware`)
 * or fail; a wave whose failure rate passes the threshold halts the rollout. A device offline at
 * its turn is deferred and tried again every `retry_offline_s`. Each device's command id is stored
 * in the same transaction that creates the command, so a restart never sends a device its update
 * twice.
 */
export class Rollouts {
  readonly store: RolloutStore;
  private timer: NodeJS.Timeout | undefined;
  private readonly now: () => number;
  /** Device kind per rollout id, for the `kind` tag of rollout_progress (one model, one kind). */
  private readonly kinds = new Map<string, string | undefined>();

  constructor(private readonly o: RolloutsOptions) {
    this.store = new RolloutStore(o.inventory.db);
    this.now = o.now ?? Date.now;
  }

  start(): void {
    this.timer = setInterval(() => this.tick(), this.o.tickMs ?? 1000);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  create(input: RolloutInput): Rollout {
    let fw: Firmware;
    try {
      fw = this.o.firmware.require(input.firmware_id);
    } catch (err) {
      if (err instanceof FirmwareError) throw new RolloutError('invalid', err.message, 'firmware_id');
      throw err;
    }
    const threshold = input.failure_threshold ?? 0.1;
    if (!(threshold >= 0 && threshold <= 1))
      throw new RolloutError('invalid', 'failure_threshold is a fraction from 0 to 1', 'failure_threshold');
    const waveSize = input.wave_size ?? 50;
    if (!(Number.isInteger(waveSize) && waveSize >= 1))
      throw new RolloutError('invalid', 'wave_size must be a whole number ≥ 1', 'wave_size');
    const devices = this.o.inventory.devices.all({ ...input.selector, model: fw.model, lifecycle: 'active' });
    if (devices.length === 0)
      throw new RolloutError('invalid', `no active device of model ${fw.model} matches the selector`, 'selector');
    const unable = devices.find(
      (d) => !(this.o.bus.commandsFor(d.id) ?? this.o.catalogue.forKind(d.kind))[FIRMWARE_COMMAND],
    );
    if (unable)
      throw new RolloutError(
        'invalid',
        `device ${unable.id} (${unable.kind}) has no ${FIRMWARE_COMMAND} command`,
        'selector',
      );
    const todo = devices.filter((d) => d.firmware !== fw.version);
    const canary = Math.max(
      1,
      Math.min(todo.length, input.canary?.count ?? Math.ceil((todo.length * (input.canary?.percent ?? 0)) / 100)),
    );
    const now = this.now();
    const rollout: Rollout = {
      id: randomUUID(),
      firmware_id: fw.id,
      selector: input.selector,
      status: todo.length === 0 ? 'completed' : 'running',
      wave_size: waveSize,
      wave_interval_s: input.wave_interval_s ?? 0,
      failure_threshold: threshold,
      confirm_timeout_s: input.confirm_timeout_s ?? 1800,
      retry_offline_s: input.retry_offline_s ?? 300,
      current_wave: 0,
      wave_started_at: null,
      halt_reason: null,
      created_by: input.created_by ?? null,
      created_at: now,
      updated_at: now,
      ended_at: todo.length === 0 ? now : null,
    };
    const plan = [
      ...devices
        .filter((d) => d.firmware === fw.version)
        .map((d) => ({ device: d.id, wave: 0, state: 'skipped' as const })),
      ...todo.map((d, i) => ({
        device: d.id,
        wave: i < canary ? 0 : 1 + Math.floor((i - canary) / waveSize),
        state: 'pending' as const,
      })),
    ];
    this.store.insert(rollout, plan);
    if (rollout.status === 'running') this.startWave(rollout, 0, now);
    return this.store.get(rollout.id)!;
  }

  get(id: string): Rollout | undefined {
    return this.store.get(id);
  }

  require(id: string): Rollout {
    const r = this.store.get(id);
    if (!r) throw new RolloutError('not_found', `no rollout ${id}`);
    return r;
  }

  /**
   * Starts no device until resumed. Updates still queued (waiting for a gateway slot) are
   * cancelled and their devices go back to pending, so nothing more is sent while paused; resume
   * queues them again. Updates already sent run their course and are still confirmed.
   */
  pause(id: string): Rollout {
    return this.o.inventory.db.transaction(() => {
      const r = this.transition(id, ['running'], 'paused');
      this.withdrawQueued(r, 'paused', 'not sent: the rollout was paused; it is sent on resume');
      return r;
    })();
  }

  /** Continues a paused rollout, or a halted one with its next wave (someone looked at the failures). */
  resume(id: string): Rollout {
    const r = this.require(id);
    const now = this.now();
    if (r.status === 'halted') {
      this.store.update(id, { status: 'running', halt_reason: null }, now);
      this.advance({ ...r, status: 'running' }, now);
      return this.require(id);
    }
    return this.transition(id, ['paused'], 'running');
  }

  /** Stops for good; commands already sent run their course, queued ones are cancelled (their devices stay pending). */
  abort(id: string): Rollout {
    return this.o.inventory.db.transaction(() => {
      const r = this.transition(id, ['running', 'paused', 'halted'], 'aborted');
      this.withdrawQueued(r, 'aborted', 'not sent: the rollout was aborted');
      return r;
    })();
  }

  /**
   * Cancels the rollout's updates that are still queued and puts their devices back to pending.
   * Callers run it in the transaction that changes the rollout's status: a restart in between
   * would otherwise send a paused rollout's updates, or find a `sent` device whose command was
   * cancelled and fail it.
   */
  private withdrawQueued(r: Rollout, why: 'paused' | 'aborted', error: string): void {
    const now = this.now();
    for (const d of this.store.devices(r.id)) {
      if (d.state !== 'sent' || !d.command_id || this.o.queue.get(d.command_id)?.status !== 'queued') continue;
      try {
        this.o.queue.cancel(d.command_id, `rollout ${r.id} ${why}`);
      } catch (err) {
        if (!(err instanceof CommandQueueError)) throw err;
        continue;
      }
      this.store.setDevice(r.id, d.device, { state: 'pending', next_try_at: null, sent_at: null, error }, now);
    }
  }

  devices(id: string): RolloutDevice[] {
    this.require(id);
    return this.store.devices(id);
  }

  progress(id: string): RolloutProgress {
    const r = this.require(id);
    const c = this.store.counts(id);
    const total = c.pending + c.sent + c.confirming + c.done + c.failed + c.skipped;
    const waves = this.store.lastWave(id) + 1;
    const pending = c.pending + c.sent + c.confirming;
    let eta: string | null = null;
    const finishedWaves = r.current_wave; // waves before the current one are finished
    // Only a running rollout has an end to estimate: paused, halted and aborted ones wait for a person.
    if (pending > 0 && finishedWaves > 0 && r.status === 'running') {
      const perWave = Math.max((this.now() - r.created_at) / finishedWaves, r.wave_interval_s * 1000);
      eta = new Date(this.now() + perWave * (waves - r.current_wave)).toISOString();
    }
    return {
      total,
      done: c.done + c.skipped,
      failed: c.failed,
      pending,
      skipped: c.skipped,
      percent: total === 0 ? 100 : Math.round(((c.done + c.skipped) / total) * 10_000) / 100,
      waves,
      current_wave: r.current_wave,
      estimated_end: eta,
    };
  }

  /** One step of every rollout that is not finished: confirmations, deferred devices, waves. */
  tick(now = this.now()): void {
    for (const r of this.store.active()) {
      try {
        this.step(r, now);
      } catch (err) {
        this.o.log.error({ err, rollout: r.id }, 'rollout step failed');
      }
    }
  }

  private step(r: Rollout, now: number): void {
    const fw = this.o.firmware.require(r.firmware_id);
    let changed = false;
    for (const d of this.store.devices(r.id)) {
      if (d.state === 'sent' || d.state === 'confirming') changed = this.follow(r, fw, d, now) || changed;
      else if (
        d.state === 'pending' &&
        r.status === 'running' &&
        d.wave <= r.current_wave &&
        (d.next_try_at === null || d.next_try_at <= now)
      ) {
        // A deferred device whose retry time came, or one whose wave start was cut short by a restart.
        changed = this.send(r, fw, d, now) || changed;
      }
    }
    if (changed) this.report(r);
    if (r.status !== 'running') return;
    const wave = this.store.devices(r.id, r.current_wave);
    const open = wave.some(
      (d) => d.state === 'sent' || d.state === 'confirming' || (d.state === 'pending' && d.next_try_at === null),
    );
    if (open) return;
    const done = wave.filter((d) => d.state === 'done').length;
    // Devices that failed for being offline say nothing about the firmware.
    const failed = wave.filter((d) => d.state === 'failed' && !d.error?.startsWith('offline at')).length;
    if (done + failed > 0 && failed / (done + failed) > r.failure_threshold) {
      const reason = `wave ${r.current_wave}: ${failed} of ${done + failed} devices failed, more than ${Math.round(r.failure_threshold * 100)} %`;
      this.store.update(r.id, { status: 'halted', halt_reason: reason }, now);
      this.o.log.warn({ rollout: r.id, reason }, 'rollout halted');
      this.report(this.require(r.id));
      return;
    }
    this.advance(r, now);
  }

  /** Starts the next wave when its time has come, or completes the rollout. */
  private advance(r: Rollout, now: number): void {
    const last = this.store.lastWave(r.id);
    if (r.current_wave >= last) {
      const c = this.store.counts(r.id);
      if (c.pending + c.sent + c.confirming === 0) {
        this.store.update(r.id, { status: 'completed', ended_at: now }, now);
        this.report(this.require(r.id));
      }
      return;
    }
    if (r.wave_started_at !== null && now < r.wave_started_at + r.wave_interval_s * 1000) return;
    this.startWave(r, r.current_wave + 1, now);
  }

  private startWave(r: Rollout, wave: number, now: number): void {
    this.store.update(r.id, { current_wave: wave, wave_started_at: now }, now);
    const fw = this.o.firmware.require(r.firmware_id);
    for (const d of this.store.devices(r.id, wave)) if (d.state === 'pending') this.send(r, fw, d, now);
    this.report(this.require(r.id));
  }

  /** The device's turn: queue its update if it is reachable now, else defer it. */
  private send(r: Rollout, fw: Firmware, d: RolloutDevice, now: number): boolean {
    if (!this.o.bus.isAttached(d.device)) {
      const attempts = d.attempts + 1;
      if (attempts >= (this.o.maxOfflineTurns ?? 12)) {
        this.failed(r, fw, d, { attempts, next_try_at: null, error: `offline at ${attempts} turns` }, now);
      } else {
        this.store.setDevice(
          r.id,
          d.device,
          { attempts, next_try_at: now + r.retry_offline_s * 1000, error: 'offline at its turn; will retry' },
          now,
        );
      }
      return true;
    }
    const device = this.o.inventory.directory.lookup(d.device);
    const spec =
      device && (this.o.bus.commandsFor(d.device) ?? this.o.catalogue.forKind(device.kind))[FIRMWARE_COMMAND];
    const params = firmwareParams(spec?.params, fw);
    this.o.inventory.db.transaction(() => {
      try {
        const [command] = this.o.queue.create([
          {
            device: d.device,
            name: FIRMWARE_COMMAND,
            params,
            source: 'rollout',
            actor: `rollout ${r.id}`,
            expires_in_s: Math.max(60, r.retry_offline_s),
          },
        ]);
        this.store.setDevice(
          r.id,
          d.device,
          { state: 'sent', command_id: command.id, sent_at: now, next_try_at: null, error: null },
          now,
        );
      } catch (err) {
        if (!(err instanceof CommandQueueError)) throw err;
        this.failed(r, fw, d, { next_try_at: null, error: err.message }, now);
      }
    })();
    return true;
  }

  /** Follows a sent device: its command's outcome, then the version it reports. */
  private follow(r: Rollout, fw: Firmware, d: RolloutDevice, now: number): boolean {
    if (this.o.inventory.directory.lookup(d.device)?.firmware === fw.version) {
      this.store.setDevice(r.id, d.device, { state: 'done', error: null }, now);
      return true;
    }
    if (d.state === 'sent') {
      const command = d.command_id ? this.o.queue.get(d.command_id) : undefined;
      if (!command || command.status === 'queued' || command.status === 'sent') return false;
      if (command.status === 'succeeded' || command.error?.startsWith('outcome unknown')) {
        // Installed or maybe installed: the device's reported version decides.
        this.store.setDevice(r.id, d.device, { state: 'confirming', sent_at: command.ended_at ?? now }, now);
        return true;
      }
      if (command.status === 'expired') {
        this.store.setDevice(
          r.id,
          d.device,
          {
            state: 'pending',
            attempts: d.attempts + 1,
            next_try_at: now + r.retry_offline_s * 1000,
            error: 'went offline before the update was sent; will retry',
          },
          now,
        );
        return true;
      }
      this.failed(r, fw, d, { error: `${FIRMWARE_COMMAND} ${command.status}: ${command.error ?? ''}`.trim() }, now);
      return true;
    }
    if (now - (d.sent_at ?? now) > r.confirm_timeout_s * 1000) {
      this.failed(r, fw, d, { error: `did not report version ${fw.version} within ${r.confirm_timeout_s} s` }, now);
      return true;
    }
    return false;
  }

  private transition(id: string, from: RolloutStatus[], to: RolloutStatus): Rollout {
    const r = this.require(id);
    if (!from.includes(r.status))
      throw new RolloutError('conflict', `rollout ${id} is ${r.status}; cannot become ${to}`);
    const now = this.now();
    this.store.update(id, { status: to, ...(to === 'aborted' ? { ended_at: now } : {}) }, now);
    const updated = this.require(id);
    this.report(updated);
    return updated;
  }

  /** Marks the device failed and writes its `rollout_failure` point. */
  private failed(
    r: Rollout,
    fw: Firmware,
    d: RolloutDevice,
    set: Partial<RolloutDevice> & { error: string },
    now: number,
  ): void {
    this.store.setDevice(r.id, d.device, { ...set, state: 'failed' }, now);
    this.o.emit({
      measurement: rolloutFailure.name,
      tags: { device: d.device, rollout: r.id, version: fw.version },
      fields: { error: set.error, wave: int(d.wave) },
      time: now,
    });
  }

  private kindOf(id: string): string | undefined {
    if (!this.kinds.has(id)) {
      const device = this.store.anyDevice(id);
      this.kinds.set(id, device === undefined ? undefined : this.o.inventory.devices.get(device)?.kind);
    }
    return this.kinds.get(id);
  }

  private report(r: Rollout): void {
    const fw = this.o.firmware.get(r.firmware_id);
    const p = this.progress(r.id);
    this.o.emit({
      measurement: rolloutProgress.name,
      tags: { rollout: r.id, version: fw?.version, model: fw?.model, kind: this.kindOf(r.id) },
      fields: {
        done: int(p.done),
        failed: int(p.failed),
        pending: int(p.pending),
        percent: p.percent,
        status: r.status,
      },
      time: this.now(),
    });
  }
}
