/**
 * End to end: points emitted through the runtime's emit path (Emitter: declaration check,
 * inventory tags, encoding → Spool: rows gzip-compressed and committed in SQLite WAL → Drain →
 * InfluxV1Writer posting the rows as they are) into a real local influxd, until every point is
 * stored; beside a bare writer posting the same lines, pre-encoded and pre-cut into batches of the
 * same size, gzip-compressed at the same level when posted, with the same number
 * of writes in flight. Each side writes into a fresh database of the same influxd, in the same run.
 *
 * Goals: ours ≥ 0.9 × bare (issue 19), and ≥ 100,000 points/s.
 * Run: npx tsx bench/pipeline.ts   (BENCH_PIPELINE_POINTS=200000 and BENCH_PIPELINE_ROUNDS=1 for a quicker run;
 * BENCH_DRAIN_CONCURRENCY and BENCH_COMMIT_LINES try other drain/spool settings for ours.)
 * On a shared 2-core machine influxd and the emitting process compete for the CPU: run it on a
 * quiet machine, and compare the two sides of one run, not runs with each other.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import pino from 'pino';
import { Drain } from '../collector/pipeline/drain.ts';
import { InfluxQuery } from '../collector/pipeline/influx-query.ts';
import { InfluxV1Writer } from '../collector/pipeline/influx-writer.ts';
import { startInfluxd } from '../collector/pipeline/local-influxd.ts';
import { Spool } from '../collector/pipeline/spool.ts';
import { openStateDb } from '../collector/pipeline/state-db.ts';
import { Emitter } from '../collector/runtime/emitter.ts';
import { SelfMetrics } from '../collector/runtime/self-metrics.ts';
import { median } from './median.ts';
import { figure, verdict, type Result } from './result.ts';
import { encodedReading, reading, sensorDirectory, sensorReading } from './sensor-fleet.ts';

const POINTS = Number(process.env.BENCH_PIPELINE_POINTS ?? 1_000_000);
/**
 * Paired rounds, the order alternating (influxd compacts what the previous side wrote while the
 * next one runs, so going first is an advantage); an even number, so that each side goes first
 * equally often. The median ratio is reported. Single runs on 2 shared cores scatter ±0.15.
 */
const ROUNDS = Number(process.env.BENCH_PIPELINE_ROUNDS ?? 4);
const BATCH = 5000;
const CONCURRENCY = 2;
/** The drain's writes in flight (serve's `pipeline.concurrency`). */
const OURS_CONCURRENCY = Number(process.env.BENCH_DRAIN_CONCURRENCY ?? CONCURRENCY);
const GOAL_RATIO = 0.9;
export const GOAL_POINTS_PER_S = 100_000;

const until = async (done: () => boolean) => {
  while (!done()) await new Promise((r) => setTimeout(r, 5));
};

/** Points per second, and this process's CPU (all threads) per point in µs: steadier than rates on a shared machine. */
interface Side {
  rate: number;
  cpuUsPerPoint: number;
}

function cpuPerPoint(since: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(since);
  return (used.user + used.system) / POINTS;
}

async function ours(url: string, database: string, dir: string, t0: number): Promise<Side> {
  const db = openStateDb(path.join(dir, 'spool.db'));
  const spool = new Spool({
    db,
    ...(process.env.BENCH_COMMIT_LINES ? { commitLines: Number(process.env.BENCH_COMMIT_LINES) } : {}),
  });
  const metrics = new SelfMetrics('bench');
  const log = pino({ level: 'silent' });
  const writer = new InfluxV1Writer({ url, database });
  const drain = new Drain({
    spool,
    writer,
    log,
    batchSize: BATCH,
    concurrency: OURS_CONCURRENCY,
    metrics: metrics.drainMetrics(),
  });
  const emit = new Emitter(spool, sensorDirectory(), metrics, log, { now: () => Date.now() }).forPlugin('bench', [
    reading,
  ]);
  drain.start();
  const cpu = process.cpuUsage();
  const started = performance.now();
  for (let i = 0; i < POINTS; i++) {
    const p = sensorReading(i, t0);
    emit(reading.name, p.fields, { device: p.device }, p.time);
    // A plugin emits from its event handlers: give the spool's timers and the drain their turns.
    if (i % 5000 === 4999) await new Promise((r) => setImmediate(r));
  }
  spool.commit();
  await until(() => spool.size().points === 0);
  const seconds = (performance.now() - started) / 1000;
  const cpuUsPerPoint = cpuPerPoint(cpu);
  await drain.stop(1000);
  spool.close();
  db.close();
  writer.close();
  return { rate: POINTS / seconds, cpuUsPerPoint };
}

async function bare(url: string, database: string, t0: number): Promise<Side> {
  const directory = sensorDirectory();
  const lines: string[] = [];
  for (let i = 0; i < POINTS; i++) lines.push(encodedReading(directory, i, t0));
  const batches: string[][] = [];
  for (let i = 0; i < lines.length; i += BATCH) batches.push(lines.slice(i, i + BATCH));
  const writer = new InfluxV1Writer({ url, database });
  let next = 0;
  const cpu = process.cpuUsage();
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < batches.length) {
        const batch = batches[next++];
        const outcome = await writer.write(batch);
        if (outcome.kind !== 'written') throw new Error(`bare writer: ${JSON.stringify(outcome)}`);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  const cpuUsPerPoint = cpuPerPoint(cpu);
  writer.close();
  return { rate: POINTS / seconds, cpuUsPerPoint };
}

async function stored(query: InfluxQuery, database: string): Promise<number> {
  const [s] = await query.query(`SELECT COUNT(uptime_s) FROM ${database}..${reading.name}`);
  return (s?.values[0]?.[1] as number) ?? 0;
}

export async function run(): Promise<Result> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'fleetpulse-bench-pipeline-'));
  const influxd = await startInfluxd({ dataDir: path.join(dir, 'influxdb') });
  try {
    const query = new InfluxQuery({ url: influxd.url });
    const t0 = Date.now() - 3_600_000;
    const rounds: Array<{ ours: Side; bare: Side }> = [];
    for (let r = 0; r < ROUNDS; r++) {
      const [oursDb, bareDb] = [`bench_ours_${r}`, `bench_bare_${r}`];
      await query.ensureDatabase({ database: oursDb });
      await query.ensureDatabase({ database: bareDb });
      const spoolDir = path.join(dir, `round-${r}`);
      mkdirSync(spoolDir);
      const runOurs = () => ours(influxd.url, oursDb, spoolDir, t0);
      const runBare = () => bare(influxd.url, bareDb, t0);
      if (r % 2 === 0) {
        const o = await runOurs();
        rounds.push({ ours: o, bare: await runBare() });
      } else {
        const b = await runBare();
        rounds.push({ ours: await runOurs(), bare: b });
      }
      for (const db of [oursDb, bareDb]) {
        const n = await stored(query, db);
        if (n !== POINTS) throw new Error(`${db}: ${n} points stored, expected ${POINTS}`);
      }
    }
    const ratios = rounds.map((r) => r.ours.rate / r.bare.rate);
    const oursRate = median(rounds.map((r) => r.ours.rate));
    const cpu = (side: 'ours' | 'bare') => median(rounds.map((r) => r[side].cpuUsPerPoint)).toFixed(1);
    return {
      name: `end to end into influxd (${POINTS.toLocaleString('en-US')} points, batches of ${BATCH}, gzip, ${CONCURRENCY} in flight; median of ${ROUNDS} paired rounds)`,
      ours: oursRate,
      reference: median(rounds.map((r) => r.bare.rate)),
      ratio: median(ratios),
      goals: [
        { on: 'ratio', atLeast: GOAL_RATIO },
        { on: 'ours', atLeast: GOAL_POINTS_PER_S },
      ],
      note: `rounds ${ratios.map((x) => x.toFixed(3)).join(', ')}; CPU of this process per point: ours ${cpu('ours')} µs (emit, encode, gzip, spool, drain), bare ${cpu('bare')} µs (gzip, HTTP)`,
    };
  } finally {
    await influxd.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const r = await run();
  console.log(r.name);
  console.log(`  ours (emit → spool → drain → writer) ${figure(r.ours)} points/s`);
  console.log(`  bare writer, pre-built batches      ${figure(r.reference)} points/s`);
  console.log(`  ratio ${figure(r.ratio)}x: ${verdict(r)}; ${r.note}`);
}
