import { SimulatedUplink, type UplinkCommand } from '../../collector/sdk/simulation.ts';
import host from './index.ts';

/**
 * A store or venue PC as the server sees it through its agent: host metrics over the agent
 * uplink, the host plugin's commands announced and answered. A reboot answers, drops the
 * uplink and comes back `rebootMs` later with its uptime reset, as a real PC does.
 */
export class SimulatedPc {
  private readonly uplink: SimulatedUplink;
  private bootedAt: number;
  private rebooting: NodeJS.Timeout | undefined;
  private session: { ends_at_ms: number; action: string; state: 'active' } | undefined;
  private stopped = false;

  constructor(
    readonly id: string,
    private readonly o: {
      url: string;
      token: string;
      seed: number;
      rebootMs?: number;
      now?: () => number;
      onAck?: (lines: number) => void;
      onReboot?: () => void;
    },
  ) {
    this.bootedAt = this.now() - (o.seed % 50) * 3600_000;
    this.uplink = new SimulatedUplink({
      url: o.url,
      id,
      token: o.token,
      onAck: o.onAck,
      onCommand: (c) => this.command(c),
      onReconnect: () => this.announce(),
    });
  }

  /** Up and reporting (not rebooting, uplink open). */
  get up(): boolean {
    return !this.rebooting && this.uplink.connected;
  }

  async connect(): Promise<void> {
    await this.uplink.connect();
    this.announce();
  }

  private announce(): void {
    const commands = Object.fromEntries(
      Object.entries(host.commands ?? {}).map(([name, c]) => [
        name,
        { description: c.description, params: c.params, timeout_s: c.timeout_s },
      ]),
    );
    this.uplink.announce([{ id: this.id, kind: 'pc', model: 'store-pc', commands }]);
  }

  /** Sends one round of host metrics stamped `t`; resolves on the ack (at once when down). */
  report(t: number): Promise<void> {
    return this.up ? this.uplink.send(hostLines(this.id, t, this.o.seed, this.bootedAt)) : Promise.resolve();
  }

  async close(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.rebooting);
    await this.uplink.close();
  }

  private now(): number {
    return this.o.now?.() ?? Date.now();
  }

  private command(c: UplinkCommand): unknown {
    const p = (c.params ?? {}) as Record<string, unknown>;
    switch (c.name) {
      case 'reboot':
        // Answer first (the real plugin's reboot_command returns before the PC goes down).
        setTimeout(() => this.reboot(), 50);
        return { exit_code: 0 };
      case 'diagnostics':
        return {
          exit_code: 0,
          output: `disk ok\nfan ok\nuptime ${Math.round((this.now() - this.bootedAt) / 1000)} s\n`,
          truncated: false,
        };
      case 'lock':
      case 'log_off':
      case 'warn':
        return { exit_code: 0 };
      case 'session_set':
        this.session = { ends_at_ms: p.ends_at_ms as number, action: p.action as string, state: 'active' };
        return this.sessionStatus();
      case 'session_status':
        return this.sessionStatus();
      case 'session_clear': {
        const had = this.session !== undefined;
        this.session = undefined;
        return { cleared: had };
      }
      default:
        throw new Error(`unknown command ${c.name}`);
    }
  }

  /** The host plugin's `session_status` answer (a simulated PC never ends a session by itself). */
  private sessionStatus(): unknown {
    return this.session ? { ...this.session, enforced_at_ms: null, error: null } : { state: 'none' };
  }

  private reboot(): void {
    this.o.onReboot?.();
    this.rebooting = setTimeout(() => {
      this.bootedAt = this.now();
      this.rebooting = undefined;
      if (!this.stopped) this.connect().catch(() => {}); // refused now: the next reboot or run tries again
    }, this.o.rebootMs ?? 5000);
    void this.uplink.close(1001, 'rebooting');
  }
}

/**
 * Host lines for one PC at time `t` (ms), as the host plugin writes them: a CPU load that
 * follows the store's day (busier 10:00–20:00), a root disk, one interface, the uptime since
 * `bootedAt` (ms; default: up since `seed` hours).
 */
export function hostLines(device: string, t: number, seed: number, bootedAt = t - (seed % 50) * 3600_000): string[] {
  const hour = new Date(t).getHours();
  const busy = hour >= 10 && hour < 20 ? 35 : 8;
  const cpu = (busy + ((seed * 37 + t / 1000) % 20)).toFixed(1);
  return [
    `host_cpu,device=${device} usage_pct=${cpu},user_pct=${(Number(cpu) * 0.7).toFixed(1)},system_pct=${(Number(cpu) * 0.3).toFixed(1)},load_1m=0.5 ${t}`,
    `host_memory,device=${device} total_bytes=8589934592i,available_bytes=${4294967296 + seed * 4096}i,used_pct=50,swap_used_bytes=0i ${t}`,
    `host_disk,device=${device},fs=/dev/sda1,mount=/ size_bytes=256000000000i,used_bytes=${100000000000 + seed}i,used_pct=39.1 ${t}`,
    `host_net,device=${device},interface=eth0 rx_bytes=${Math.floor(t) % 1e9}i,tx_bytes=${Math.floor(t / 2) % 1e9}i,rx_errors=0i,tx_errors=0i ${t}`,
    `host_system,device=${device} uptime_s=${Math.max(0, Math.floor((t - bootedAt) / 1000))}i,temperature_c=${45 + (seed % 10)} ${t}`,
  ];
}
