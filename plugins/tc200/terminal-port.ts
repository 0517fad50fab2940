import { SerialPort } from 'serialport';
import { DeviceUnreachable, type Attachment, type PluginContext } from '../../collector/sdk/index.ts';
import { ResultTimeout, TerminalRestarted, type HostCommand, type TerminalLine } from './terminal-line.ts';
import type { Tc200Config } from './config.ts';
import { Link, LinkClosed } from './link.ts';
import { watchPresence } from './port-presence.ts';
import { helloReport, statusLiveness, statusReports, type Report } from './reports.ts';
import {
  decodeMessage,
  encodeMessage,
  MessageError,
  MsgType,
  NakReason,
  type Frame,
  type Hello,
  type Result,
} from './protocol.ts';

type Ctx = PluginContext<Tc200Config>;
export { ResultTimeout, TerminalRestarted, type HostCommand } from './terminal-line.ts';

/**
 * One configured serial port and the terminal on it: opens the port, keeps it open (reopening
 * with backoff when the USB cable is pulled and plugged back), runs the link, turns the
 * terminal's reports into points, and carries commands to it. The port object is what the plugin
 * attaches for the terminal's serial number.
 */
export class TerminalPort implements TerminalLine {
  /** The terminal's last hello on the current connection; undefined until it identifies. */
  hello?: Hello;
  private port?: SerialPort;
  private link?: Link;
  private attachment?: Attachment;
  private readonly pending = new Map<number, { resolve(r: Result): void; reject(e: Error): void }>();
  private nextReq = 1;
  private backoffMs: number;
  private reopenTimer?: NodeJS.Timeout;
  private identifyTimer?: NodeJS.Timeout;
  private stopped = false;
  private identifying = false;
  /** The last reports' stamp: reports are stamped in ms when taken, and two taken in one ms would be one point. */
  private lastStamp = -Infinity;
  private stopWatching = () => {};

  constructor(
    private readonly ctx: Ctx,
    readonly path: string,
    private readonly baudRate: number,
    private readonly onHello: (hello: Hello, port: TerminalPort) => void,
  ) {
    this.backoffMs = ctx.config.reconnect_initial_ms;
  }

  start(): void {
    this.open();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.reopenTimer);
    clearTimeout(this.identifyTimer);
    const port = this.port;
    this.closed(port);
    if (port?.isOpen) await new Promise<void>((resolve) => port.close(() => resolve()));
  }

  get serial(): string | undefined {
    return this.hello?.serial;
  }

  /** Sends a command and waits for its RESULT. Link errors (LinkTimeout, LinkClosed, LinkRefused) pass through. */
  async request(
    command: HostCommand,
    signal?: AbortSignal,
    timeoutMs = this.ctx.config.command_timeout_s * 1000,
  ): Promise<Result> {
    const link = this.link;
    if (!link || !this.hello) throw new DeviceUnreachable(this.serial ?? this.path);
    const req = this.nextReq;
    this.nextReq = (req % 0xffff) + 1;
    let timer: NodeJS.Timeout | undefined;
    const onAbort = () => this.pending.get(req)?.reject(new ResultTimeout('command cancelled'));
    const answer = new Promise<Result>((resolve, reject) => this.pending.set(req, { resolve, reject }));
    answer.catch(() => {}); // rejected before we await it when the link fails first
    try {
      const { type, payload } = encodeMessage({ ...command, req });
      signal?.addEventListener('abort', onAbort, { once: true });
      await link.send(type, payload);
      timer = setTimeout(
        () => this.pending.get(req)?.reject(new ResultTimeout(`no result for ${command.type} within ${timeoutMs} ms`)),
        timeoutMs,
      );
      return await answer;
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      this.pending.delete(req);
    }
  }

  private open(): void {
    if (this.stopped) return;
    const port = new SerialPort({ path: this.path, baudRate: this.baudRate, autoOpen: false });
    this.port = port;
    port.on('data', (chunk: Buffer) => {
      if (port === this.port) this.link?.receive(chunk);
    });
    port.on('error', (err) => this.ctx.log.warn({ port: this.path, err: err.message }, 'serial port error'));
    port.on('close', () => this.lost(port, 'serial port closed'));
    port.open((err) => {
      if (port !== this.port) {
        if (!err) port.close(() => {}); // stopped while it was opening
        return;
      }
      if (err) {
        this.ctx.count('port_open_failed');
        this.ctx.log.debug({ port: this.path, err: err.message }, 'cannot open serial port yet');
        this.port = undefined;
        return this.scheduleReopen();
      }
      this.stopWatching = watchPresence(this.path, this.ctx.config.presence_check_ms, (why) => {
        this.lost(port, why);
        port.close(() => {}); // frees the descriptor; its close event is ignored now
      });
      this.link = new Link({
        write: (bytes) => void port.write(bytes),
        deliver: (frame) => this.deliver(frame),
        ack_timeout_ms: this.ctx.config.ack_timeout_ms,
        max_retries: this.ctx.config.max_retries,
      });
      this.identify();
    });
  }

  /** The terminal is gone from this port (closed, unplugged): clean up and try again later. */
  private lost(port: SerialPort, why: string): void {
    if (port !== this.port) return; // reported twice (close event and presence check): act once
    this.ctx.count('port_closed');
    this.ctx.log.warn({ port: this.path, terminal: this.serial, why }, 'terminal disconnected (unplugged?); reopening');
    this.closed(port);
    this.scheduleReopen();
  }

  /** The port went away (or we are stopping): drop the link, fail what waits, mark the terminal offline. */
  private closed(port: SerialPort | undefined): void {
    if (port !== this.port) return;
    this.port = undefined;
    this.stopWatching();
    this.link?.close();
    this.link = undefined;
    clearTimeout(this.identifyTimer);
    for (const waiting of this.pending.values()) waiting.reject(new LinkClosed(`serial port ${this.path} closed`));
    const serial = this.serial;
    this.hello = undefined;
    if (serial) {
      this.attachment?.detach();
      this.attachment = undefined;
      if (!this.ctx.connection(serial)) this.ctx.offline(serial);
    }
  }

  private scheduleReopen(): void {
    if (this.stopped) return;
    const jitter = 0.8 + Math.random() * 0.4;
    const delay = Math.round(this.backoffMs * jitter);
    this.backoffMs = Math.min(this.backoffMs * 2, this.ctx.config.reconnect_max_ms);
    clearTimeout(this.reopenTimer);
    this.reopenTimer = setTimeout(() => this.open(), delay);
  }

  /** Asks the terminal who it is, and asks again while it stays silent (it may be booting). */
  private identify(): void {
    const link = this.link;
    if (!link || this.hello || this.stopped) return;
    // One IDENTIFY at a time: on a dead line each takes every retry to fail, and they must not pile up.
    if (!this.identifying) {
      this.identifying = true;
      link
        .send(MsgType.IDENTIFY, Buffer.alloc(0))
        .catch(() => {})
        .finally(() => (this.identifying = false));
    }
    clearTimeout(this.identifyTimer);
    this.identifyTimer = setTimeout(() => this.identify(), this.ctx.config.identify_interval_s * 1000);
  }

  private deliver(frame: Frame): number {
    let msg;
    try {
      msg = decodeMessage(frame.type, frame.payload);
    } catch (err) {
      if (!(err instanceof MessageError)) throw err;
      this.ctx.count('malformed_message');
      this.ctx.log.warn(
        { port: this.path, terminal: this.serial, err: err.message },
        'malformed message from terminal',
      );
      return err.reason;
    }
    const now = this.ctx.clock.now();
    switch (msg.type) {
      case 'hello':
        this.identified(msg, now);
        return 0;
      case 'heartbeat':
        if (this.hello) this.ctx.seen(this.hello.serial);
        else this.identify();
        return 0;
      case 'status': {
        if (!this.hello) {
          this.ctx.count('status_before_hello');
          this.identify();
          return 0;
        }
        const device = this.hello.serial;
        const d = this.link!.decoder.stats;
        const l = this.link!.stats;
        this.write(
          statusReports(msg, device, this.path, {
            frames: d.frames,
            bad_crc: d.bad_crc,
            framing_errors: d.framing_errors,
            discarded_bytes: d.discarded_bytes,
            retransmissions: l.retransmissions,
            timeouts: l.timeouts,
            duplicates: l.duplicates,
            naks: l.naks_sent,
          }),
          now,
        );
        this.ctx.seen(device, statusLiveness(msg));
        return 0;
      }
      case 'result': {
        const waiting = this.pending.get(msg.req);
        if (waiting) waiting.resolve(msg);
        else this.ctx.count('late_result');
        return 0;
      }
      default:
        // A host message coming from the terminal side: a wiring loop or a confused device.
        this.ctx.count('unexpected_message');
        return NakReason.UNKNOWN_TYPE;
    }
  }

  private identified(hello: Hello, now: number): void {
    const known = this.hello;
    const sameBoot = known?.serial === hello.serial && known.boot_count === hello.boot_count;
    this.hello = hello;
    clearTimeout(this.identifyTimer);
    if (sameBoot) {
      // The same boot saying hello again (an answer to IDENTIFY, or a resent SEQ 0 frame): just alive.
      this.ctx.seen(hello.serial);
      return;
    }
    if (known) {
      // The terminal restarted (or another one is on this port): what it was doing for us is lost.
      for (const waiting of this.pending.values())
        waiting.reject(new TerminalRestarted(`terminal ${known.serial} restarted before answering`));
      if (known.serial !== hello.serial) {
        this.attachment?.detach();
        if (!this.ctx.connection(known.serial)) this.ctx.offline(known.serial);
      }
    }
    this.backoffMs = this.ctx.config.reconnect_initial_ms;
    this.attachment = this.ctx.attach(hello.serial, this);
    this.ctx.seen(hello.serial, { kind: 'terminal', model: hello.model, firmware: hello.firmware, state: 'online' });
    this.write([helloReport(hello, this.path)], now);
    this.onHello(hello, this);
  }

  private write(reports: Report[], now: number): void {
    const time = Math.max(now, this.lastStamp + 1);
    this.lastStamp = time;
    for (const r of reports) this.ctx.emit(r.measurement.name, r.fields, r.tags, time);
  }
}
