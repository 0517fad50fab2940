import { createHash } from 'node:crypto';
import { applyDeviceParameters, DEFAULT_DEVICE_PARAMETERS, type DeviceParameters } from './parameters.ts';
import type { Hello, Heartbeat, HostMessage, Result, Status } from './protocol.ts';

/**
 * What a simulated TC-200 is and does, without a line: its firmware, boots, parameters, counters
 * and staged image, the reports it makes (hello, heartbeat, status) and its answer to each host
 * command. No I/O and no timers: `simulated-terminal.ts` runs it on a serial line (one pty per
 * terminal), `simulated-memory-terminal.ts` in memory for simulators that play hundreds behind
 * light agents.
 */
export interface TerminalFaults {
  /** Chance per write that 1–16 random bytes go on the line before it (0–1). Default 0. */
  noise?: number;
  /** Chance that each byte on the line (both directions) is lost (0–1). Default 0. */
  drop_bytes?: number;
  /** Chance per write that one bit of it is flipped, making a bad CRC or a framing error (0–1). Default 0. */
  corrupt?: number;
  /** Write frames in 1–5 byte pieces a few ms apart, so the host reads them split. Default false. */
  split?: boolean;
  /** Chance per status report of a CPU/memory spike (90–100 %). Default 0. */
  spikes?: number;
  /** Report state `error` with this error code (e.g. 0x0105 card reader fault). Default none. */
  error_code?: number;
  /**
   * Firmware update faults: `verify` the image fails its checksum on the device; `apply` the new
   * image does not boot and the terminal rolls back; `interrupt` the terminal loses power when
   * `interrupt_at_pct` of the image has arrived. Default none.
   */
  firmware?: 'verify' | 'apply' | 'interrupt';
  /** Where in the transfer `firmware: 'interrupt'` strikes, % of the image. Default 50. */
  interrupt_at_pct?: number;
}

/** The error codes the simulated terminals report (PROTOCOL.md writes them as 0x0105). */
export const SIMULATED_ERROR_CODES = {
  0x0105: 'card reader fault',
  0x0201: 'printer out of paper',
  0x0302: 'modem has no network',
} as const;

export interface TerminalModelOptions {
  serial: string;
  /** Default `TC-200`. */
  model?: string;
  /** Firmware version it boots with. Default `2.4.1`. */
  firmware?: string;
  faults?: TerminalFaults;
  /** Initial parameters (heartbeat and status intervals etc.). */
  parameters?: Partial<DeviceParameters>;
  /** Transactions on its counter at the start (a terminal that has been in service). Default 0. */
  transactions?: number;
  /** Epoch ms; default Date.now. */
  now?: () => number;
  /** 0 ≤ x < 1; default Math.random. */
  random?: () => number;
}

/**
 * The answer to a host command: the message to send back (none when the terminal loses power
 * on the spot), and whether it then restarts: `after_reply` (reboot, apply), `now` (power lost).
 * `firmware` is the version it comes back on.
 */
export interface Answer {
  reply?: Hello | Result;
  restart?: 'after_reply' | 'now';
  firmware?: string;
}

interface Staging {
  version: string;
  size: number;
  sha256: Buffer;
  parts: Buffer[];
  received: number;
  verified: boolean;
}

export class TerminalModel {
  readonly serial: string;
  readonly model: string;
  /** Faults can be changed while it runs. */
  faults: TerminalFaults;
  private fw: string;
  private bootCount = 0;
  private bootedAt: number;
  private params: DeviceParameters;
  private readonly counters: { transactions: number; failed: number };
  private staging: Staging | undefined;
  private readonly now: () => number;
  private readonly random: () => number;

  constructor(o: TerminalModelOptions) {
    this.serial = o.serial;
    this.model = o.model ?? 'TC-200';
    this.faults = { ...o.faults };
    this.fw = o.firmware ?? '2.4.1';
    this.params = { ...DEFAULT_DEVICE_PARAMETERS, ...o.parameters };
    this.now = o.now ?? Date.now;
    this.random = o.random ?? Math.random;
    this.bootedAt = this.now();
    this.counters = { transactions: o.transactions ?? 0, failed: Math.floor((o.transactions ?? 0) / 50) };
  }

  /** The firmware it runs now. */
  get firmware(): string {
    return this.fw;
  }
  /** Times it has booted (1 after the first boot). */
  get boots(): number {
    return this.bootCount;
  }
  get parameters(): Readonly<DeviceParameters> {
    return this.params;
  }
  /** Whether a firmware image is being received or waits to be applied. */
  get updating(): boolean {
    return this.staging !== undefined;
  }

  /** Powers up (on `firmware` when an update was applied). */
  boot(firmware?: string): void {
    if (firmware) this.fw = firmware;
    this.bootCount++;
    this.bootedAt = this.now();
  }

  /** The staged image lives in RAM: a power cut or reboot loses it, the old firmware stays. */
  powerOff(): void {
    this.staging = undefined;
  }

  uptime(): number {
    return Math.floor((this.now() - this.bootedAt) / 1000);
  }

  hello(): Hello {
    return {
      type: 'hello',
      serial: this.serial,
      model: this.model,
      firmware: this.fw,
      uptime_s: this.uptime(),
      boot_count: this.bootCount,
    };
  }

  heartbeat(): Heartbeat {
    return { type: 'heartbeat', uptime_s: this.uptime() };
  }

  /** The next status report: counters move on, and the faults show. */
  status(): Status {
    const f = this.faults;
    this.counters.transactions += Math.floor(this.random() * 4);
    if (this.chance(0.05)) this.counters.failed++;
    const spike = this.chance(f.spikes);
    return {
      type: 'status',
      state: f.error_code ? 'error' : this.staging ? 'updating' : 'idle',
      error_code: f.error_code ?? 0,
      transactions: this.counters.transactions,
      failed_transactions: this.counters.failed,
      paper: f.error_code === 0x0201 ? 'out' : 'ok',
      temperature_c: Math.round((38 + this.random() * 4) * 10) / 10,
      free_storage_kb: 48_000 - Math.floor((this.staging?.received ?? 0) / 1024),
      cpu_pct: spike ? 90 + Math.floor(this.random() * 11) : 5 + Math.floor(this.random() * 20),
      mem_pct: spike ? 90 + Math.floor(this.random() * 11) : 35 + Math.floor(this.random() * 10),
      disk_pct: 41,
    };
  }

  /** Answers one host command (see Answer). */
  handle(msg: HostMessage): Answer {
    if (msg.type === 'identify') return { reply: this.hello() };
    const result = (code: Result['code'], message = '', values: Record<string, string> = {}): Result => ({
      type: 'result',
      req: msg.req,
      code,
      message,
      values,
    });
    switch (msg.type) {
      case 'reboot':
        return { reply: result('ok'), restart: 'after_reply' };
      case 'set_params': {
        const applied = applyDeviceParameters(this.params, msg.params);
        if (typeof applied === 'string') return { reply: result('rejected', applied) };
        this.params = applied;
        return {
          reply: result('ok', '', Object.fromEntries(Object.entries(this.params).map(([k, v]) => [k, String(v)]))),
        };
      }
      case 'get_diagnostics':
        return {
          reply: result('ok', '', {
            firmware: this.fw,
            uptime_s: String(this.uptime()),
            boots: String(this.bootCount),
            card_reader: this.faults.error_code ? 'fault' : 'ok',
            printer: 'ok',
            modem_rssi_dbm: '-67',
            log: `boot ${this.bootCount} firmware ${this.fw}\nself-test passed`,
          }),
        };
      case 'fw_begin':
        if (msg.size > 16 * 1024 * 1024)
          return { reply: result('rejected', `image of ${msg.size} bytes does not fit`) };
        this.staging = {
          version: msg.version,
          size: msg.size,
          sha256: msg.sha256,
          parts: [],
          received: 0,
          verified: false,
        };
        return { reply: result('ok') };
      case 'fw_chunk': {
        const staging = this.staging;
        if (!staging) return { reply: result('rejected', 'no update in progress') };
        if (msg.offset !== staging.received)
          return {
            reply: result('rejected', `expected offset ${staging.received}`, { next: String(staging.received) }),
          };
        if (staging.received + msg.data.length > staging.size)
          return { reply: result('rejected', 'chunk runs past the announced size') };
        staging.parts.push(msg.data);
        staging.received += msg.data.length;
        const f = this.faults;
        if (f.firmware === 'interrupt' && staging.received * 100 >= staging.size * (f.interrupt_at_pct ?? 50)) {
          return { restart: 'now' }; // power lost mid-transfer: no answer, it comes back on its old firmware
        }
        return { reply: result('ok', '', { next: String(staging.received) }) };
      }
      case 'fw_verify': {
        const staging = this.staging;
        if (!staging || staging.received !== staging.size) return { reply: result('failed', 'image incomplete') };
        const digest = createHash('sha256').update(Buffer.concat(staging.parts)).digest();
        if (this.faults.firmware === 'verify' || !digest.equals(staging.sha256)) {
          this.staging = undefined;
          return { reply: result('failed', 'checksum mismatch') };
        }
        staging.verified = true;
        return { reply: result('ok') };
      }
      case 'fw_apply': {
        if (!this.staging?.verified) return { reply: result('rejected', 'no verified image') };
        const next = this.faults.firmware === 'apply' ? undefined : this.staging.version;
        return { reply: result('ok'), restart: 'after_reply', firmware: next };
      }
      case 'fw_abort':
        this.staging = undefined;
        return { reply: result('ok') };
    }
  }

  private chance(p?: number): boolean {
    return (p ?? 0) > 0 && this.random() < p!;
  }
}
