import pino from 'pino';
import Value from 'typebox/value';
import { conformFields, int, type Fields, type Point, type SeenAttributes } from '../../collector/sdk/index.ts';
import { SimulatedUplink, type UplinkCommand } from '../../collector/sdk/simulation.ts';
import tc200 from '../tc200/index.ts';
import { BootWatch, runCommand } from '../tc200/commands.ts';
import type { CommandContext } from '../tc200/terminal-line.ts';
import { config as tc200Config, type Tc200Config } from '../tc200/config.ts';
import { MemoryTerminal } from '../tc200/simulated-memory-terminal.ts';
import type { Report } from '../tc200/reports.ts';
import type { TerminalFaults } from '../tc200/terminal-model.ts';

/** The edge runtime writes every device's liveness this often, s (its liveness status interval). */
const LIVENESS_INTERVAL_MS = 60_000;

export interface SimulatedAgentOptions {
  /** The server's agent endpoint, `ws://host:port/agent/`. */
  url: string;
  id: string;
  token: string;
  /** Terminals behind it: `<id>-t<k>`, each on `/dev/ttyUSB<k-1>`. */
  terminals: Array<{ faults: TerminalFaults; transactions: number; firmware?: string }>;
  /** The runtime's line encoder (`SimulatorRun.encode`). */
  encode: (point: Point) => string;
  onAck?: (lines: number) => void;
  onCommand?: (name: string, outcome: 'succeeded' | 'failed') => void;
  /** Aborts commands in flight when the run ends. */
  signal: AbortSignal;
}

/**
 * A light `fleetpulse agent` with TC-200s behind it, for `simulate --agents`: one SimulatedUplink
 * instead of the agent process, and the terminals in memory instead of on serial ports. What it
 * sends is what the agent sends for real terminals: the tc200 plugin's own points (reports.ts,
 * through the declarations and the runtime's encoder, with only the plugin's tags: the edge adds
 * no inventory tags, the server does), the terminals' liveness as the edge runtime writes it (`device_status`,
 * `device_attention` with the error code), and the agent runtime's self-metrics. Commands for a
 * terminal run through the plugin's own command runner on the terminal's device model.
 */
export class SimulatedAgent {
  readonly uplink: SimulatedUplink;
  private readonly terminals: MemoryTerminal[];
  private readonly boots = new BootWatch();
  private readonly updating = new Set<string>();
  private readonly ctx: CommandContext;
  private pending: string[] = [];
  private readonly liveness = new Map<string, { state: string; reason?: string; since: number; written: number }>();
  /** tc200 points so far, for the agent's `fleetpulse_points_emitted_total`. */
  private emitted = 0;

  constructor(private readonly o: SimulatedAgentOptions) {
    const declared = new Map(tc200.measurements.map((m) => [m.name, m]));
    this.ctx = {
      config: Value.Default(tc200Config, {}) as Tc200Config,
      emit: (measurement, fields, tags = {}, time = Date.now()) => {
        const spec = declared.get(measurement);
        if (!spec) throw new Error(`measurement "${measurement}" is not declared by tc200`);
        this.point({ measurement: spec, fields, tags }, time);
      },
      count: () => {},
      clock: { now: () => Date.now() },
      log: pino({ level: 'silent' }),
    };
    this.terminals = o.terminals.map(
      (t, k) =>
        new MemoryTerminal({
          serial: `${o.id}-t${k + 1}`,
          port: `/dev/ttyUSB${k}`,
          firmware: t.firmware,
          faults: t.faults,
          transactions: t.transactions,
          boots: this.boots,
          write: (report, time) => this.point(report, time),
          seen: (attrs) => this.seen(`${o.id}-t${k + 1}`, attrs),
        }),
    );
    this.uplink = new SimulatedUplink({
      url: o.url,
      id: o.id,
      token: o.token,
      onAck: o.onAck,
      onCommand: (c) => this.command(c),
      onReconnect: () => this.announce(),
    });
  }

  /** Connects, announces the terminals with the tc200 plugin's commands, and boots them (their hellos). */
  async connect(): Promise<void> {
    await this.uplink.connect();
    this.announce();
    for (const t of this.terminals) t.start();
  }

  private announce(): void {
    const commands = Object.fromEntries(
      Object.entries(tc200.commands ?? {}).map(([name, c]) => [
        name,
        { description: c.description, params: c.params, timeout_s: c.timeout_s },
      ]),
    );
    this.uplink.announce(
      this.terminals.map((t) => ({
        id: t.serial,
        kind: 'terminal',
        model: t.model.model,
        firmware: t.model.firmware,
        commands,
      })),
    );
  }

  /** One round at `t` (ms): a status from every terminal, liveness where due, self-metrics; resolves on the ack. */
  report(t: number): Promise<void> {
    for (const terminal of this.terminals) terminal.report();
    for (const [device, l] of this.liveness) if (t - l.written >= LIVENESS_INTERVAL_MS) this.writeLiveness(device, t);
    const lines = this.pending;
    this.pending = [];
    lines.push(
      `fleetpulse_spool_points,host=${this.o.id} value=0 ${t}`,
      `fleetpulse_points_emitted_total,host=${this.o.id},plugin=tc200 value=${this.emitted} ${t}`,
    );
    return this.uplink.send(lines);
  }

  async close(): Promise<void> {
    for (const t of this.terminals) t.stop();
    await this.uplink.close();
  }

  /** A point of the tc200 plugin, as the agent runtime encodes it. */
  private point(r: Report, time: number): void {
    this.pending.push(
      this.o.encode({
        measurement: r.measurement.name,
        fields: conformFields(r.measurement, r.fields),
        tags: r.tags,
        time,
      }),
    );
    this.emitted++;
  }

  /** The edge runtime's liveness: written on every change (and every LIVENESS_INTERVAL_MS). */
  private seen(device: string, attrs: SeenAttributes): void {
    const state = attrs.state ?? 'online';
    const reason = state === 'error' ? attrs.reason : undefined;
    const known = this.liveness.get(device);
    const now = Date.now();
    if (known && known.state === state && known.reason === reason) return;
    this.liveness.set(device, { state, reason, since: known?.state === state ? known.since : now, written: 0 });
    this.writeLiveness(device, now);
  }

  private writeLiveness(device: string, now: number): void {
    const l = this.liveness.get(device)!;
    l.written = now;
    const tags = { device };
    this.pending.push(
      this.o.encode({
        measurement: 'device_status',
        fields: { online: int(1), state: l.state, last_seen_s: int(0) },
        tags,
        time: now,
      }),
    );
    if (l.state === 'error') {
      const fields: Fields = {
        state: 'error',
        since_s: int(Math.floor((now - l.since) / 1000)),
        reason: l.reason ?? '',
        last_seen_s: int(0),
      };
      this.pending.push(this.o.encode({ measurement: 'device_attention', fields, tags, time: now }));
    }
  }

  private async command(c: UplinkCommand): Promise<unknown> {
    const terminal = this.terminals.find((t) => t.serial === c.device);
    if (!terminal) throw new Error(`${c.device} is not behind ${this.o.id}`);
    try {
      const result = await runCommand(
        { ctx: this.ctx, nextBoot: this.boots.next.bind(this.boots), updating: this.updating },
        terminal,
        c.device,
        {
          id: c.id,
          name: c.name,
          params: c.params,
          signal: this.o.signal,
        },
      );
      this.o.onCommand?.(c.name, 'succeeded');
      return result;
    } catch (err) {
      this.o.onCommand?.(c.name, 'failed');
      throw err;
    }
  }
}
