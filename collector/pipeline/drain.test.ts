import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { useInfluxd } from '../../test/helpers/influxd.ts';
import { Emitter } from '../runtime/emitter.ts';
import { SelfMetrics } from '../runtime/self-metrics.ts';
import { defineMeasurement, MemoryDirectory } from '../sdk/index.ts';
import { Drain, type DrainOptions } from './drain.ts';
import { InfluxV1Writer } from './influx-writer.ts';
import { Spool } from './spool.ts';
import { openStateDb } from './state-db.ts';
import { linesOf, type LineBatch, type PointWriter, type WriteOutcome } from './writer.ts';

const log = pino({ level: 'silent' });
const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/**
 * Our own PointWriter (the drain's seam, not a stand-in for InfluxDB): it answers each batch with
 * `decide(lines)` and remembers what it stored.
 */
class ScriptedWriter implements PointWriter {
  readonly stored: string[] = [];
  readonly calls: Array<{ at: number; size: number; outcome: WriteOutcome['kind'] }> = [];
  constructor(private readonly decide: (lines: readonly string[], call: number) => WriteOutcome) {}
  async write(batch: LineBatch): Promise<WriteOutcome> {
    const lines = linesOf(batch);
    const outcome = this.decide(lines, this.calls.length);
    this.calls.push({ at: performance.now(), size: lines.length, outcome: outcome.kind });
    if (outcome.kind === 'written') this.stored.push(...lines);
    return outcome;
  }
  describe() {
    return 'scripted writer';
  }
}

function setUp(writer: PointWriter, options: Partial<DrainOptions> = {}) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'fleetpulse-drain-'));
  const db = openStateDb(path.join(dir, 'spool.db'));
  // Rows of two lines: batches are cut at row boundaries, and odd batch sizes must still work.
  const spool = new Spool({ db, commitIntervalMs: 5, linesPerRow: 2 });
  const counts = { retry: 0, too_large: 0, rejected: 0, deadLettered: 0, written: 0 };
  const drain = new Drain({
    spool,
    writer,
    log,
    flushIntervalMs: 20,
    backoff: { initialMs: 1, maxMs: 50 },
    metrics: {
      written: (n) => (counts.written += n),
      writeError: (kind) => counts[kind]++,
      deadLettered: (n) => (counts.deadLettered += n),
    },
    ...options,
  });
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  cleanups.push(() => db.close());
  cleanups.push(() => drain.stop(0));
  drain.start();
  return { spool, drain, counts };
}

/** Waits (bounded) until `done()` holds. */
async function until(done: () => boolean | Promise<boolean>, what: string, limitMs = 30_000): Promise<void> {
  const end = Date.now() + limitMs;
  while (!(await done())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const line = (i: number) => `m,device=d${i % 5} v=${i}i ${1_700_000_000_000 + i}`;

describe('Drain with our own PointWriter', () => {
  it('writes everything in order of arrival, also what arrives after the spool was emptied', async () => {
    const writer = new ScriptedWriter(() => ({ kind: 'written' }));
    const { spool } = setUp(writer, { batchSize: 4, concurrency: 1 });
    for (let i = 0; i < 10; i++) spool.append(line(i));
    await until(() => spool.size().points === 0, 'the first wave');
    for (let i = 10; i < 13; i++) spool.append(line(i));
    await until(() => spool.size().points === 0, 'the second wave');
    expect(writer.stored).toEqual(Array.from({ length: 13 }, (_, i) => line(i)));
    expect(Math.max(...writer.calls.map((c) => c.size))).toBeLessThanOrEqual(4);
  });

  it('retries a batch after a failure, waiting at least the Retry-After the server asked for', async () => {
    const writer = new ScriptedWriter((_, call) =>
      call === 0 ? { kind: 'retry', error: '429 too many requests', retryAfterMs: 300 } : { kind: 'written' },
    );
    const { spool, counts } = setUp(writer, { concurrency: 1 });
    for (let i = 0; i < 5; i++) spool.append(line(i));
    await until(() => spool.size().points === 0, 'the retried batch');
    expect(writer.calls.map((c) => c.outcome)).toEqual(['retry', 'written']);
    expect(writer.calls[1].at - writer.calls[0].at).toBeGreaterThanOrEqual(290);
    expect(writer.stored).toEqual(Array.from({ length: 5 }, (_, i) => line(i)));
    expect(counts.retry).toBe(1);
  });

  it('keeps retrying with backoff while the writer is down; nothing is lost or dead-lettered', async () => {
    let down = true;
    const writer = new ScriptedWriter(() =>
      down ? { kind: 'retry', error: 'connect ECONNREFUSED' } : { kind: 'written' },
    );
    const { spool, counts } = setUp(writer, { batchSize: 3 });
    for (let i = 0; i < 10; i++) spool.append(line(i));
    await until(() => counts.retry >= 5, 'several failed attempts');
    expect(spool.size().points).toBe(10);
    down = false;
    await until(() => spool.size().points === 0, 'recovery');
    expect([...writer.stored].sort()).toEqual(Array.from({ length: 10 }, (_, i) => line(i)).sort());
    expect(counts.deadLettered).toBe(0);
  });

  it('splits a batch the server finds too large until the parts fit', async () => {
    const writer = new ScriptedWriter((lines) =>
      lines.length > 3 ? { kind: 'too_large', error: '413' } : { kind: 'written' },
    );
    const { spool, counts } = setUp(writer, { batchSize: 10, concurrency: 1 });
    for (let i = 0; i < 10; i++) spool.append(line(i));
    await until(() => spool.size().points === 0, 'the split batch');
    expect(writer.stored).toEqual(Array.from({ length: 10 }, (_, i) => line(i)));
    expect(counts.too_large).toBeGreaterThan(0);
    expect(counts.deadLettered).toBe(0);
  });

  it('bisects a refused batch and dead-letters only the lines refused on their own', async () => {
    const bad = new Set([line(3), line(14)]);
    const writer = new ScriptedWriter((lines) =>
      lines.some((l) => bad.has(l)) ? { kind: 'rejected', error: 'unable to parse' } : { kind: 'written' },
    );
    const { spool, counts } = setUp(writer, { batchSize: 20, concurrency: 1 });
    for (let i = 0; i < 20; i++) spool.append(line(i));
    await until(() => spool.size().points === 0, 'the bisected batch');
    expect(writer.stored).toEqual(Array.from({ length: 20 }, (_, i) => line(i)).filter((l) => !bad.has(l)));
    expect(
      spool
        .deadLetters()
        .map((d) => d.line)
        .sort(),
    ).toEqual([...bad].sort());
    expect(spool.deadLetters()[0].error).toBe('unable to parse');
    expect(counts.deadLettered).toBe(2);
  });

  it('stops at its deadline while the writer is down, leaving the points in the spool', async () => {
    const writer = new ScriptedWriter(() => ({ kind: 'retry', error: 'down' }));
    const { spool, drain } = setUp(writer);
    for (let i = 0; i < 7; i++) spool.append(line(i));
    await until(() => writer.calls.length > 0, 'a first attempt');
    await drain.stop(100);
    expect(spool.size().points).toBe(7);
  });
});

describe('Drain configuration', () => {
  it('refuses a spool whose rows hold more lines than one batch', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'fleetpulse-drain-'));
    const db = openStateDb(path.join(dir, 'spool.db'));
    try {
      const spool = new Spool({ db, linesPerRow: 500 });
      expect(
        () => new Drain({ spool, writer: new ScriptedWriter(() => ({ kind: 'written' })), log, batchSize: 100 }),
      ).toThrow(/500 lines per row, more than a batch of 100/);
    } finally {
      db.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('Drain into a real influxd', () => {
  const influx = useInfluxd();
  const reading = defineMeasurement({
    name: 'reading',
    description: 'test',
    tags: {},
    fields: { seq: { type: 'int', description: 'sequence number' }, v: { type: 'float', description: 'value' } },
  });

  function pipeline(db: string) {
    const metrics = new SelfMetrics('test-host');
    const writer = new InfluxV1Writer({ url: influx.url, database: db, timeoutMs: 2000 });
    cleanups.push(() => writer.close());
    const { spool, drain } = setUp(writer, {
      batchSize: 500,
      flushIntervalMs: 50,
      backoff: { initialMs: 20, maxMs: 200 },
      metrics: metrics.drainMetrics(),
    });
    const emitter = new Emitter(spool, new MemoryDirectory(), metrics, log, { now: () => Date.now() });
    return { spool, drain, metrics, emit: emitter.forPlugin('test', [reading]) };
  }

  async function distinctSeq(db: string): Promise<{ count: number; distinct: number }> {
    const [s] = await influx.query('SELECT COUNT(seq), COUNT(DISTINCT(seq)) FROM reading', { db });
    return { count: (s?.values[0]?.[1] as number) ?? 0, distinct: (s?.values[0]?.[2] as number) ?? 0 };
  }

  it('after an outage of InfluxDB, every point emitted during it is stored exactly once', async () => {
    const db = await influx.freshDatabase();
    const { spool, emit } = pipeline(db);
    const t0 = Date.now() - 3_600_000; // inside the retention policy
    let seq = 0;
    const emitSome = (n: number) => {
      for (let i = 0; i < n; i++, seq++) emit('reading', { seq, v: seq / 10 }, { device: `d${seq % 20}` }, t0 + seq);
    };
    emitSome(1000);
    await until(() => spool.size().points === 0, 'the points before the outage');
    await influx.stop();
    try {
      emitSome(3000); // during the outage
      await new Promise((r) => setTimeout(r, 500)); // let the drain fail and back off a few times
      expect(spool.size().points).toBe(3000);
    } finally {
      await influx.start();
    }
    await until(() => spool.size().points === 0, 'the spool to drain after the outage');
    expect(await distinctSeq(db)).toEqual({ count: 4000, distinct: 4000 });
  });

  it('writes the valid lines of a batch with one invalid line, dead-letters and counts the bad one', async () => {
    const db = await influx.freshDatabase();
    const { spool, metrics } = pipeline(db);
    const t0 = Date.now() - 7_200_000;
    const lines = Array.from({ length: 50 }, (_, i) => `reading,device=d1 seq=${i}i ${t0 + i}`);
    // A field type conflict (seq is an integer): InfluxDB refuses this line alone.
    lines[17] = `reading,device=d1 seq="seventeen" ${t0 + 17}`;
    for (const l of lines) spool.append(l);
    await until(() => spool.size().points === 0, 'the batch with one bad line');
    expect(await distinctSeq(db)).toEqual({ count: 49, distinct: 49 });
    expect(spool.deadLetters().map((d) => d.line)).toEqual([lines[17]]);
    expect(spool.deadLetters()[0].error).toMatch(/conflict/);
    expect(await metrics.registry.metrics()).toMatch(/fleetpulse_points_dropped_total\{reason="dead_letter"\} 1\b/);
  });
});
