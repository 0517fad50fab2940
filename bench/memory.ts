/**
 * Memory per point waiting in the pipeline: points emitted through the runtime (Emitter → Spool)
 * while the writer cannot write (InfluxDB on a closed port), so every point waits. Measured as
 * the growth of V8 heap + external memory after a forced GC, divided by the points waiting;
 * beside a reference measured the same way in the same run: the same encoded lines held in a
 * plain in-memory array (what a queue without a spool would hold). The resident set (RSS) growth
 * is reported too: it includes SQLite's page cache, which is bounded and not per point.
 *
 * Goal: ≤ 400 bytes per waiting point (heap + external).
 * Run: npx tsx bench/memory.ts   (needs --expose-gc: it re-runs itself in a child that has it)
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import pino from 'pino';
import { Drain } from '../collector/pipeline/drain.ts';
import { InfluxV1Writer } from '../collector/pipeline/influx-writer.ts';
import { freePort } from '../collector/pipeline/ports.ts';
import { Spool } from '../collector/pipeline/spool.ts';
import { openStateDb } from '../collector/pipeline/state-db.ts';
import { Emitter } from '../collector/runtime/emitter.ts';
import { SelfMetrics } from '../collector/runtime/self-metrics.ts';
import { encodedReading, reading, sensorDirectory, sensorReading } from './sensor-fleet.ts';

const POINTS = Number(process.env.BENCH_MEMORY_POINTS ?? 200_000);
const GOAL_BYTES = 400;

export interface MemoryResult {
  name: string;
  /** Bytes per waiting point, ours (heap + external). */
  ours: number;
  /** Bytes per point, lines in an in-memory array. */
  reference: number;
  ratio: number;
  /** Bytes per point we aim to stay under. */
  goal: number;
  lowerIsBetter: true;
  unit: string;
  note: string;
}

const gc = () => {
  for (let i = 0; i < 3; i++) (globalThis as { gc?: () => void }).gc!();
};
const used = () => {
  const m = process.memoryUsage();
  return { heap: m.heapUsed + m.external + m.arrayBuffers, rss: m.rss };
};

async function measure(): Promise<MemoryResult> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'fleetpulse-bench-memory-'));
  const directory = sensorDirectory();
  const t0 = Date.now() - 3_600_000;
  const log = pino({ level: 'silent' });
  try {
    // Ours: the whole pipeline up, the writer failing.
    const db = openStateDb(path.join(dir, 'spool.db'));
    const spool = new Spool({ db });
    const metrics = new SelfMetrics('bench');
    const writer = new InfluxV1Writer({
      url: `http://127.0.0.1:${await freePort()}`,
      database: 'nowhere',
      timeoutMs: 1000,
    });
    const drain = new Drain({ spool, writer, log, backoff: { initialMs: 200, maxMs: 500 } });
    const emit = new Emitter(spool, directory, metrics, log, { now: () => Date.now() }).forPlugin('bench', [reading]);
    drain.start();
    // Warm up the code paths (and the tag-set caches) before the baseline.
    for (let i = 0; i < 2000; i++) {
      const p = sensorReading(i, t0 - 10_000);
      emit(reading.name, p.fields, { device: p.device }, p.time);
    }
    spool.commit();
    await new Promise((r) => setTimeout(r, 300));
    gc();
    const before = used();
    for (let i = 0; i < POINTS; i++) {
      const p = sensorReading(i, t0);
      emit(reading.name, p.fields, { device: p.device }, p.time);
      if (i % 5000 === 4999) await new Promise((r) => setImmediate(r));
    }
    spool.commit();
    await new Promise((r) => setTimeout(r, 300));
    gc();
    const after = used();
    const waiting = spool.size().points;
    if (waiting < POINTS) throw new Error(`only ${waiting} points waiting: the writer was not down`);
    const oursBytes = (after.heap - before.heap) / POINTS;
    const oursRss = (after.rss - before.rss) / POINTS;
    await drain.stop(0);
    spool.close();
    db.close();
    writer.close();

    // Reference: the same encoded lines in an array.
    const lines: string[] = [];
    gc();
    const refBefore = used();
    for (let i = 0; i < POINTS; i++) lines.push(encodedReading(directory, i, t0));
    gc();
    const refBytes = (used().heap - refBefore.heap) / POINTS;
    if (lines.length !== POINTS) throw new Error('reference lost lines');
    return {
      name: `memory per waiting point (${POINTS.toLocaleString('en-US')} points, writer down)`,
      ours: Math.round(oursBytes),
      reference: Math.round(refBytes),
      ratio: Math.round((oursBytes / refBytes) * 100) / 100,
      goal: GOAL_BYTES,
      lowerIsBetter: true,
      unit: 'bytes/point',
      note: `RSS growth ${Math.round(oursRss)} B/point (includes SQLite's bounded page cache); the spool keeps waiting points on disk`,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Runs the measurement in a child with --expose-gc unless this process has gc already. */
export async function run(): Promise<MemoryResult> {
  if ((globalThis as { gc?: unknown }).gc) return measure();
  const out = execFileSync(
    process.execPath,
    ['--expose-gc', '--import', 'tsx', fileURLToPath(import.meta.url), '--json'],
    {
      cwd: path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..'),
      encoding: 'utf8',
      env: process.env,
    },
  );
  return JSON.parse(out.trim().split('\n').at(-1)!) as MemoryResult;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const r = await run();
  if (process.argv.includes('--json')) console.log(JSON.stringify(r));
  else {
    console.log(r.name);
    console.log(`  ours (emit → spool, writer down)  ${r.ours} ${r.unit}`);
    console.log(`  lines in an in-memory array      ${r.reference} ${r.unit}`);
    console.log(`  goal <= ${r.goal} ${r.unit}: ${r.ours <= r.goal ? 'meets' : 'MISSES'}; ${r.note}`);
  }
}
