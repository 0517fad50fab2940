import zlib from 'node:zlib';

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

/**
 * Lines packed once, when the spool committed them: their text, each line followed by `\n`,
 * gzip-compressed (possibly several gzip members one after the other, which a gzip reader reads
 * as one stream), so that an HTTP writer posts them without joining or compressing again.
 */
export interface PackedLines {
  readonly count: number;
  readonly gzip: Buffer;
  /** The lines themselves (decompressed: for a writer that needs them, or to bisect a refused batch). */
  lines(): readonly string[];
}

/**
 * Compresses line-protocol text, synchronously: a 5,000-line batch takes about 2 ms, and doing it
 * in the thread pool cost twice the CPU per point in garbage collection (each call's buffers and
 * zlib state stay alive across event-loop turns while the emitters run). Level 1: the gain of
 * higher levels on line protocol is small, their CPU cost is not.
 */
export function gzipLines(text: string | Buffer): Buffer {
  return zlib.gzipSync(text, { level: 1 });
}

/** What a writer is given: lines, or lines the spool packed. */
export type LineBatch = readonly string[] | PackedLines;

export function isPacked(batch: LineBatch): batch is PackedLines {
  return !Array.isArray(batch);
}

export function linesOf(batch: LineBatch): readonly string[] {
  return isPacked(batch) ? batch.lines() : batch;
}

export function countOf(batch: LineBatch): number {
  return isPacked(batch) ? batch.count : batch.length;
}

export interface PointWriter {
  // A property, not a method: the compiler then refuses a writer that only takes arrays.
  write: (batch: LineBatch) => Promise<WriteOutcome>;
  /** Where the writer writes, for logs: `influxdb v1 http://127.0.0.1:8086 db=fleetpulse`. */
  describe(): string;
}
