/**
 * Memory per point waiting in the pipeline: points emitted through the runtime (Emitter → Spool)
 * while the writer cannot write (InfluxDB on a closed port), so every point waits. Beside a
 * reference doing the same durable work in the simplest way: the same encoded lines inserted one
 * row each into a plain SQLite table (WAL, committed every 5,000 lines) by better-sqlite3.
 *
 * Each side runs in a child process of its own, and is measured as the growth of that process's
 * resident set (RSS: V8 heap, external memory and native memory, SQLite's and zlib's included)
 * from a baseline taken after a warm-up and a forced GC, divided by the points waiting. Two
 * rounds per side, the order alternating; the medians are reported.
 *
 * Goal: ≤ 400 bytes per waiting point.
 * Run: npx tsx bench/memory.ts   (BENCH_MEMORY_POINTS=200000)
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
import { median } from './median.ts';
import { figure, verdict, type Result } from './result.ts';
import { encodedReading, reading, sensorDirectory, sensorReading } from './sensor-fleet.ts';

const POINTS = Number(process.env.BENCH_MEMORY_POINTS ?? 200_000);
const ROUNDS = 2;
const GOAL_BYTES = 400;
const COMMIT_LINES = 5000;

type Side = 'ours' | 'reference';
interface Growth {
  /** RSS growth per point, bytes. */
  rss: number;
  /** V8 heap + external growth per point, bytes: the JavaScript part of `rss`. */
  heap: number;
}

const gc = () => {
  for (let i = 0; i < 3; i++) (globalThis as { gc?: () => void }).gc!();
};
const settle = async () => {
  await new Promise((r) => setTimeout(r, 300));
  gc();
  const m = process.memoryUsage();
  return { rss: m.rss, heap: m.heapUsed + m.external };
};
const breathe = (i: number) => (i % 5000 === 4999 ? new Promise((r) => setImmediate(r)) : undefined);

/** Ours: the whole pipeline up, the writer failing. */
async function ours(dir: string, t0: number): Promise<Growth> {
  const directory = sensorDirectory();
  const log = pino({ level: 'silent' });
  const db = openStateDb(path.join(dir, 'spool.db'));
  const spool = new Spool({ db });
  const writer = new InfluxV1Writer({
    url: `http://127.0.0.1:${await freePort()}`,
    database: 'nowhere',
    timeoutMs: 1000,
  });
  const drain = new Drain({ spool, writer, log, backoff: { initialMs: 200, maxMs: 500 } });
  const emit = new Emitter(spool, directory, new SelfMetrics('bench'), log, { now: () => Date.now() }).forPlugin(
    'bench',
    [reading],
  );
  drain.start();
  // Warm up the code paths, the tag-set caches and SQLite's page cache before the baseline.
  for (let i = 0; i < 20_000; i++) {
    const p = sensorReading(i, t0 - 100_000);
    emit(reading.name, p.fields, { device: p.device }, p.time);
    await breathe(i);
  }
  spool.commit();
  const before = await settle();
  for (let i = 0; i < POINTS; i++) {
    const p = sensorReading(i, t0);
    emit(reading.name, p.fields, { device: p.device }, p.time);
    await breathe(i);
  }
  spool.commit();
  const after = await settle();
  const waiting = spool.size().points;
  if (waiting < POINTS) throw new Error(`only ${waiting} points waiting: the writer was not down`);
  await drain.stop(0);
  spool.close();
  db.close();
  writer.close();
  return { rss: (after.rss - before.rss) / POINTS, heap: (after.heap - before.heap) / POINTS };
}

/** Reference: the same lines, one row each in a plain SQLite table, committed every COMMIT_LINES. */
async function reference(dir: string, t0: number): Promise<Growth> {
  const directory = sensorDirectory();
  const db = openStateDb(path.join(dir, 'lines.db'));
  db.exec('CREATE TABLE lines (id INTEGER PRIMARY KEY, line TEXT NOT NULL)');
  const insert = db.prepare('INSERT INTO lines (line) VALUES (?)');
  const commit = db.transaction((batch: string[]) => {
    for (const line of batch) insert.run(line);
  });
  const write = async (count: number, from: number) => {
    let batch: string[] = [];
    for (let i = 0; i < count; i++) {
      batch.push(encodedReading(directory, i, from));
      if (batch.length === COMMIT_LINES) {
        commit(batch);
        batch = [];
      }
      await breathe(i);
    }
    commit(batch);
  };
  await write(20_000, t0 - 100_000);
  const before = await settle();
  await write(POINTS, t0);
  const after = await settle();
  const rows = db.prepare('SELECT count(*) FROM lines').pluck().get() as number;
  if (rows !== POINTS + 20_000) throw new Error(`reference lost lines: ${rows}`);
  db.close();
  return { rss: (after.rss - before.rss) / POINTS, heap: (after.heap - before.heap) / POINTS };
}

async function measureSide(side: Side): Promise<Growth> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'fleetpulse-bench-memory-'));
  try {
    const t0 = Date.now() - 3_600_000;
    return side === 'ours' ? await ours(dir, t0) : await reference(dir, t0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** One side in a fresh child process with --expose-gc: its RSS is its own. */
function inChild(side: Side): Growth {
  const out = execFileSync(
    process.execPath,
    ['--expose-gc', '--import', 'tsx', fileURLToPath(import.meta.url), '--side', side],
    { cwd: path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..'), encoding: 'utf8', env: process.env },
  );
  return JSON.parse(out.trim().split('\n').at(-1)!) as Growth;
}

export async function run(): Promise<Result> {
  const rounds: Array<Record<Side, Growth>> = [];
  for (let r = 0; r < ROUNDS; r++) {
    const order: Side[] = r % 2 === 0 ? ['ours', 'reference'] : ['reference', 'ours'];
    const round = {} as Record<Side, Growth>;
    for (const side of order) round[side] = inChild(side);
    rounds.push(round);
  }
  const of = (side: Side, part: keyof Growth) => median(rounds.map((r) => r[side][part]));
  return {
    name: `memory per waiting point (${POINTS.toLocaleString('en-US')} points, writer down; RSS of a child process, median of ${ROUNDS} alternating rounds)`,
    ours: of('ours', 'rss'),
    reference: of('reference', 'rss'),
    ratio: median(rounds.map((r) => r.ours.rss / r.reference.rss)),
    goals: [{ on: 'ours', atMost: GOAL_BYTES }],
    unit: 'bytes/point',
    note: `reference: the same lines, one row each in a plain SQLite table; of which V8 heap + external: ours ${figure(of('ours', 'heap'))}, reference ${figure(of('reference', 'heap'))} B/point`,
  };
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const i = process.argv.indexOf('--side');
  if (i > 0) console.log(JSON.stringify(await measureSide(process.argv[i + 1] as Side)));
  else {
    const r = await run();
    console.log(r.name);
    console.log(`  ours (emit → spool, writer down)        ${figure(r.ours)} ${r.unit}`);
    console.log(`  lines in a plain SQLite table (ref.)    ${figure(r.reference)} ${r.unit}`);
    console.log(`  ${verdict(r)}; ${r.note}`);
  }
}
