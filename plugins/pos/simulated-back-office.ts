import { randomUUID } from 'node:crypto';
import type { SimulatorProgress } from '../../collector/sdk/index.ts';
import { signatureHeader, type PosEvent } from './protocol.ts';

/** One simulated store: its POS devices and the back office that posts their events. */
export interface BackOfficeOptions {
  store: string;
  /** The store's POS device ids; the back office is `<store>-bo`. */
  devices: string[];
  /** The webhook, e.g. `http://127.0.0.1:8080/ingest/pos`. */
  url: string;
  /** The back office's `pos_hmac` secret. */
  secret: string;
  /** Heartbeat period of every device, ms. */
  heartbeatMs: number;
  /** Orders per hour and device at the lunch peak (scaled by `trafficShape`). */
  ordersPerHour: number;
  /** Share of card and mobile payments that fail (then paid in cash), %. */
  failurePct: number;
  /** Chance per minute that the store's uplink goes down for 1-5 minutes, %. */
  outagePct: number;
  progress: SimulatorProgress;
  /** Default: the wall clock. Events, signatures, outages and the day curve all read it. */
  clock?: { now(): number };
  /** Default: `Math.random`. Tests pass a seeded generator. */
  random?: () => number;
}

/** The POS app version the simulated devices report in their heartbeats. */
export const APP_VERSION = '4.2.1';
export const FAILURE_REASONS = ['card_declined', 'insufficient_funds', 'timeout', 'expired_card', 'pin_error'] as const;
/** A real back office's memory is finite too: past this the oldest events are dropped (counted). */
const MAX_BUFFER = 20_000;
const MAX_BATCH = 500;
const POST_TIMEOUT_MS = 10_000;

/** Orders per hour relative to the lunch peak (1.0 at 12:30, a smaller dinner peak, quiet nights). */
export function trafficShape(hour: number): number {
  const bump = (centre: number, width: number) => Math.exp(-((hour - centre) ** 2) / (2 * width ** 2));
  return Math.min(1, 0.05 + bump(12.5, 0.9) + 0.6 * bump(18.5, 1.2) + 0.2 * bump(9, 1.5));
}

/**
 * A store's back office, the way a real one behaves: it buffers its devices' events and posts them
 * in signed batches; what the server did not take (an outage, a refusal, a 5xx) it keeps and sends
 * again later. Driven by `tick` (the devices' activity) and `flush` (a post attempt), so the
 * simulator runs it on the wall clock and tests on a clock of their own.
 */
export class SimulatedBackOffice {
  readonly id: string;
  private readonly buffer: PosEvent[] = [];
  private readonly nextHeartbeat: Map<string, number>;
  private readonly clock: { now(): number };
  private readonly random: () => number;
  private downUntil = 0;
  private orders = 0;

  constructor(private readonly o: BackOfficeOptions) {
    this.id = `${o.store}-bo`;
    this.clock = o.clock ?? { now: () => Date.now() };
    this.random = o.random ?? Math.random;
    // Devices start their heartbeats within a few seconds, not all at once.
    const start = this.clock.now();
    this.nextHeartbeat = new Map(o.devices.map((d) => [d, start + this.random() * Math.min(o.heartbeatMs, 5000)]));
  }

  /** Events waiting to be delivered. */
  get held(): number {
    return this.buffer.length;
  }

  /** Until when the uplink is down (epoch ms; in the past when it is up). */
  get uplinkDownUntil(): number {
    return this.downUntil;
  }

  /** Ends an outage now (before a last flush at shutdown). */
  endOutage(): void {
    this.downUntil = 0;
  }

  /** The devices' activity during the last `stepMs`: heartbeats, orders, and maybe an outage. */
  tick(stepMs: number): void {
    const now = this.clock.now();
    const at = new Date(now);
    const rate = this.o.ordersPerHour * trafficShape(at.getHours() + at.getMinutes() / 60);
    for (const device of this.o.devices) {
      if (now >= this.nextHeartbeat.get(device)!) {
        this.nextHeartbeat.set(device, now + this.o.heartbeatMs);
        this.heartbeat(device);
      }
      // Poisson arrivals: the chance of an order in this step.
      if (this.random() < 1 - Math.exp((-rate * stepMs) / 3_600_000)) this.order(device);
    }
    if (now >= this.downUntil && this.random() < (this.o.outagePct / 100) * (stepMs / 60_000)) {
      this.downUntil = now + 60_000 + this.random() * 240_000;
      this.o.progress.count('outages');
    }
  }

  /**
   * Posts what is held, in batches of at most 500, unless the uplink is down. Stops at the first
   * batch the server does not take (401, 429, 5xx, no answer): those events stay for the next
   * flush. A 400 means the server wrote the valid events and refused the rest for good.
   */
  async flush(): Promise<void> {
    while (this.buffer.length > 0 && this.clock.now() >= this.downUntil) {
      const batch = this.buffer.slice(0, MAX_BATCH);
      const body = JSON.stringify({ events: batch });
      const t = Math.floor(this.clock.now() / 1000);
      const deadline = new AbortController();
      const timer = setTimeout(() => deadline.abort(), POST_TIMEOUT_MS);
      try {
        const res = await fetch(this.o.url, {
          method: 'POST',
          body,
          signal: deadline.signal,
          headers: {
            'content-type': 'application/json',
            'x-fleetpulse-sender': this.id,
            'x-fleetpulse-signature': signatureHeader([this.o.secret], t, body),
          },
        });
        await res.arrayBuffer();
        if (res.status >= 500 || res.status === 401 || res.status === 429) {
          this.o.progress.count(`http_${res.status}`);
          if (res.status === 401) this.o.progress.refused?.(this.id, 'webhook answered HTTP 401');
          return;
        }
        if (res.status === 400) this.o.progress.count('rejected_batches');
        this.buffer.splice(0, batch.length);
        this.o.progress.count('events_sent', batch.length);
      } catch {
        this.o.progress.count('post_errors');
        return;
      } finally {
        clearTimeout(timer);
      }
    }
  }

  // Events are built from the protocol's field names; the server checks them like any other.
  private push(e: { type: PosEvent['type']; device: string; [field: string]: unknown }): void {
    this.buffer.push({ ...e, id: randomUUID(), store: this.o.store, time: this.clock.now() } as unknown as PosEvent);
    if (this.buffer.length > MAX_BUFFER) {
      this.buffer.shift();
      this.o.progress.count('dropped_from_buffer');
    }
  }

  private heartbeat(device: string): void {
    const r = this.random;
    const printer = r() < 0.02 ? 'paper_out' : r() < 0.05 ? 'paper_low' : 'ok';
    this.push({
      type: 'heartbeat',
      device,
      app_version: APP_VERSION,
      printer,
      network: 'wifi',
      signal_dbm: -50 - Math.round(r() * 30),
      battery_pct: 40 + Math.round(r() * 60),
      charging: r() < 0.5,
    });
    if (printer === 'paper_out')
      this.push({
        type: 'error',
        device,
        code: 'PRN_PAPER_OUT',
        severity: 'warning',
        message: 'receipt printer out of paper',
      });
  }

  /** An order with its payment attempts: a failed card or mobile payment is retried in cash. */
  private order(device: string): void {
    const r = this.random;
    const order_id = `${this.o.store}-o${++this.orders}`;
    const items = 1 + Math.floor(r() * 6);
    const total = Math.round(items * (3 + r() * 12) * 100) / 100;
    const method = r() < 0.7 ? 'card' : r() < 0.6 ? 'mobile' : 'cash';
    let paidWith: string = method;
    for (const attempt of [method, 'cash'] as const) {
      const failed = attempt !== 'cash' && r() * 100 < this.o.failurePct;
      const reason = failed ? FAILURE_REASONS[Math.floor(r() * FAILURE_REASONS.length)] : undefined;
      this.push({
        type: 'payment',
        device,
        order_id,
        amount: total,
        currency: 'EUR',
        method: attempt,
        result: failed ? 'failure' : 'success',
        reason,
      });
      paidWith = attempt;
      if (!failed) break;
    }
    this.push({
      type: 'order',
      device,
      order_id,
      total,
      currency: 'EUR',
      items,
      payment_method: paidWith,
      status: 'completed',
    });
    if (r() < 0.01)
      this.push({ type: 'refund', device, order_id, amount: total, currency: 'EUR', reason: 'customer_return' });
    this.o.progress.count('orders');
  }
}
