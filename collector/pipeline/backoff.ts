/**
 * Exponential backoff with full jitter: many collectors retrying against one recovering InfluxDB
 * spread out instead of arriving in waves.
 */
export interface BackoffOptions {
  /** First delay ceiling, ms. Default 500. */
  initialMs?: number;
  /** Largest delay, ms. Default 60,000. */
  maxMs?: number;
}

export class Backoff {
  private attempt = 0;
  private readonly initialMs: number;
  private readonly maxMs: number;

  constructor(
    options: BackoffOptions = {},
    private readonly random: () => number = Math.random,
  ) {
    this.initialMs = options.initialMs ?? 500;
    this.maxMs = options.maxMs ?? 60_000;
  }

  /** The next delay; `atLeastMs` honours a server's Retry-After. */
  next(atLeastMs = 0): number {
    const ceiling = Math.min(this.maxMs, this.initialMs * 2 ** this.attempt);
    this.attempt = Math.min(this.attempt + 1, 30);
    return Math.max(atLeastMs, Math.round(this.random() * ceiling));
  }

  reset(): void {
    this.attempt = 0;
  }
}

/** Resolves after `ms`, or at once when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
  });
}
