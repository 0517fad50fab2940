import type { Database } from 'better-sqlite3';
import type { DeviceFilter } from '../inventory/index.ts';
import { Refusal } from '../errors.ts';

export type RolloutStatus = 'running' | 'paused' | 'halted' | 'aborted' | 'completed';
/** pending: not sent (or deferred: `next_try_at` set, the device was offline at its turn). */
export type RolloutDeviceState = 'pending' | 'sent' | 'confirming' | 'done' | 'failed' | 'skipped';

export interface Rollout {
  id: string;
  firmware_id: string;
  selector: DeviceFilter;
  status: RolloutStatus;
  /** Devices per wave after the canary wave (wave 0). */
  wave_size: number;
  /** The least time between the starts of two waves, s. */
  wave_interval_s: number;
  /** A finished wave whose failed / (done + failed) is above this (0-1) halts the rollout. */
  failure_threshold: number;
  /** A device must report the new version within this long after its command succeeded, s. */
  confirm_timeout_s: number;
  /** A device offline at its turn is tried again after this long, s. */
  retry_offline_s: number;
  current_wave: number;
  wave_started_at: number | null;
  halt_reason: string | null;
  created_by: string | null;
  created_at: number;
  updated_at: number;
  ended_at: number | null;
}

export interface RolloutDevice {
  rollout_id: string;
  device: string;
  wave: number;
  state: RolloutDeviceState;
  command_id: string | null;
  /** Turns at which the device was offline. */
  attempts: number;
  next_try_at: number | null;
  sent_at: number | null;
  error: string | null;
  updated_at: number;
}

type RolloutRow = Omit<Rollout, 'selector'> & { selector: string };

/** SQL for `rollouts` and `rollout_devices` (inventory migration 5). */
export class RolloutStore {
  constructor(readonly db: Database) {}

  insert(r: Rollout, devices: ReadonlyArray<Pick<RolloutDevice, 'device' | 'wave' | 'state'>>): void {
    this.db.transaction(() => {
      this.db
        .prepare(
          `INSERT INTO rollouts (id, firmware_id, selector, status, wave_size, wave_interval_s, failure_threshold, confirm_timeout_s,
             retry_offline_s, current_wave, wave_started_at, halt_reason, created_by, created_at, updated_at, ended_at)
           VALUES (@id, @firmware_id, @selector, @status, @wave_size, @wave_interval_s, @failure_threshold, @confirm_timeout_s,
             @retry_offline_s, @current_wave, @wave_started_at, @halt_reason, @created_by, @created_at, @updated_at, @ended_at)`,
        )
        .run({ ...r, selector: JSON.stringify(r.selector) });
      const add = this.db.prepare(
        'INSERT INTO rollout_devices (rollout_id, device, wave, state, updated_at) VALUES (?, ?, ?, ?, ?)',
      );
      for (const d of devices) add.run(r.id, d.device, d.wave, d.state, r.created_at);
    })();
  }

  get(id: string): Rollout | undefined {
    const row = this.db.prepare('SELECT * FROM rollouts WHERE id = ?').get(id) as RolloutRow | undefined;
    return row && { ...row, selector: JSON.parse(row.selector) as DeviceFilter };
  }

  list(): Rollout[] {
    return (this.db.prepare('SELECT * FROM rollouts ORDER BY created_at DESC').all() as RolloutRow[]).map((row) => ({
      ...row,
      selector: JSON.parse(row.selector) as DeviceFilter,
    }));
  }

  /** Rollouts the engine works on: running ones, and paused or halted ones with devices in flight. */
  active(): Rollout[] {
    return this.list().filter((r) => r.status === 'running' || r.status === 'paused' || r.status === 'halted');
  }

  update(id: string, set: Partial<Rollout>, now: number): void {
    const keys = Object.keys(set);
    this.db
      .prepare(`UPDATE rollouts SET ${keys.map((k) => `${k} = @${k}`).join(', ')}, updated_at = @now WHERE id = @id`)
      .run({ ...set, now, id });
  }

  devices(id: string, wave?: number): RolloutDevice[] {
    return (
      wave === undefined
        ? this.db.prepare('SELECT * FROM rollout_devices WHERE rollout_id = ? ORDER BY wave, device').all(id)
        : this.db
            .prepare('SELECT * FROM rollout_devices WHERE rollout_id = ? AND wave = ? ORDER BY device')
            .all(id, wave)
    ) as RolloutDevice[];
  }

  /** One device of the rollout (they are all of the firmware's model), or undefined. */
  anyDevice(id: string): string | undefined {
    return (
      this.db.prepare('SELECT device FROM rollout_devices WHERE rollout_id = ? LIMIT 1').get(id) as
        { device: string } | undefined
    )?.device;
  }

  setDevice(id: string, device: string, set: Partial<RolloutDevice>, now: number): void {
    const keys = Object.keys(set);
    this.db
      .prepare(
        `UPDATE rollout_devices SET ${keys.map((k) => `${k} = @${k}`).join(', ')}, updated_at = @now WHERE rollout_id = @id AND device = @device`,
      )
      .run({ ...set, now, id, device });
  }

  counts(id: string): Record<RolloutDeviceState, number> {
    const out: Record<RolloutDeviceState, number> = {
      pending: 0,
      sent: 0,
      confirming: 0,
      done: 0,
      failed: 0,
      skipped: 0,
    };
    for (const r of this.db
      .prepare('SELECT state, count(*) AS n FROM rollout_devices WHERE rollout_id = ? GROUP BY state')
      .all(id) as Array<{ state: RolloutDeviceState; n: number }>) {
      out[r.state] = r.n;
    }
    return out;
  }

  lastWave(id: string): number {
    return (
      (this.db.prepare('SELECT max(wave) FROM rollout_devices WHERE rollout_id = ?').pluck().get(id) as
        number | null) ?? 0
    );
  }
}

export interface RolloutInput {
  firmware_id: string;
  /** Which devices (the firmware's model is always added). */
  selector: DeviceFilter;
  /** The canary wave: a device count, or a percentage of the devices. Default 1 device. */
  canary?: { count?: number; percent?: number };
  /** Default 50. */
  wave_size?: number;
  /** Default 0 (the next wave starts when the previous one is confirmed). */
  wave_interval_s?: number;
  /** Default 0.1 (more than 10 % failed in a wave halts). */
  failure_threshold?: number;
  /** Default 1,800. */
  confirm_timeout_s?: number;
  /** Default 300. */
  retry_offline_s?: number;
  created_by?: string | null;
}

export interface RolloutProgress {
  total: number;
  done: number;
  failed: number;
  pending: number;
  /** Devices that already ran the version when the rollout was created. */
  skipped: number;
  percent: number;
  waves: number;
  current_wave: number;
  /**
   * ISO; null when nothing is left, no wave finished yet to estimate from, or the rollout is not
   * running (paused, halted, aborted: its end depends on a person).
   */
  estimated_end: string | null;
}

export class RolloutError extends Refusal {
  override name = 'RolloutError';
}
