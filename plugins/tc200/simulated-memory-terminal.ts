import type { SeenAttributes } from '../../collector/sdk/index.ts';
import type { BootWatch } from './commands.ts';
import { TerminalRestarted, type HostCommand, type TerminalLine } from './terminal-line.ts';
import { LinkClosed } from './link.ts';
import type { Hello, Result } from './protocol.ts';
import { helloReport, statusLiveness, statusReports, type LinkCounters, type Report } from './reports.ts';
import { TerminalModel, type TerminalModelOptions } from './terminal-model.ts';

export interface MemoryTerminalOptions extends TerminalModelOptions {
  /** The serial port an agent would read it on: the `port` tag. */
  port: string;
  /** Takes the points the plugin writes for it, stamped `time` (epoch ms). */
  write(report: Report, time: number): void;
  /** Told the liveness each status means (as the plugin's `ctx.seen`). */
  seen?(attrs: SeenAttributes): void;
  /** Told every hello (BootWatch of the commands), so an update can wait for the new version. */
  boots?: BootWatch;
  /** How long a reboot keeps it away, ms. Default 300. */
  reboot_ms?: number;
}

/** Bytes of a typical frame on the line, to turn per-byte loss into lost frames. */
const FRAME_BYTES = 40;

/**
 * A simulated TC-200 without a serial line, for simulators that play hundreds behind light
 * agents (no pty each): the device model of terminal-model.ts, reached the way the plugin reaches
 * a terminal (a TerminalLine, so the plugin's own command runner drives it), writing the points
 * the plugin writes for it (reports.ts). The line's faults show in `terminal_link` as the plugin
 * would count them: noise as discarded bytes, corrupted or cut frames from the terminal as bad
 * CRCs or framing errors (the terminal resends them), commands lost on the way as the agent's
 * retransmissions.
 */
export class MemoryTerminal implements TerminalLine {
  readonly model: TerminalModel;
  hello?: Hello;
  private readonly link: LinkCounters = {
    frames: 0,
    bad_crc: 0,
    framing_errors: 0,
    discarded_bytes: 0,
    retransmissions: 0,
    timeouts: 0,
    duplicates: 0,
    naks: 0,
  };
  private lastReport: number;
  private nextReq = 1;
  private restarting: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(private readonly o: MemoryTerminalOptions) {
    this.model = new TerminalModel(o);
    this.lastReport = this.now();
  }

  get serial(): string {
    return this.model.serial;
  }

  /** Powers it up: it says hello (terminal_info). */
  start(): void {
    this.boot();
  }

  /** A status report now (terminal_status, terminal_link), with the heartbeats since the last one on the link. */
  report(): void {
    if (!this.hello) return;
    const now = this.now();
    const heartbeats = Math.floor((now - this.lastReport) / 1000 / this.model.parameters.heartbeat_interval_s);
    this.lastReport = now;
    for (let i = 0; i < heartbeats; i++) this.frame();
    const status = this.model.status();
    this.frame();
    for (const r of statusReports(status, this.serial, this.o.port, { ...this.link })) this.o.write(r, now);
    this.o.seen?.(statusLiveness(status));
  }

  async request(command: HostCommand): Promise<Result> {
    if (!this.hello) throw new LinkClosed(`terminal ${this.serial} is not answering (rebooting)`);
    const req = this.nextReq;
    this.nextReq = (req % 0xffff) + 1;
    // Lost bytes hit the agent's command frames too: it resends them.
    if (this.chance(1 - (1 - (this.model.faults.drop_bytes ?? 0)) ** FRAME_BYTES)) this.link.retransmissions++;
    const answer = this.model.handle({ ...command, req });
    if (answer.restart === 'now') {
      this.restart(answer.firmware, 0);
      throw new TerminalRestarted(`terminal ${this.serial} restarted before answering`);
    }
    this.frame();
    if (answer.restart === 'after_reply') this.restart(answer.firmware, 50);
    return answer.reply as Result;
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.restarting);
  }

  private boot(firmware?: string): void {
    if (this.stopped) return;
    this.model.boot(firmware);
    this.hello = this.model.hello();
    this.frame();
    this.o.write(helloReport(this.hello, this.o.port), this.now());
    this.o.boots?.heard(this.hello);
  }

  /** Powers off now or in `afterMs`, and boots again `reboot_ms` later. */
  private restart(firmware: string | undefined, afterMs: number): void {
    clearTimeout(this.restarting);
    this.restarting = setTimeout(() => {
      this.hello = undefined;
      this.model.powerOff();
      this.restarting = setTimeout(() => this.boot(firmware), this.o.reboot_ms ?? 300);
    }, afterMs);
  }

  /** One frame from the terminal reaches the host, through the faults of the line. */
  private frame(): void {
    const f = this.model.faults;
    if (this.chance(f.noise)) this.link.discarded_bytes += 1 + Math.floor(Math.random() * 16);
    if (this.chance(1 - (1 - (f.drop_bytes ?? 0)) ** FRAME_BYTES)) {
      this.link.framing_errors++;
      this.link.discarded_bytes += FRAME_BYTES / 2;
    } else if (this.chance(f.corrupt)) {
      this.link.bad_crc++;
      this.link.discarded_bytes += FRAME_BYTES;
    }
    this.link.frames++;
  }

  private chance(p: number | undefined): boolean {
    return (p ?? 0) > 0 && Math.random() < p!;
  }

  private now(): number {
    return this.o.now?.() ?? Date.now();
  }
}
