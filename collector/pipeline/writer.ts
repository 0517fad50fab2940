/**
 * The seam between the spool's drain and a storage backend. A writer sends one batch of
 * line-protocol lines and classifies the answer; it never retries by itself, so that retry,
 * backoff, splitting and dead-lettering live in one place (the drain).
 */
export type WriteOutcome =
  /** Every line is stored. */
  | { kind: 'written' }
  /** Nothing can be said about the batch (network error, 5xx, 429, 503): send it again later. */
  | { kind: 'retry'; error: string; retryAfterMs?: number }
  /** 413: the batch is too large; send it in smaller parts. */
  | { kind: 'too_large'; error: string }
  /**
   * 400: at least one line was refused. Writes are idempotent (points carry their own
   * timestamps), so the drain bisects the batch to find and dead-letter only the bad lines.
   */
  | { kind: 'rejected'; error: string };

export interface PointWriter {
  write(lines: readonly string[]): Promise<WriteOutcome>;
  /** Where the writer writes, for logs: `influxdb v1 http://127.0.0.1:8086 db=fleetpulse`. */
  describe(): string;
}
