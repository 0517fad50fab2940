import { defineSimulator } from '../../collector/sdk/index.ts';
import { APP_VERSION, SimulatedBackOffice, type BackOfficeOptions } from './simulated-back-office.ts';

export { SimulatedBackOffice, trafficShape } from './simulated-back-office.ts';

/**
 * Stores with POS devices behind one back office each. The back office buffers its devices'
 * events and posts them in signed batches, the way a real one does: it keeps what the server did
 * not take and sends it again after an outage (simulated-back-office.ts).
 *
 * Options (`--opt key=value`), with defaults: `secret` (the `pos_hmac` secret of every back office
 * without `--api-key`, `pos-sim-secret`), `devices_per_store` (4), `prefix` (store id prefix,
 * `store-`), `flush_s` (seconds between posts, 5), `heartbeat_s` (seconds between a device's
 * heartbeats, 60), `orders_per_hour` (per device at the lunch peak, 60), `failure_pct` (% of card
 * and mobile payments that fail, 4), `outage_pct` (% chance per store and minute that its uplink
 * goes down for 1-5 minutes, 1), `path` (the webhook's path, `/ingest/pos`).
 * Back office `<store>-bo` posts for devices `<store>-pos-<n>`; give each back office the secret
 * in the inventory (credential type `pos_hmac`) and each device the back office as its gateway,
 * or let `simulate --api-key` register the stores (back office and devices, at one site) and
 * issue each back office a secret of its own.
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
    const flushMs = Number(options.flush_s ?? 5) * 1000;
    const shared: Omit<BackOfficeOptions, 'store' | 'devices' | 'secret'> = {
      url: server.replace(/\/$/, '') + (options.path ?? '/ingest/pos'),
      heartbeatMs: Number(options.heartbeat_s ?? 60) * 1000,
      ordersPerHour: Number(options.orders_per_hour ?? 60),
      failurePct: Number(options.failure_pct ?? 4),
      outagePct: Number(options.outage_pct ?? 1),
      progress,
    };
    let up = 0;
    await Promise.all(
      fleet.map(({ store, devices }) => {
        progress.update('stores', ++up, fleet.length);
        const secret = credentials?.get(`${store}-bo`) ?? options.secret ?? 'pos-sim-secret';
        return runStore(new SimulatedBackOffice({ ...shared, store, devices, secret }), flushMs, signal);
      }),
    );
  },
});

/** Store `<prefix><n>` has `devices_per_store` POS devices `<store>-pos-<k>` (the last store the rest). */
function storesOf(count: number, options: Record<string, string>): Array<{ store: string; devices: string[] }> {
  const perStore = Math.max(1, Number(options.devices_per_store ?? 4));
  return Array.from({ length: Math.ceil(count / perStore) }, (_, s) => {
    const store = `${options.prefix ?? 'store-'}${String(s + 1).padStart(4, '0')}`;
    return {
      store,
      devices: Array.from({ length: Math.min(perStore, count - s * perStore) }, (_, d) => `${store}-pos-${d + 1}`),
    };
  });
}

/** Runs one store on the wall clock until `signal` aborts, then hands over what it still holds. */
async function runStore(backOffice: SimulatedBackOffice, flushMs: number, signal: AbortSignal): Promise<void> {
  const stepMs = Math.min(1000, flushMs);
  let lastFlush = Date.now();
  while (!signal.aborted) {
    await pause(stepMs, signal);
    backOffice.tick(stepMs);
    if (Date.now() - lastFlush >= flushMs) {
      lastFlush = Date.now();
      await backOffice.flush();
    }
  }
  backOffice.endOutage();
  await backOffice.flush();
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
