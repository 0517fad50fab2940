/**
 * Failed authentications per source address, in fixed windows: an address that has failed
 * `max` times in the current window is refused without any key being checked until the window
 * ends, far below the limit for callers with a valid key. Memory is bounded: at most
 * `MAX_SOURCES` addresses are tracked per window; beyond, the rest share one bucket (under a
 * flood from that many addresses, new ones are refused together rather than not at all).
 */
const MAX_SOURCES = 50_000;
const OVERFLOW = '*';

export class AuthFailureLimiter {
  private window = -1;
  private readonly failures = new Map<string, number>();

  constructor(
    private readonly max: number,
    private readonly windowMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Seconds until `source` may try again, or 0 when it may try now. */
  blockedFor(source: string): number {
    this.roll();
    if ((this.failures.get(this.bucket(source)) ?? 0) < this.max) return 0;
    return Math.max(1, Math.ceil(((this.window + 1) * this.windowMs - this.now()) / 1000));
  }

  failed(source: string): void {
    this.roll();
    const bucket = this.bucket(source);
    this.failures.set(bucket, (this.failures.get(bucket) ?? 0) + 1);
  }

  private bucket(source: string): string {
    return this.failures.has(source) || this.failures.size < MAX_SOURCES ? source : OVERFLOW;
  }

  private roll(): void {
    const window = Math.floor(this.now() / this.windowMs);
    if (window === this.window) return;
    this.window = window;
    this.failures.clear();
  }
}
