import { randomUUID } from 'node:crypto';
import { defineSimulator, type SimulatorProgress } from '../../collector/sdk/index.ts';
import { signatureHeader, type PosEvent } from './protocol.ts';

/**
 * Stores with POS devices behind one back office each. The back office buffers its devices'
 * events and posts them in signed batches, the way a real one does: it keeps what the server did
 * not take and sends it again after an outage.
 *
 * Options (`--opt key=value`): `secret` (the `pos_hmac` secret of every back office, default
 * `pos-sim-secret`), `devices_per_store` (4), `prefix` (store id prefix, `store-`), `flush_s`
 * (seconds between posts, 5), `heartbeat_s` (60), `orders_per_hour` (per device at the lunch
 * peak, 60), `failure_pct` (payment failures, 4), `outage_pct` (chance per store and minute that
 * its uplink goes down for 1-5 minutes, 1), `path` (`/ingest/pos`).
 * Back office `<store>-bo` posts for devices `<store>-pos-<n>`; give each back office the secret
 * in the inventory (credential type `pos_hmac`), or let `simulate --api-key` register the stores
 * (back office and devices, at one site) and issue each back office a secret of its own.
 */
export default defineSimulator({
  flag: 'pos',
  description: 'POS stores: devices behind a back office posting signed webhook batches',
  devices: (count, options) =>
    storesOf(count, options).flatMap(({ store, devices }) => [
      { id: `${store}-bo`, kind: 'pos', model: 'back-office', credential: 'pos_hmac' },
      ...devices.map((id) => ({ id, kind: 'pos', model: 'POS-T2', firmware: APP_VERSION, gateway: `${store}-bo` })),
    ]),
  async run({ server, count, options, progress, signal, credentials }) {
    const fleet = storesOf(count, options);
    const stores = fleet.length;
    const o: StoreOptions = {
      url: server.replace(/\/$/, '') + (options.path ?? '/ingest/pos'),
      secret: options.secret ?? 'pos-sim-secret',
      flushMs: Number(options.flush_s ?? 5) * 1000,
      heartbeatMs: Number(options.heartbeat_s ?? 60) * 1000,
      ordersPerHour: Number(options.orders_per_hour ?? 60),
      failurePct: Number(options.failure_pct ?? 4),
      outagePct: Number(options.outage_pct ?? 1),
    };
    let up = 0;
    await Promise.all(
      fleet.map(({ store, devices }) => {
        progress.update('stores', ++up, stores);
        const secret = credentials?.get(`${store}-bo`) ?? o.secret;
        return runStore(store, devices, { ...o, secret }, progress, signal);
      }),
    );
  },
});

/** Store `<prefix><n>` has `devices_per_store` POS devices `<store>-pos-<k>` (the last store the rest). */
function storesOf(count: number, options: Record<string, string>): Array<{ store: string; devices: string[] }> {
  const perStore = Math.max(1, Number(options.devices_per_store ?? 4));
  return Array.from({ length: Math.ceil(count / perStore) }, (_, s) => {
    const store = `${options.prefix ?? 'store-'}${String(s + 1).padStart(4, '0')}`;
    return { store, devices: Array.from({ length: Math.min(perStore, count - s * perStore) }, (_, d) => `${store}-pos-${d + 1}`) };
  });
}

/** The POS app version the simulated devices report in their heartbeats. */
const APP_VERSION = '4.2.1';

interface StoreOptions {
  url: string;
  secret: string;
  flushMs: number;
  heartbeatMs: number;
  ordersPerHour: number;
  failurePct: number;
  outagePct: number;
}

const MAX_BUFFER = 20_000;
const MAX_BATCH = 500;
const FAILURE_REASONS = ['card_declined', 'insufficient_funds', 'timeout', 'expired_card', 'pin_error'];

/** Orders per hour relative to the lunch peak (1.0 at 12:30, a smaller dinner peak, quiet nights). */
export function trafficShape(hour: number): number {
  const bump = (centre: number, width: number) => Math.exp(-((hour - centre) ** 2) / (2 * width ** 2));
  return Math.min(1, 0.05 + bump(12.5, 0.9) + 0.6 * bump(18.5, 1.2) + 0.2 * bump(9, 1.5));
}

async function runStore(store: string, devices: string[], o: StoreOptions, progress: SimulatorProgress, signal: AbortSignal) {
  const backOffice = `${store}-bo`;
  const buffer: PosEvent[] = [];
  const nextHeartbeat = new Map(devices.map((d) => [d, Date.now() + Math.random() * Math.min(o.heartbeatMs, 5000)]));
  let outageUntil = 0;
  let orders = 0;
  // Events are built from the protocol's field names; the server checks them like any other.
  const push = (e: { type: PosEvent['type']; device: string; [field: string]: unknown }) => {
    buffer.push({ ...e, id: randomUUID(), store, time: Date.now() } as unknown as PosEvent);
    if (buffer.length > MAX_BUFFER) {
      buffer.shift();
      progress.count('dropped_from_buffer');
    }
  };
  const tick = (stepMs: number) => {
    const now = Date.now();
    const rate = o.ordersPerHour * trafficShape(new Date(now).getHours() + new Date(now).getMinutes() / 60);
    for (const device of devices) {
      if (now >= nextHeartbeat.get(device)!) {
        nextHeartbeat.set(device, now + o.heartbeatMs);
        const printer = Math.random() < 0.02 ? 'paper_out' : Math.random() < 0.05 ? 'paper_low' : 'ok';
        push({ type: 'heartbeat', device, app_version: APP_VERSION, printer, network: 'wifi', signal_dbm: -50 - Math.round(Math.random() * 30), battery_pct: 40 + Math.round(Math.random() * 60), charging: Math.random() < 0.5 });
        if (printer === 'paper_out') push({ type: 'error', device, code: 'PRN_PAPER_OUT', severity: 'warning', message: 'receipt printer out of paper' });
      }
      // Poisson arrivals: the chance of an order in this step.
      if (Math.random() < 1 - Math.exp((-rate * stepMs) / 3_600_000)) order(device);
    }
    if (now >= outageUntil && Math.random() < (o.outagePct / 100) * (stepMs / 60_000)) {
      outageUntil = now + 60_000 + Math.random() * 240_000;
      progress.count('outages');
    }
  };
  const order = (device: string) => {
    const order_id = `${store}-o${++orders}`;
    const items = 1 + Math.floor(Math.random() * 6);
    const total = Math.round(items * (3 + Math.random() * 12) * 100) / 100;
    const method = Math.random() < 0.7 ? 'card' : Math.random() < 0.6 ? 'mobile' : 'cash';
    let paid = false;
    for (const attempt of [method, 'cash'] as const) {
      const failed = attempt !== 'cash' && Math.random() * 100 < o.failurePct;
      push({ type: 'payment', device, order_id, amount: total, currency: 'EUR', method: attempt, result: failed ? 'failure' : 'success', reason: failed ? FAILURE_REASONS[Math.floor(Math.random() * FAILURE_REASONS.length)] : undefined });
      if (!failed) { paid = true; break; }
    }
    push({ type: 'order', device, order_id, total, currency: 'EUR', items, payment_method: paid ? method : 'cash', status: 'completed' });
    if (Math.random() < 0.01) push({ type: 'refund', device, order_id, amount: total, currency: 'EUR', reason: 'customer_return' });
    progress.count('orders');
  };
  const flush = async () => {
    while (buffer.length > 0 && Date.now() >= outageUntil) {
      const batch = buffer.slice(0, MAX_BATCH);
      const body = JSON.stringify({ events: batch });
      const t = Math.floor(Date.now() / 1000);
      try {
        const res = await fetch(o.url, {
          method: 'POST', body, signal: AbortSignal.timeout(10_000),
          headers: { 'content-type': 'application/json', 'x-fleetpulse-sender': backOffice, 'x-fleetpulse-signature': signatureHeader([o.secret], t, body) },
        });
        await res.arrayBuffer();
        if (res.status >= 500 || res.status === 401 || res.status === 429) {
          progress.count(`http_${res.status}`);
          if (res.status === 401) progress.refused?.(backOffice, `webhook answered HTTP 401`);
          return; // keep the events; try again at the next flush
        }
        if (res.status === 400) progress.count('rejected_batches');
        buffer.splice(0, batch.length);
        progress.count('events_sent', batch.length);
      } catch {
        progress.count('post_errors');
        return;
      }
    }
  };
  const stepMs = Math.min(1000, o.flushMs);
  let lastFlush = Date.now();
  while (!signal.aborted) {
    await pause(stepMs, signal);
    tick(stepMs);
    if (Date.now() - lastFlush >= o.flushMs) {
      lastFlush = Date.now();
      await flush();
    }
  }
  outageUntil = 0;
  await flush(); // hand over what is left before stopping
}

function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}
