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
  /**
   * After a connection that was open goes away (the server restarted, the network dropped), it is
   * opened again with exponential backoff and jitter: the delay's ceiling starts at `initialMs`
   * (default 1,000) and doubles up to `maxMs` (default 30,000), as the real agent's uplink does.
   * `false`: no reconnecting.
   */
  reconnect?: { initialMs?: number; maxMs?: number } | false;
  /** Called after every reconnection: the server forgot what the agent announced. */
  onReconnect?: () => void;
}

/**
 * A light edge agent for simulators and benchmarks: one WebSocket to `serve`'s agent uplink,
 * batches of line protocol resolved on their ack, commands answered. It speaks the frames of the
 * edge pipeline's `UplinkWriter` (`batch` → `ack`, `devices`, `command` → `result`) but keeps no
 * outbox (a batch sent while disconnected is lost, as a simulator may): `fleetpulse agent` is the
 * real one (the end-to-end test runs it); this lets one machine play hundreds of agents. Like the
 * real one it reconnects by itself (`reconnect`). It lives in the SDK because
 * every device type that sits behind an agent (PCs, terminals) simulates through it.
 */
export class SimulatedUplink {
  private ws: WebSocket | undefined;
  private nextId = 1;
  private readonly pending = new Map<number, { n: number; resolve: () => void }>();
  /** Set by `close()`: a close asked for is not followed by a reconnection. */
  private closing = false;
  /** Whether a connection was ever open: a first `connect()` that fails is the caller's to retry. */
  private opened = false;
  private attempts = 0;
  private retry: NodeJS.Timeout | undefined;

  constructor(private readonly o: SimulatedUplinkOptions) {}

  get connected(): boolean {
    return this.ws?.readyState === WebSocket.OPEN;
  }

  /** Opens the connection; rejects with the HTTP status when the server refuses it. */
  connect(): Promise<void> {
    this.closing = false;
    clearTimeout(this.retry);
    return this.open();
  }

  private open(): Promise<void> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(this.o.url.replace(/\/?$/, '/') + encodeURIComponent(this.o.id), {
        headers: { authorization: `Bearer ${this.o.token}` },
      });
      this.ws = ws;
      ws.once('open', () => {
        this.opened = true;
        this.attempts = 0;
        resolve();
      });
      ws.once('unexpected-response', (_q, res) => {
        reject(new Error(`agent ${this.o.id}: HTTP ${res.statusCode}`));
        ws.terminate(); // 'close' follows
      });
      ws.on('error', reject); // after open, a later error only precedes 'close'
      ws.on('message', (data) => this.message(ws, messageText(data)));
      ws.on('close', () => {
        for (const p of this.pending.values()) p.resolve();
        this.pending.clear();
        if (this.ws === ws && this.opened && !this.closing && this.o.reconnect !== false) this.reconnectLater();
      });
    });
  }

  /** Between half the ceiling and the ceiling, which doubles; a failed attempt closes, and that schedules the next. */
  private reconnectLater(): void {
    const { initialMs = 1000, maxMs = 30_000 } = this.o.reconnect || {};
    const ceiling = Math.min(maxMs, initialMs * 2 ** this.attempts++);
    this.retry = setTimeout(
      () =>
        void this.open().then(
          () => this.o.onReconnect?.(),
          () => {},
        ),
      ceiling / 2 + (Math.random() * ceiling) / 2,
    );
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
    this.closing = true;
    clearTimeout(this.retry);
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
