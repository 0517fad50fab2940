import { DiscoveryRefused } from '../sdk/errors.ts';

export interface PendingLimits {
  /** Most devices pending approval at once. Default 1,000. */
  max: number;
  /** Most new pending devices per source address per minute. Default 10. */
  perSourcePerMin: number;
}

export const DEFAULT_PENDING_LIMITS: PendingLimits = { max: 1000, perSourcePerMin: 10 };

/** Addresses tracked per minute; beyond, the rest share one bucket (bounded memory under a flood). */
const MAX_SOURCES = 50_000;
const OVERFLOW = '*';
const MINUTE = 60_000;

/**
 * Bounds what strangers can add to the inventory: every unknown device that would become
 * pending passes here first, so 50 random identities cannot become 50 devices (nor 50
 * series in InfluxDB).
 */
export class PendingGate {
  private window = -1;
  private readonly bySource = new Map<string, number>();

  constructor(
    private readonly limits: PendingLimits,
    private readonly pendingCount: () => number,
    private readonly now: () => number,
  ) {}

  /** Throws `DiscoveryRefused` when `id` may not become pending now; else counts it for `source`. */
  admit(id: string, source: string | undefined): void {
    if (this.pendingCount() >= this.limits.max) throw new DiscoveryRefused(id, 'pending_full');
    if (source === undefined) return;
    const window = Math.floor(this.now() / MINUTE);
    if (window !== this.window) {
      this.window = window;
      this.bySource.clear();
    }
    const bucket = this.bySource.has(source) || this.bySource.size < MAX_SOURCES ? source : OVERFLOW;
    const n = this.bySource.get(bucket) ?? 0;
    if (n >= this.limits.perSourcePerMin) throw new DiscoveryRefused(id, 'pending_rate');
    this.bySource.set(bucket, n + 1);
  }
}
