import { randomBytes } from 'node:crypto';
import { SerialPort } from 'serialport';
import { Link } from './link.ts';
import { watchPresence } from './port-presence.ts';
import { decodeMessage, encodeMessage, MessageError, type DeviceMessage, type HostMessage } from './protocol.ts';
import type { DeviceParameters } from './parameters.ts';
import { TerminalModel, type TerminalFaults } from './terminal-model.ts';

export type { TerminalFaults } from './terminal-model.ts';

/**
 * A simulated TC-200 on one end of a pty pair: the device model (terminal-model.ts) on a real
 * serial line. It sends hello on boot, heartbeats and status on its own timers, answers every
 * command, and can misbehave on purpose (see TerminalFaults) so the plugin's recovery paths run
 * against real bytes.
 */
export interface TerminalOptions {
  /** The pty (or serial device) the terminal talks on. */
  path: string;
  serial: string;
  model?: string;
  /** Firmware version it boots with. Default `2.4.1`. */
  firmware?: string;
  faults?: TerminalFaults;
  /** Line speed; a pty ignores it. Default 115200. */
  baud_rate?: number;
  /** How long a reboot keeps the terminal silent, ms. Default 300. */
  reboot_ms?: number;
  /** ACK timeout of the terminal's side of the link, ms. Default 300. */
  ack_timeout_ms?: number;
  /** Initial parameters (heartbeat and status intervals etc.). */
  parameters?: Partial<DeviceParameters>;
}

export interface SimulatedTerminal {
  readonly serial: string;
  /** The firmware it runs now. */
  readonly firmware: string;
  /** Times it has booted (1 after start). */
  readonly boots: number;
  readonly parameters: Readonly<DeviceParameters>;
  /** Faults can be changed while it runs. */
  faults: TerminalFaults;
  /** Status reports the host has acknowledged (each one it has turned into points). */
  readonly statusReports: number;
  /** Sends a status report now; resolves when the host has acknowledged it (a burst of reports for tests). */
  sendStatus(): Promise<void>;
  /**
   * Loses power and boots again after `reboot_ms`, on the same firmware; resolves when the host
   * has acknowledged the hello of the new boot.
   */
  powerCycle(): Promise<void>;
  /** Stops the timers and closes the port. */
  stop(): Promise<void>;
}

export function startTerminal(options: TerminalOptions): SimulatedTerminal {
  const rebootMs = options.reboot_ms ?? 300;
  const model = new TerminalModel({
    serial: options.serial,
    model: options.model,
    firmware: options.firmware,
    faults: options.faults,
    parameters: options.parameters,
  });
  let port: SerialPort | undefined;
  let link: Link | undefined;
  let powered = false;
  let stopped = false;
  let timers: NodeJS.Timeout[] = [];
  let writeChain = Promise.resolve();
  let helloSent: Promise<void> = Promise.resolve();
  let statusReports = 0;

  const terminal: SimulatedTerminal = {
    serial: options.serial,
    get firmware() {
      return model.firmware;
    },
    get boots() {
      return model.boots;
    },
    get parameters() {
      return model.parameters;
    },
    get statusReports() {
      return statusReports;
    },
    get faults() {
      return model.faults;
    },
    set faults(f) {
      model.faults = f;
    },
    sendStatus: () => report(),
    async powerCycle() {
      const boots = model.boots;
      reboot();
      while (model.boots === boots && !stopped) await new Promise((r) => setTimeout(r, 20));
      await helloSent;
    },
    async stop() {
      stopped = true;
      clearTimeout(reopenTimer);
      stopWatching();
      powerOff();
      await new Promise<void>((resolve) => (port?.isOpen ? port.close(() => resolve()) : resolve()));
    },
  };
  const chance = (p?: number) => (p ?? 0) > 0 && Math.random() < p!;

  /** The line between terminal and host: loses, corrupts and adds bytes as the faults say. */
  function mangle(bytes: Buffer, outbound: boolean): Buffer {
    const f = model.faults;
    let out = bytes;
    if (f.drop_bytes) out = Buffer.from([...out].filter(() => !chance(f.drop_bytes)));
    if (outbound && chance(f.corrupt) && out.length > 2) {
      out = Buffer.from(out);
      out[1 + Math.floor(Math.random() * (out.length - 2))] ^= 1 << Math.floor(Math.random() * 8);
    }
    if (outbound && chance(f.noise)) out = Buffer.concat([randomBytes(1 + Math.floor(Math.random() * 16)), out]);
    return out;
  }

  function write(bytes: Buffer) {
    const p = port;
    if (!p?.isOpen || !powered) return;
    const line = mangle(bytes, true);
    if (!model.faults.split) return void p.write(line);
    writeChain = writeChain.then(async () => {
      for (let i = 0; i < line.length;) {
        const n = 1 + Math.floor(Math.random() * 5);
        if (p.isOpen) p.write(line.subarray(i, i + n));
        i += n;
        await new Promise((r) => setTimeout(r, 2));
      }
    });
  }

  /** Sends a message; resolves when the host acknowledged it, rejects when it never will. */
  function transmit(msg: DeviceMessage): Promise<void> {
    const { type, payload } = encodeMessage(msg);
    return link ? link.send(type, payload) : Promise.reject(new Error(`terminal ${options.serial} is not powered`));
  }

  /** Sends a status; resolves when the host acknowledged it. */
  function report(): Promise<void> {
    return transmit(model.status()).then(() => void statusReports++);
  }

  /** Sends a message, and never mind if the host is gone: the next boot says hello again. */
  function send(msg: DeviceMessage): Promise<void> {
    return transmit(msg).catch(() => {});
  }

  function boot(firmware?: string) {
    if (stopped) return;
    model.boot(firmware);
    powered = true;
    link = new Link({ write, deliver, ack_timeout_ms: options.ack_timeout_ms });
    helloSent = transmit(model.hello());
    helloSent.catch(() => {});
    report().catch(() => {});
    startTimers();
  }

  function powerOff() {
    powered = false;
    for (const t of timers) clearInterval(t);
    timers = [];
    link?.close();
    link = undefined;
    model.powerOff();
  }

  function reboot(next?: string) {
    powerOff();
    setTimeout(() => boot(next), rebootMs);
  }

  function startTimers() {
    for (const t of timers) clearInterval(t);
    const { heartbeat_interval_s, status_interval_s } = model.parameters;
    timers = [
      setInterval(() => void send(model.heartbeat()), heartbeat_interval_s * 1000),
      setInterval(() => void report().catch(() => {}), status_interval_s * 1000),
    ];
  }

  function deliver(frame: { type: number; payload: Buffer }): number {
    let msg;
    try {
      msg = decodeMessage(frame.type, frame.payload);
    } catch (err) {
      if (err instanceof MessageError) return err.reason;
      throw err;
    }
    if (msg.type === 'hello' || msg.type === 'heartbeat' || msg.type === 'status' || msg.type === 'result') return 1;
    // Answer after the ACK has gone out, as the real terminal does.
    setImmediate(() => handle(msg));
    return 0;
  }

  function handle(msg: HostMessage) {
    const intervals = model.parameters;
    const answer = model.handle(msg);
    if (answer.restart === 'now') return reboot(answer.firmware);
    if (answer.reply) void send(answer.reply);
    if (answer.restart === 'after_reply') return void setTimeout(() => reboot(answer.firmware), 50);
    if (model.parameters !== intervals) startTimers(); // set_params: the report intervals may have changed
  }

  /** Opens the port, and opens it again whenever it closes (socat restarted), until stopped. */
  let reopenTimer: NodeJS.Timeout | undefined;
  let stopWatching = () => {};
  function reopenSoon(p: SerialPort) {
    if (p !== port) return; // serialport may report one disconnect twice: reopen once
    port = undefined;
    stopWatching();
    powerOff();
    clearTimeout(reopenTimer);
    if (!stopped) reopenTimer = setTimeout(open, 200);
  }
  function open() {
    if (stopped) return;
    const p = new SerialPort({ path: options.path, baudRate: options.baud_rate ?? 115200, autoOpen: false });
    port = p;
    p.on('data', (chunk: Buffer) => {
      if (powered && p === port) link?.receive(mangle(chunk, false));
    });
    p.on('error', () => {});
    p.on('close', () => reopenSoon(p));
    p.open((err) => {
      if (err) return reopenSoon(p);
      if (p !== port) return;
      stopWatching = watchPresence(options.path, 200, () => {
        reopenSoon(p);
        p.close(() => {});
      });
      boot();
    });
  }

  open();
  return terminal;
}
