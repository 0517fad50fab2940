/**
 * `fleetpulse simulate --api-key`: registers the simulated fleet through the real API before the
 * simulators start, so that a freshly started `serve` accepts every device. Idempotent: the demo
 * customer, its sites and the devices are reused when they exist; credentials are rotated on
 * devices that exist (a secret is shown only when issued or rotated) and issued on new ones.
 */
import type { SimulatedDevice } from '../collector/sdk/index.ts';

/** The customer every simulated device belongs to: it names the `customer` tag on dashboards. */
export const DEMO_CUSTOMER = {
  id: 'demo-retail',
  company: 'Demo Retail GmbH',
  contact_name: 'Demo Operations',
  email: 'ops@demo-retail.example',
  contract: 'standard',
} as const;

/** Its sites; devices are spread over them in turn, each simulator's fleet on its own. */
export const DEMO_SITES = [
  {
    id: 'demo-retail-berlin',
    name: 'Berlin Mitte',
    address: 'Alexanderplatz 1, 10178 Berlin',
    timezone: 'Europe/Berlin',
    latitude: 52.5219,
    longitude: 13.4132,
  },
  {
    id: 'demo-retail-hamburg',
    name: 'Hamburg Altona',
    address: 'Ottenser Hauptstraße 10, 22765 Hamburg',
    timezone: 'Europe/Berlin',
    latitude: 53.5503,
    longitude: 9.9334,
  },
  {
    id: 'demo-retail-munich',
    name: 'Munich Schwabing',
    address: 'Leopoldstraße 50, 80802 München',
    timezone: 'Europe/Berlin',
    latitude: 48.1599,
    longitude: 11.5857,
  },
] as const;

/** Rows per import request (the API takes up to 10,000). */
const IMPORT_CHUNK = 5000;

export interface ProvisionOptions {
  /** Base URL of serve, e.g. `http://127.0.0.1:8080`. */
  server: string;
  /** An admin API key. */
  apiKey: string;
  /** One list per simulator; sites are assigned in turn within each list. */
  fleets: SimulatedDevice[][];
  /** Credentials issued or rotated so far, of how many. */
  progress?: (done: number, total: number) => void;
  signal?: AbortSignal;
  /** Credential requests in flight at once; default 8. */
  concurrency?: number;
}

export interface Provisioned {
  /** Device id → secret, for every device that declared a `credential`. */
  credentials: Map<string, string>;
  /** Devices that were new / already in the demo customer. */
  created: number;
  reused: number;
}

/** A refusal or failure of the API, worded for the person running simulate. */
export class ProvisionError extends Error {}

export async function provision(o: ProvisionOptions): Promise<Provisioned> {
  const api = new AdminApi(o.server, o.apiKey, o.signal);
  await ensure(api, `/customers/${DEMO_CUSTOMER.id}`, '/customers', DEMO_CUSTOMER);
  for (const site of DEMO_SITES)
    await ensure(api, `/sites/${site.id}`, '/sites', { ...site, customer: DEMO_CUSTOMER.id });

  const rows = placeOnSites(o.fleets);
  const existing = (await api.call('GET', `/devices/export?customer=${DEMO_CUSTOMER.id}&format=json`)) as Array<{
    id: string;
  }>;
  const known = new Set(existing.map((d) => d.id));
  for (let i = 0; i < rows.length; i += IMPORT_CHUNK) {
    await api.call('POST', '/devices/import?mode=upsert', rows.slice(i, i + IMPORT_CHUNK));
  }

  const wanting = o.fleets.flat().filter((d) => d.credential);
  const credentials = new Map<string, string>();
  let next = 0;
  let failed = false;
  o.progress?.(0, wanting.length);
  const worker = async () => {
    while (next < wanting.length && !failed) {
      const d = wanting[next++];
      try {
        credentials.set(d.id, await secretFor(api, d.id, d.credential!, known.has(d.id)));
      } catch (err) {
        failed = true; // the other workers stop after their request in flight
        throw err;
      }
      o.progress?.(credentials.size, wanting.length);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, o.concurrency ?? 8) }, worker));
  const ids = new Set(rows.map((r) => r.id as string));
  const reused = [...ids].filter((id) => known.has(id)).length;
  return { credentials, created: ids.size - reused, reused };
}

/** Import rows: each device at a demo site, a device behind a gateway at its gateway's site. */
export function placeOnSites(fleets: SimulatedDevice[][]): Array<Record<string, unknown>> {
  const siteOf = new Map<string, string>();
  const rows = new Map<string, Record<string, unknown>>();
  for (const fleet of fleets) {
    let turn = 0;
    for (const d of fleet) {
      if (d.gateway === undefined || !siteOf.has(d.gateway))
        siteOf.set(d.id, DEMO_SITES[turn++ % DEMO_SITES.length].id);
      else siteOf.set(d.id, siteOf.get(d.gateway)!);
      rows.set(d.id, {
        id: d.id,
        kind: d.kind,
        site: siteOf.get(d.id),
        lifecycle: 'active',
        ...(d.model !== undefined && { model: d.model }),
        ...(d.firmware !== undefined && { firmware: d.firmware }),
        ...(d.gateway !== undefined && { gateway: d.gateway }),
        ...(d.labels !== undefined && { labels: d.labels }),
      });
    }
  }
  return [...rows.values()];
}

/** Rotates the device's active credential of `type`, or issues one: either way a fresh secret. */
async function secretFor(api: AdminApi, device: string, type: string, known: boolean): Promise<string> {
  const path = `/devices/${encodeURIComponent(device)}/credentials`;
  if (known) {
    const { items } = (await api.call('GET', path)) as { items: Array<{ id: string; type: string; active: boolean }> };
    const current = items.find((c) => c.type === type && c.active);
    if (current) return ((await api.call('POST', `${path}/${current.id}/rotate`)) as { secret: string }).secret;
  }
  return ((await api.call('POST', path, { type })) as { secret: string }).secret;
}

/** GET `path`; when it is not found, POST `body` to `collection` (a 409 from a racing run is fine). */
async function ensure(api: AdminApi, path: string, collection: string, body: object): Promise<void> {
  if ((await api.call('GET', path, undefined, [404])) !== NOT_FOUND) return;
  await api.call('POST', collection, body, [409]);
}

const NOT_FOUND = Symbol('not found');

/** The few calls provisioning makes, with the key, JSON, waits on 429 and readable errors. */
class AdminApi {
  private readonly base: string;

  constructor(
    server: string,
    private readonly key: string,
    private readonly signal?: AbortSignal,
  ) {
    this.base = server.replace(/\/$/, '') + '/api/v1';
  }

  /** The parsed body; `NOT_FOUND` for a 404 listed in `tolerate`, undefined for other tolerated statuses. */
  async call(method: string, path: string, body?: unknown, tolerate: number[] = []): Promise<unknown> {
    // Bounded: the rate limiter (1,200 requests per minute and key by default) says when to come back.
    for (let attempt = 1; ; attempt++) {
      let res: Response;
      try {
        res = await fetch(this.base + path, {
          method,
          signal: this.signal,
          headers: {
            authorization: `Bearer ${this.key}`,
            ...(body !== undefined && { 'content-type': 'application/json' }),
          },
          body: body === undefined ? undefined : JSON.stringify(body),
        });
      } catch (err) {
        if (this.signal?.aborted) throw new ProvisionError('provisioning stopped');
        const cause = (err as { cause?: { code?: string; message?: string } }).cause;
        throw new ProvisionError(
          `cannot reach ${this.base} (${cause?.code ?? cause?.message ?? (err as Error).message}): is fleetpulse serve running there?`,
        );
      }
      const text = await res.text();
      if (res.status === 429 && attempt < 10) {
        await wait(Math.min(60, Math.max(1, Number(res.headers.get('retry-after')) || 1)) * 1000, this.signal);
        continue;
      }
      if (res.ok) return text ? JSON.parse(text) : undefined;
      if (tolerate.includes(res.status)) return res.status === 404 ? NOT_FOUND : undefined;
      throw new ProvisionError(explain(method, path, res.status, text));
    }
  }
}

function explain(method: string, path: string, status: number, text: string): string {
  let error: {
    code?: string;
    message?: string;
    details?: { errors?: Array<{ row: number; field: string; message: string }> };
  } = {};
  try {
    error = (JSON.parse(text) as { error?: typeof error }).error ?? {};
  } catch {
    error = { message: text.slice(0, 200) };
  }
  const said = [error.code, error.message].filter(Boolean).join(': ');
  if (status === 401) {
    return `the server refused the API key (401 ${said}): pass an admin key with --api-key or FLEETPULSE_API_KEY, e.g. the FLEETPULSE_ADMIN_KEY serve first started with, or one from \`fleetpulse keys create --role admin\``;
  }
  if (status === 403) return `the API key may not register devices (403 ${said}): simulate needs an admin key`;
  const rows = error.details?.errors?.slice(0, 3).map((e) => `row ${e.row} ${e.field}: ${e.message}`) ?? [];
  return `${method} /api/v1${path} failed (${status} ${said})${rows.length ? `: ${rows.join('; ')}` : ''}`;
}

function wait(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}
