import type { Logger } from 'pino';
import { messageText } from '../sdk/ws-text.ts';
import WebSocket from 'ws';
import { Backoff, type BackoffOptions } from './backoff.ts';
import { linesOf, type LineBatch, type PointWriter, type WriteOutcome } from './writer.ts';

export interface UplinkWriterOptions {
  /** The server's agent endpoint, e.g. `ws://noc.example:8080/agent/`; the agent id is appended. */
  url: string;
  agentId: string;
  /** The agent's token, sent as `Authorization: Bearer`. */
  token: string;
  /** For `wss://`: the CA certificates (PEM) to trust instead of Node's bundled ones. */
  ca?: Buffer;
  log: Logger;
  /** How long a write waits for the connection before it says `retry`, ms. Default 5,000. */
  connectWaitMs?: number;
  /** How long a batch waits for the server's ack before it says `retry`, ms. Default 15,000. */
  ackTimeoutMs?: number;
  /** Reconnect delays (full jitter). Default 1 s doubling to 30 s. */
  backoff?: BackoffOptions;
  /** Messages from the server other than acks (commands), with the parsed JSON. */
  onMessage?: (message: Record<string, unknown>) => void;
  /** Called on every new connection, before batches flow (send the device list here). */
  onConnect?: () => void;
  /** Called when the connection goes away. */
  onDisconnect?: () => void;
  /**
   * Lines of an acknowledged batch the server refused, by its reason (`unknown` from a server
   * that gives none): they are lost, and the agent counts them.
   */
  onRefused?: (reason: string, lines: number) => void;
}

interface InFlight {
  resolve: (outcome: WriteOutcome) => void;
  timer: NodeJS.Timeout;
}

/**
 * The edge's sink: the `PointWriter` a `Drain` uses at the agent. A batch from the agent's
 * outbox (its own spool) is sent over the agent's one WebSocket to `serve`, and `written` is
 * returned only when the server acknowledges that the batch is committed to *its* spool; so the
 * drain deletes it only then (at least once). No connection, a lost connection or no ack in time
 * all say `retry`: the batch stays in the outbox and is sent again, and because every line
 * carries its edge timestamp a batch delivered twice is stored once.
 *
 * The wire format is the agent plugin's (plugins/agent/protocol.ts); this side needs only
 * `batch`/`ack` and hands every other server message to `onMessage`.
 */
export class UplinkWriter implements PointWriter {
  private ws: WebSocket | undefined;
  private open = false;
  private closing = false;
  private nextId = 1;
  private readonly inFlight = new Map<number, InFlight>();
  private readonly backoff: Backoff;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private openWaiters: Array<() => void> = [];
  private readonly endpoint: string;

  constructor(private readonly o: UplinkWriterOptions) {
    this.backoff = new Backoff({ initialMs: 1000, maxMs: 30_000, ...o.backoff });
    this.endpoint = o.url.replace(/\/?$/, '/') + encodeURIComponent(o.agentId);
  }

  /** Starts connecting (and reconnecting, until `close`). */
  start(): void {
    this.connect();
  }

  get connected(): boolean {
    return this.open;
  }

  describe(): string {
    return `uplink ${this.endpoint}`;
  }

  /** Sends a message on the live connection; false when there is none (the caller decides). */
  send(message: unknown): boolean {
    if (!this.open || !this.ws) return false;
    this.ws.send(JSON.stringify(message));
    return true;
  }

  async write(batch: LineBatch): Promise<WriteOutcome> {
    if (!this.open && !(await this.waitOpen(this.o.connectWaitMs ?? 5000))) {
      return { kind: 'retry', error: `no connection to ${this.endpoint}` };
    }
    const id = this.nextId++;
    return new Promise<WriteOutcome>((resolve) => {
      const timeoutMs = this.o.ackTimeoutMs ?? 15_000;
      const timer = setTimeout(
        () => this.settle(id, { kind: 'retry', error: `no ack within ${timeoutMs} ms` }),
        timeoutMs,
      );
      this.inFlight.set(id, { resolve, timer });
      this.ws!.send(JSON.stringify({ t: 'batch', id, lines: linesOf(batch) }), (err) => {
        if (err) this.settle(id, { kind: 'retry', error: `send failed: ${err.message}` });
      });
    });
  }

  /** Stops reconnecting and closes the connection; batches in flight say `retry`. */
  async close(): Promise<void> {
    this.closing = true;
    clearTimeout(this.reconnectTimer);
    for (const w of this.openWaiters) w();
    this.openWaiters = [];
    const ws = this.ws;
    if (!ws || ws.readyState === WebSocket.CLOSED) return;
    await new Promise<void>((resolve) => {
      ws.once('close', () => resolve());
      ws.close(1000, 'agent stopping');
      setTimeout(() => {
        ws.terminate();
        resolve();
      }, 2000).unref();
    });
  }

  private connect(): void {
    if (this.closing) return;
    const ws = new WebSocket(this.endpoint, {
      headers: { authorization: `Bearer ${this.o.token}` },
      handshakeTimeout: 10_000,
      ...(this.o.ca && { ca: this.o.ca }),
    });
    this.ws = ws;
    ws.on('open', () => {
      this.open = true;
      this.backoff.reset();
      this.o.log.info({ server: this.endpoint }, 'uplink connected');
      this.o.onConnect?.();
      for (const w of this.openWaiters) w();
      this.openWaiters = [];
    });
    ws.on('unexpected-response', (_req, res) => {
      // 401: wrong or revoked token. Keep trying (slowly): an operator may fix it server-side.
      this.o.log.error(
        { server: this.endpoint, status: res.statusCode },
        `uplink refused with HTTP ${res.statusCode}${res.statusCode === 401 ? ' (agent id or token not accepted)' : ''}`,
      );
      ws.terminate();
    });
    ws.on('message', (data) => this.message(messageText(data)));
    // A certificate the agent does not trust needs an operator, not a retry: say so loudly.
    ws.on('error', (err: Error & { code?: string }) => {
      const tls = /CERT|SSL|TLS|SELF_SIGNED|UNABLE_TO_VERIFY/.test(err.code ?? '');
      this.o.log[tls ? 'error' : 'debug'](
        { err: err.message, code: err.code },
        tls ? "uplink: the server's TLS certificate is not trusted (see uplink.ca)" : 'uplink error',
      );
    });
    ws.on('close', (code, reason) => {
      const wasOpen = this.open;
      this.open = false;
      for (const id of [...this.inFlight.keys()])
        this.settle(id, { kind: 'retry', error: 'connection closed before the ack' });
      if (wasOpen) {
        this.o.log.warn({ code, reason: reason.toString() }, 'uplink lost; points wait in the outbox');
        this.o.onDisconnect?.();
      }
      if (this.closing) return;
      const delay = this.backoff.next();
      this.reconnectTimer = setTimeout(() => this.connect(), delay);
    });
  }

  private message(text: string): void {
    let msg: Record<string, unknown>;
    try {
      msg = JSON.parse(text) as Record<string, unknown>;
    } catch {
      this.o.log.warn('uplink: frame from the server is not JSON; ignored');
      return;
    }
    if (msg.t === 'ack' && typeof msg.id === 'number') return this.acked(msg.id, msg);
    if (msg.t === 'error') return void this.o.log.warn({ error: msg.error }, 'the server refused a frame');
    this.o.onMessage?.(msg);
  }

  /**
   * A batch the server answered. Lines its spool had no room for (`spool_full`), or its disk
   * (`disk_full`), are not stored: the whole batch stays in the outbox and is sent again (the
   * stored lines then overwrite themselves). Lines refused for what they are would be refused again: counted lost.
   */
  private acked(id: number, ack: Record<string, unknown>): void {
    if (!this.inFlight.has(id)) return;
    const reasons = (typeof ack.reasons === 'object' && ack.reasons !== null ? ack.reasons : {}) as Record<
      string,
      unknown
    >;
    const full = Number(reasons.spool_full) || 0;
    if (full > 0) return this.settle(id, { kind: 'retry', error: `the server's spool refused ${full} lines (full)` });
    const disk = Number(reasons.disk_full) || 0;
    if (disk > 0)
      return this.settle(id, { kind: 'retry', error: `the server refused ${disk} lines: its disk is full` });
    let explained = 0;
    for (const [reason, n] of Object.entries(reasons)) {
      if (typeof n !== 'number' || !(n > 0)) continue;
      explained += n;
      // A label per reason the server names, so only names that look like one.
      this.o.onRefused?.(/^[a-z_]{1,32}$/.test(reason) ? reason : 'unknown', n);
    }
    const refused = typeof ack.refused === 'number' ? ack.refused : 0;
    if (refused > explained) this.o.onRefused?.('unknown', refused - explained);
    this.settle(id, { kind: 'written' });
  }

  private settle(id: number, outcome: WriteOutcome): void {
    const f = this.inFlight.get(id);
    if (!f) return;
    this.inFlight.delete(id);
    clearTimeout(f.timer);
    f.resolve(outcome);
  }

  private waitOpen(ms: number): Promise<boolean> {
    if (this.closing) return Promise.resolve(false);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(this.open), ms);
      this.openWaiters.push(() => {
        clearTimeout(timer);
        resolve(this.open);
      });
    });
  }
}
