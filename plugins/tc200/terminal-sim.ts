import { createHash, randomBytes } from 'node:crypto';
import { SerialPort } from 'serialport';
import { Link } from './link.ts';
import { watchPresence } from './port-presence.ts';
import { decodeMessage, encodeMessage, MessageError, type DeviceMessage, type HostMessage, type Result, type Status } from './protocol.ts';
import { applyDeviceParameters, DEFAULT_DEVICE_PARAMETERS, type DeviceParameters } from './parameters.ts';

/**
 * A simulated TC-200: the device side of the protocol on one end of a pty pair. It sends hello on
 * boot, heartbeats and status on its own timers, answers every command, and can misbehave on
 * purpose (see TerminalFaults) so the plugin's recovery paths run against real bytes.
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
  /** Stops the timers and closes the port. */
  stop(): Promise<void>;
}

interface Staging { version: string; size: number; sha256: Buffer; parts: Buffer[]; received: number; verified: boolean }

export function startTerminal(options: TerminalOptions): SimulatedTerminal {
  const rebootMs = options.reboot_ms ?? 300;
  let firmware = options.firmware ?? '2.4.1';
  let boots = 0;
  let bootedAt = Date.now();
  let params: DeviceParameters = { ...DEFAULT_DEVICE_PARAMETERS, ...options.parameters };
  const counters = { transactions: 0, failed: 0 };
  let port: SerialPort | undefined;
  let link: Link | undefined;
  let powered = false;
  let stopped = false;
  let staging: Staging | undefined;
  let timers: NodeJS.Timeout[] = [];
  let writeChain = Promise.resolve();

  const terminal: SimulatedTerminal = {
    serial: options.serial,
    get firmware() { return firmware; },
    get boots() { return boots; },
    get parameters() { return params; },
    faults: { ...options.faults },
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
    const f = terminal.faults;
    let out = bytes;
    if (f.drop_bytes) out = Buffer.from([...out].filter(() => !chance(f.drop_bytes)));
    if (outbound && chance(f.corrupt) && out.length > 2) {
      out = Buffer.from(out);
      out[1 + Math.floor(Math.random() * (out.length - 2))]! ^= 1 << Math.floor(Math.random() * 8);
    }
    if (outbound && chance(f.noise)) out = Buffer.concat([randomBytes(1 + Math.floor(Math.random() * 16)), out]);
    return out;
  }

  function write(bytes: Buffer) {
    const p = port;
    if (!p?.isOpen || !powered) return;
    const line = mangle(bytes, true);
    if (!terminal.faults.split) return void p.write(line);
    writeChain = writeChain.then(async () => {
      for (let i = 0; i < line.length; ) {
        const n = 1 + Math.floor(Math.random() * 5);
        if (p.isOpen) p.write(line.subarray(i, i + n));
        i += n;
        await new Promise((r) => setTimeout(r, 2));
      }
    });
  }

  function send(msg: DeviceMessage) {
    const { type, payload } = encodeMessage(msg);
    link?.send(type, payload).catch(() => {}); // the host may be gone; the next boot says hello again
  }

  function boot() {
    if (stopped) return;
    boots++;
    bootedAt = Date.now();
    powered = true;
    link = new Link({ write, deliver, ack_timeout_ms: options.ack_timeout_ms });
    send(hello());
    send(status());
    startTimers();
  }

  function powerOff() {
    powered = false;
    for (const t of timers) clearInterval(t);
    timers = [];
    link?.close();
    link = undefined;
    staging = undefined; // the staged image lives in RAM: a power cut loses it, the old firmware stays
  }

  function reboot(next?: string) {
    powerOff();
    setTimeout(() => {
      if (next) firmware = next;
      boot();
    }, rebootMs);
  }

  function startTimers() {
    for (const t of timers) clearInterval(t);
    timers = [
      setInterval(() => send({ type: 'heartbeat', uptime_s: uptime() }), params.heartbeat_interval_s * 1000),
      setInterval(() => send(status()), params.status_interval_s * 1000),
    ];
  }

  const uptime = () => Math.floor((Date.now() - bootedAt) / 1000);
  const hello = (): DeviceMessage => ({ type: 'hello', serial: options.serial, model: options.model ?? 'TC-200', firmware, uptime_s: uptime(), boot_count: boots });

  function status(): Status {
    const f = terminal.faults;
    counters.transactions += Math.floor(Math.random() * 4);
    if (chance(0.05)) counters.failed++;
    const spike = chance(f.spikes);
    return {
      type: 'status',
      state: f.error_code ? 'error' : staging ? 'updating' : 'idle',
      error_code: f.error_code ?? 0,
      transactions: counters.transactions,
      failed_transactions: counters.failed,
      paper: 'ok',
      temperature_c: Math.round((38 + Math.random() * 4) * 10) / 10,
      free_storage_kb: 48_000 - Math.floor((staging?.received ?? 0) / 1024),
      cpu_pct: spike ? 90 + Math.floor(Math.random() * 11) : 5 + Math.floor(Math.random() * 20),
      mem_pct: spike ? 90 + Math.floor(Math.random() * 11) : 35 + Math.floor(Math.random() * 10),
      disk_pct: 41,
    };
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
    setImmediate(() => handle(msg as HostMessage));
    return 0;
  }

  function result(req: number, code: Result['code'], message = '', values: Record<string, string> = {}) {
    send({ type: 'result', req, code, message, values });
  }

  function handle(msg: HostMessage) {
    switch (msg.type) {
      case 'identify':
        return send(hello());
      case 'reboot':
        result(msg.req, 'ok');
        return void setTimeout(() => reboot(), 50);
      case 'set_params': {
        const applied = applyDeviceParameters(params, msg.params);
        if (typeof applied === 'string') return result(msg.req, 'rejected', applied);
        params = applied;
        startTimers();
        return result(msg.req, 'ok', '', Object.fromEntries(Object.entries(params).map(([k, v]) => [k, String(v)])));
      }
      case 'get_diagnostics':
        return result(msg.req, 'ok', '', {
          firmware, uptime_s: String(uptime()), boots: String(boots),
          card_reader: terminal.faults.error_code ? 'fault' : 'ok', printer: 'ok', modem_rssi_dbm: '-67',
          log: `boot ${boots} firmware ${firmware}\nself-test passed`,
        });
      case 'fw_begin':
        if (msg.size > 16 * 1024 * 1024) return result(msg.req, 'rejected', `image of ${msg.size} bytes does not fit`);
        staging = { version: msg.version, size: msg.size, sha256: msg.sha256, parts: [], received: 0, verified: false };
        return result(msg.req, 'ok');
      case 'fw_chunk': {
        if (!staging) return result(msg.req, 'rejected', 'no update in progress');
        if (msg.offset !== staging.received) return result(msg.req, 'rejected', `expected offset ${staging.received}`, { next: String(staging.received) });
        if (staging.received + msg.data.length > staging.size) return result(msg.req, 'rejected', 'chunk runs past the announced size');
        staging.parts.push(msg.data);
        staging.received += msg.data.length;
        const f = terminal.faults;
        if (f.firmware === 'interrupt' && staging.received * 100 >= staging.size * (f.interrupt_at_pct ?? 50)) {
          return reboot(); // power lost mid-transfer: no answer, the terminal comes back on its old firmware
        }
        return result(msg.req, 'ok', '', { next: String(staging.received) });
      }
      case 'fw_verify': {
        if (!staging || staging.received !== staging.size) return result(msg.req, 'failed', 'image incomplete');
        const digest = createHash('sha256').update(Buffer.concat(staging.parts)).digest();
        if (terminal.faults.firmware === 'verify' || !digest.equals(staging.sha256)) {
          staging = undefined;
          return result(msg.req, 'failed', 'checksum mismatch');
        }
        staging.verified = true;
        return result(msg.req, 'ok');
      }
      case 'fw_apply': {
        if (!staging?.verified) return result(msg.req, 'rejected', 'no verified image');
        const next = terminal.faults.firmware === 'apply' ? undefined : staging.version;
        result(msg.req, 'ok');
        return void setTimeout(() => reboot(next), 50);
      }
      case 'fw_abort':
        staging = undefined;
        return result(msg.req, 'ok');
    }
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
