import type { Logger } from 'pino';
import { Backoff, sleep, type BackoffOptions } from './backoff.ts';
import type { DeadLetter, Spool } from './spool.ts';
import { countOf, linesOf, type LineBatch, type PointWriter } from './writer.ts';

export interface DrainOptions {
  spool: Spool;
  writer: PointWriter;
  log: Logger;
  /** Lines per write. Default 5,000 (InfluxDB's recommended batch size). */
  batchSize?: number;
  /** A partial batch is written after waiting this long, ms. Default 1,000. */
  flushIntervalMs?: number;
  /** Batches in flight at once. Default 2: one encodes/compresses while one is written. */
  concurrency?: number;
  backoff?: BackoffOptions;
  metrics?: DrainMetrics;
  /**
   * Run before the first write, retried with the same backoff until it resolves (the target's
   * database is created). Default: nothing to prepare.
   */
  prepare?: () => Promise<void>;
}

export interface DrainMetrics {
  written(points: number, seconds: number): void;
  writeError(kind: 'retry' | 'too_large' | 'rejected'): void;
  deadLettered(points: number): void;
}

class RetryLater extends Error {
  constructor(
    message: string,
    readonly retryAfterMs = 0,
  ) {
    super(message);
  }
}

/**
 * Moves committed points from the spool to the writer: in batches, in order of arrival, with
 * backoff and jitter on failure. A refused batch is bisected so that only the lines InfluxDB
 * refuses are dead-lettered (writes are idempotent: resending a stored point overwrites itself).
 */
export class Drain {
  private readonly spool: Spool;
  private readonly writer: PointWriter;
  private readonly log: Logger;
  private readonly batchSize: number;
  private readonly flushIntervalMs: number;
  private readonly concurrency: number;
  private readonly backoffOptions: BackoffOptions;
  private readonly metrics: DrainMetrics | undefined;
  private readonly stopper = new AbortController();
  private workers: Promise<void>[] = [];
  /** Idle workers, each woken by calling its function. */
  private readonly idlers = new Set<() => void>();
  /** Workers waiting out a backoff delay, each made to retry now by calling its function. */
  private readonly retriers = new Set<() => void>();
  private failing = false;
  private readonly prepare: (() => Promise<void>) | undefined;
  /** The one `prepare` under way, shared by the workers. */
  private preparing: Promise<void> | undefined;
  private prepared = false;
  /** Set by `stop`: a write that fails from then on ends the flush (the target is still down). */
  private stopping = false;
  private failedWhileStopping = false;

  constructor(options: DrainOptions) {
    this.spool = options.spool;
    this.writer = options.writer;
    this.log = options.log;
    this.batchSize = options.batchSize ?? 5000;
    this.flushIntervalMs = options.flushIntervalMs ?? 1000;
    this.concurrency = options.concurrency ?? 2;
    this.backoffOptions = options.backoff ?? {};
    this.metrics = options.metrics;
    this.prepare = options.prepare;
    this.prepared = this.prepare === undefined;
    if (this.spool.linesPerRow > this.batchSize) {
      throw new Error(
        `the spool stores ${this.spool.linesPerRow} lines per row, more than a batch of ${this.batchSize}: set its linesPerRow to at most the batch size`,
      );
    }
  }

  start(): void {
    // A full batch is written as soon as it is committed; only a partial one waits for the
    // flush interval.
    this.spool.onCommit = () => {
      if (this.spool.size().points - this.spool.claimedPoints() >= this.batchSize) this.nudge();
    };
    for (let i = 0; i < this.concurrency; i++) this.workers.push(this.work());
  }

  /** Asks idle workers to look at the spool now (a full batch is waiting). */
  nudge(): void {
    for (const wake of this.idlers) wake();
  }

  /**
   * Writes what is in the spool until it is empty or the deadline passes, then stops. What is
   * left stays in the spool for the next start.
   */
  async stop(deadlineMs: number): Promise<void> {
    this.spool.commit();
    // Whether the target answers now is found out by trying: workers waiting out a backoff after
    // an outage retry at once, and only a write that fails from here on ends the flush early.
    this.stopping = true;
    for (const retry of this.retriers) retry();
    // Both waits end together, so that no timer outlives stop() and holds the process open.
    const done = new AbortController();
    const deadline = sleep(deadlineMs, done.signal);
    const drained = (async () => {
      while (this.spool.size().points > 0 && !this.failedWhileStopping && !done.signal.aborted)
        await sleep(20, done.signal);
    })();
    await Promise.race([drained, deadline]);
    done.abort();
    this.stopper.abort();
    this.nudge();
    await Promise.all(this.workers);
    this.spool.onCommit = undefined;
    // Batches a worker gave up on stay in the spool; a later drain reads them again.
    this.spool.release();
  }

  private async work(): Promise<void> {
    const signal = this.stopper.signal;
    const backoff = new Backoff(this.backoffOptions);
    while (!signal.aborted) {
      if (!this.prepared && !(await this.tryPrepare(backoff, signal))) continue;
      const batch = this.spool.claim(this.batchSize);
      if (!batch) {
        await this.idle(signal);
        continue;
      }
      // A worker owns its batch until the writer has dealt with it: retry the same batch.
      for (;;) {
        try {
          const dead = await this.send(batch);
          this.spool.ack(batch, dead);
          if (dead.length > 0) this.metrics?.deadLettered(dead.length);
          if (this.failing) this.log.info({ writer: this.writer.describe() }, 'writes succeed again');
          this.failing = false;
          backoff.reset();
          break;
        } catch (err) {
          const retry = err instanceof RetryLater ? err : new RetryLater(String(err));
          const delay = backoff.next(retry.retryAfterMs);
          if (!this.failing)
            this.log.warn({ err: retry.message, delayMs: delay }, 'write failed; points stay in the spool');
          this.failing = true;
          if (this.stopping) this.failedWhileStopping = true;
          await this.backOff(delay, signal);
          if (signal.aborted) return;
        }
      }
    }
  }

  /** One attempt at `prepare` (shared by the workers); after a failure, waits out the backoff. */
  private async tryPrepare(backoff: Backoff, signal: AbortSignal): Promise<boolean> {
    let onAbort = () => {};
    const stopped = new Promise<'stopped'>((resolve) => (onAbort = () => resolve('stopped')));
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      this.preparing ??= this.prepare!();
      // A hung target must not hold up stop().
      const outcome = await Promise.race([this.preparing, stopped]).finally(() =>
        signal.removeEventListener('abort', onAbort),
      );
      if (outcome === 'stopped') return false;
      this.prepared = true;
      backoff.reset();
      return true;
    } catch (err) {
      this.preparing = undefined;
      const delay = backoff.next();
      if (!this.failing)
        this.log.warn(
          { err: (err as Error).message, delayMs: delay },
          'cannot prepare the target yet; points stay in the spool',
        );
      this.failing = true;
      if (this.stopping) this.failedWhileStopping = true;
      await this.backOff(delay, signal);
      return false;
    }
  }

  /** Waits `delayMs` after a failed write, or less when `stop` asks for one more try. */
  private async backOff(delayMs: number, signal: AbortSignal): Promise<void> {
    const now = new AbortController();
    const retry = () => now.abort();
    signal.addEventListener('abort', retry, { once: true });
    this.retriers.add(retry);
    await sleep(delayMs, now.signal);
    this.retriers.delete(retry);
    signal.removeEventListener('abort', retry);
  }

  private async idle(signal: AbortSignal): Promise<void> {
    const nudged = new AbortController();
    const wake = () => nudged.abort();
    signal.addEventListener('abort', wake, { once: true });
    this.idlers.add(wake);
    await sleep(this.flushIntervalMs, nudged.signal);
    this.idlers.delete(wake);
    signal.removeEventListener('abort', wake);
    this.spool.commit();
  }

  /** Writes a batch; returns the lines refused one by one. Throws RetryLater when nothing can be said. */
  private async send(batch: LineBatch): Promise<DeadLetter[]> {
    const started = performance.now();
    const outcome = await this.writer.write(batch);
    switch (outcome.kind) {
      case 'written':
        this.metrics?.written(countOf(batch), (performance.now() - started) / 1000);
        return [];
      case 'retry':
        this.metrics?.writeError('retry');
        throw new RetryLater(outcome.error, outcome.retryAfterMs);
      case 'too_large':
      case 'rejected': {
        this.metrics?.writeError(outcome.kind);
        const lines = linesOf(batch);
        if (lines.length === 1) return [{ line: lines[0], error: outcome.error }];
        const half = lines.length >> 1;
        return [...(await this.send(lines.slice(0, half))), ...(await this.send(lines.slice(half)))];
      }
    }
  }
}
