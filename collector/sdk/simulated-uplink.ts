import WebSocket from 'ws';
import { messageText } from './ws-text.ts';
import { CommandFailed, CommandRejected } from './errors.ts';

/** A device a simulated agent says it reaches, with the commands it takes (params: JSON Schema). */
export interface UplinkDevice {
  id: string;
  kind: string;
  model?: string;
  firmware?: string;
  commands?: Record<string, { description: string; params: unknown; timeout_s?: number }>;
}

/** A command the server sent down, as a simulator sees it. */
export interface UplinkCommand {
  id: string;
  device: string;
  name: string;
  params: unknown;
}

export interface SimulatedUplinkOptions {
  /** The server's agent endpoint, `ws://host:port/agent/`; the agent id is appended. */
  url: string;
  /** The agent's device id. */
  id: string;
  /** Its agent token (`Authorization: Bearer`). */
  token: string;
  /** Called for every acknowledged batch with its line count. */
  onAck?: (lines: number) => void;
  /**
   * Answers a command: resolve with the result; throw CommandRejected to report `rejected`,
   * anything else to report `failed`, with the message (and the error's `result`, if any).
   * Default: every command succeeds at once with `{ simulated: true }`.
   */
  onCommand?: (command: UplinkCommand) => unknown;
}

/**
 * A light edge agent for simulators and benchmarks: one WebSocket to `serve`'s agent uplink,
 * batches of line protocol resolved on their ack, commands answered. It speaks the frames of the
 * edge pipeline's `UplinkWriter` (`batch` → `ack`, `devices`, `command` → `result`) but keeps no
 * outbox and does not reconnect by itself: `fleetpulse agent` is the real one (the end-to-end
 * test runs it); this lets one machine play hundreds of agents. It lives in the SDK because
 * every device type that sits behind an agent (PCs, terminals) simulates through it.
 */
export class SimulatedUplink {
  private ws: WebSocket | undefined;
  private nextId = 1;
  private readonly pending = new Map<number, { n: number; resolve: () => void }>();

  constructor(private readonly o: SimulatedUplinkOptions) {}

  get connected(): boolean {
    return this.ws?.readyState === WebSocket.OPEN;
  }

  /** Opens the connection; rejects with the HTTP status when the server refuses it. */
  connect(): Promise<void> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(this.o.url.replace(/\/?$/, '/') + encodeURIComponent(this.o.id), {
        headers: { authorization: `Bearer ${this.o.token}` },
      });
      this.ws = ws;
      ws.once('open', () => resolve());
      ws.once('unexpected-response', (_q, res) => reject(new Error(`agent ${this.o.id}: HTTP ${res.statusCode}`)));
      ws.on('error', reject); // after open, a later error only precedes 'close'
      ws.on('message', (data) => this.message(ws, messageText(data)));
      ws.on('close', () => {
        for (const p of this.pending.values()) p.resolve();
        this.pending.clear();
      });
    });
  }

  announce(devices: UplinkDevice[]): void {
    this.ws?.send(JSON.stringify({ t: 'devices', devices: devices.map((d) => ({ commands: {}, ...d })) }));
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

  /** Closes the connection; resolves once it is closed. */
  close(code = 1000, reason = 'simulation over'): Promise<void> {
    const ws = this.ws;
    if (!ws || ws.readyState === WebSocket.CLOSED) return Promise.resolve();
    return new Promise((resolve) => {
      ws.once('close', () => resolve());
      ws.close(code, reason);
    });
  }

  private message(ws: WebSocket, text: string): void {
    const msg = JSON.parse(text) as { t: string; id: unknown; device: string; name: string; params: unknown };
    if (msg.t === 'ack') {
      const p = this.pending.get(msg.id as number);
      this.pending.delete(msg.id as number);
      if (p) {
        this.o.onAck?.(p.n);
        p.resolve();
      }
    } else if (msg.t === 'command') {
      const answer = this.o.onCommand ?? (() => ({ simulated: true }));
      void (async () =>
        answer({ id: msg.id as string, device: msg.device, name: msg.name, params: msg.params }))().then(
        (result) =>
          ws.readyState === WebSocket.OPEN &&
          ws.send(JSON.stringify({ t: 'result', id: msg.id, status: 'succeeded', result })),
        (err: Error) => {
          const status = err instanceof CommandRejected ? 'rejected' : 'failed';
          const result = err instanceof CommandRejected || err instanceof CommandFailed ? err.result : undefined;
          if (ws.readyState === WebSocket.OPEN)
            ws.send(JSON.stringify({ t: 'result', id: msg.id, status, error: err.message, result }));
        },
      );
    }
  }
}
