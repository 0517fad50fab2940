/**
 * The load generator of bench/devices-api.ts, run as its own process so that it does not share
 * an event loop (or a CPU's time slices) with the server it measures. N loops, each with its
 * own keep-alive connection, send GET requests back to back until the duration or the request
 * cap is reached. Latency is measured per request, from send to the last byte of the body.
 *
 *   node --import tsx bench/devices-api-load.ts '<json options>'
 *
 * Prints one JSON line: { requests, errors, statuses, seconds, rps, p50, p90, p99, max, bytes }.
 */
import http from 'node:http';

export interface LoadOptions {
  url: string;
  headers?: Record<string, string>;
  /** Each loop's own headers instead, loop i taking entry i (serve allows 1,200 requests a minute per API key). */
  loopHeaders?: Array<Record<string, string>>;
  /** Loops (= connections) in flight at once. */
  concurrency: number;
  /** Measured time, ms (after the warm-up). */
  durationMs: number;
  /** Not measured: lets the server's code warm up (JIT, statement caches). */
  warmupMs: number;
  /** Stops early after this many measured requests. */
  maxRequests: number;
}

export interface LoadResult {
  requests: number;
  errors: number;
  statuses: Record<string, number>;
  seconds: number;
  rps: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  /** Mean body size, bytes. */
  bytes: number;
}

function get(agent: http.Agent, url: URL, headers: Record<string, string>): Promise<{ status: number; bytes: number }> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent, headers }, (res) => {
      let bytes = 0;
      res.on('data', (chunk: Buffer) => (bytes += chunk.length));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, bytes }));
      res.on('error', reject);
    });
    req.on('error', reject);
  });
}

export async function load(opts: LoadOptions): Promise<LoadResult> {
  const url = new URL(opts.url);
  const agent = new http.Agent({ keepAlive: true, maxSockets: opts.concurrency });
  const latencies = new Float64Array(opts.maxRequests);
  const statuses: Record<string, number> = {};
  let count = 0;
  let errors = 0;
  let bytes = 0;
  const warmEnd = performance.now() + opts.warmupMs;
  let measureStart = 0;
  let end = Infinity;

  const loop = async (i: number) => {
    const headers = opts.loopHeaders?.[i] ?? opts.headers ?? {};
    for (;;) {
      const now = performance.now();
      if (now >= end || count >= opts.maxRequests) return;
      const measuring = now >= warmEnd;
      if (measuring && measureStart === 0) {
        measureStart = now;
        end = now + opts.durationMs;
      }
      const started = performance.now();
      try {
        const res = await get(agent, url, headers);
        if (!measuring) continue;
        const took = performance.now() - started;
        if (count < opts.maxRequests) latencies[count++] = took;
        statuses[res.status] = (statuses[res.status] ?? 0) + 1;
        bytes += res.bytes;
      } catch {
        if (measuring) errors++;
      }
    }
  };
  await Promise.all(Array.from({ length: opts.concurrency }, (_, i) => loop(i)));
  const seconds = (performance.now() - measureStart) / 1000;
  agent.destroy();
  const sorted = latencies.subarray(0, count).sort();
  const pct = (p: number) => (count === 0 ? NaN : sorted[Math.min(count - 1, Math.floor((p / 100) * count))]);
  return {
    requests: count,
    errors,
    statuses,
    seconds,
    rps: count / seconds,
    p50: pct(50),
    p90: pct(90),
    p99: pct(99),
    max: count ? sorted[count - 1] : NaN,
    bytes: count ? bytes / count : 0,
  };
}

if (process.argv[2] !== undefined && import.meta.url.endsWith('/devices-api-load.ts')) {
  const result = await load(JSON.parse(process.argv[2]) as LoadOptions);
  process.stdout.write(JSON.stringify(result) + '\n');
}
