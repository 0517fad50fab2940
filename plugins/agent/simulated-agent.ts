import WebSocket from 'ws';

export interface SimulatedAgentOptions {
  /** `ws://host:port/agent/` */
  url: string;
  id: string;
  token: string;
  /** Called for every acknowledged batch with its line count. */
  onAck?: (lines: number) => void;
}

/**
 * A light agent for simulations and benchmarks: one WebSocket, batches of line protocol, acks
 * counted. Not the real agent (no outbox): `fleetpulse agent` is that, and the end-to-end test
 * runs it; this one lets one machine play hundreds of agents.
 */
export class SimulatedAgent {
  private ws: WebSocket | undefined;
  private nextId = 1;
  private readonly pending = new Map<number, { n: number; resolve: () => void }>();

  constructor(private readonly o: SimulatedAgentOptions) {}

  connect(): Promise<void> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(this.o.url.replace(/\/?$/, '/') + encodeURIComponent(this.o.id), {
        headers: { authorization: `Bearer ${this.o.token}` },
      });
      this.ws = ws;
      ws.once('open', () => resolve());
      ws.once('unexpected-response', (_q, res) => reject(new Error(`agent ${this.o.id}: HTTP ${res.statusCode}`)));
      ws.once('error', reject);
      ws.on('message', (data) => {
        const msg = JSON.parse(data.toString()) as { t: string; id: unknown; device?: string; name?: string };
        if (msg.t === 'ack') {
          const p = this.pending.get(msg.id as number);
          this.pending.delete(msg.id as number);
          if (p) {
            this.o.onAck?.(p.n);
            p.resolve();
          }
        } else if (msg.t === 'command') {
          // Simulated PCs accept every command at once.
          ws.send(JSON.stringify({ t: 'result', id: msg.id, status: 'succeeded', result: { simulated: true } }));
        }
      });
      ws.on('close', () => {
        for (const p of this.pending.values()) p.resolve();
        this.pending.clear();
      });
    });
  }

  announce(devices: Array<{ id: string; kind: string; model?: string }>): void {
    this.ws?.send(JSON.stringify({ t: 'devices', devices: devices.map((d) => ({ ...d, commands: {} })) }));
  }

  /** Sends one batch; resolves on its ack (or when the connection closes). */
  send(lines: string[]): Promise<void> {
    const ws = this.ws;
    if (!ws || ws.readyState !== WebSocket.OPEN) return Promise.resolve();
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.pending.set(id, { n: lines.length, resolve });
      ws.send(JSON.stringify({ t: 'batch', id, lines }));
    });
  }

  close(): void {
    this.ws?.close(1000, 'simulation over');
  }
}

/** Host-like lines for one PC at time `t` (ms), as the host plugin would write them. */
export function hostLines(device: string, t: number, seed: number): string[] {
  const cpu = ((seed * 37 + t / 1000) % 100).toFixed(1);
  return [
    `host_cpu,device=${device} usage_pct=${cpu},user_pct=${(Number(cpu) * 0.7).toFixed(1)},system_pct=${(Number(cpu) * 0.3).toFixed(1)},load_1m=0.5 ${t}`,
    `host_memory,device=${device} total_bytes=8589934592i,available_bytes=${4294967296 + seed * 4096}i,used_pct=50,swap_used_bytes=0i ${t}`,
    `host_disk,device=${device},fs=/dev/sda1,mount=/ size_bytes=256000000000i,used_bytes=${100000000000 + seed}i,used_pct=39.1 ${t}`,
    `host_net,device=${device},interface=eth0 rx_bytes=${t % 1e9}i,tx_bytes=${(t / 2) % 1e9}i,rx_errors=0i,tx_errors=0i ${t}`,
    `host_system,device=${device} uptime_s=${Math.floor(t / 1000) % 864000}i ${t}`,
  ];
}

/**
 * A status line of a terminal behind a simulated agent, in the shape of the tc200 plugin's
 * `terminal_status` (the light agents have no serial port; a real agent reads real TC-200s).
 */
export function terminalStatusLine(device: string, t: number, seed: number): string {
  const tx = Math.floor(t / 60_000) + seed;
  return `terminal_status,device=${device} state="idle",error_code=0i,transactions=${tx}i,failed_transactions=${Math.floor(tx / 50)}i,paper="ok",temperature_c=41.5,free_storage_bytes=104857600i,cpu_pct=${(seed % 30) + 5},mem_pct=40,disk_pct=60 ${t}`;
}
