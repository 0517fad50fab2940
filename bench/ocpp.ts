/**
 * OCPP chargers held by one server process: RSS per connection, connection ramp rate, and command
 * round trip (p50/p99) through the command bus while the chargers heartbeat and send meter
 * values; beside a bare ocpp-rpc server (strict mode, answering the same calls with constants, the
 * command sent with `client.call`) measured in the same run against the same simulated fleet.
 *
 * Each server runs in its own child process (its RSS is its own); the chargers run in another
 * (plugins/ocpp/simulator.ts: half 1.6, half 2.0.1, two connectors each, transactions with meter
 * values). RSS per connection = (RSS with all connected − RSS before any) / connections, after GC.
 * Ours runs with serve's configuration: chargers registered in a SQLite inventory, each with its
 * own `ocpp_password`, the plugin's defaults (password required); the bare server checks the same
 * kind of passwords. Rounds alternate which side goes first; each figure is the median over rounds.
 *
 * Goals (issue 19): ≤ 16 KB per connection, command p99 ≤ 50 ms.
 * Run: npx tsx bench/ocpp.ts [--chargers 2000] [--full] [--commands 500] [--ramp 1000] [--rounds 2]
 *   --full = 10,000 chargers (the target; the goal is 19,000 and the open-file limit here 20,000)
 */
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { benchChild, events } from './bench-child.ts';
import { median } from './median.ts';
import type { Result } from './result.ts';

export interface OcppBenchSide {
  connected: number;
  ramp_per_s: number;
  rss_per_connection_kb: number;
  /** Used JS heap per connection, KB (the part of RSS that is objects, not allocator slack). */
  heap_per_connection_kb: number;
  /** The growth of each V8 heap space, external memory and the rest of RSS, per connection, KB. */
  rss_parts_per_connection_kb: Record<string, number>;
  rss_mb: number;
  p50_ms: number;
  p99_ms: number;
  failed: number;
}
export interface OcppBench {
  chargers: number;
  rounds: number;
  /** The medians over rounds of each numeric figure (the parts: the first round's). */
  ours: OcppBenchSide;
  bare: OcppBenchSide;
  /** Each round's RSS per connection and p99 ratio, ours ÷ bare. */
  ratios: { rss: number[]; p99: number[] };
  goals: { rss_per_connection_kb: number; p99_ms: number };
}

const CHILD = new URL('./ocpp-child.ts', import.meta.url).pathname;
const child = (role: string, job: object, gc = false) => benchChild(CHILD, role, job, { gc });

async function side(role: 'ours' | 'bare', chargers: number, commands: number, ramp: number): Promise<OcppBenchSide> {
  const server = child(role, { chargers, commands, heartbeat_s: 60 }, true);
  const on = events(server);
  const { port, passwords } = await on('ready');
  const fleet = child('chargers', {
    server: `http://127.0.0.1:${port}`,
    passwords,
    chargers,
    ramp_per_s: ramp,
    meter_interval_s: 30,
  });
  try {
    const { event: _e, ...result } = await on('result');
    return result as OcppBenchSide;
  } finally {
    fleet.kill('SIGTERM');
    await new Promise((r) => (fleet.exitCode !== null ? r(null) : fleet.once('exit', r)));
    server.kill('SIGTERM');
  }
}

export async function measure(
  options: { chargers?: number; commands?: number; ramp?: number; rounds?: number } = {},
): Promise<OcppBench> {
  const chargers = options.chargers ?? 2000;
  const commands = options.commands ?? 500;
  const ramp = options.ramp ?? 1000;
  const rounds = options.rounds ?? 2;
  const runs: Array<{ ours: OcppBenchSide; bare: OcppBenchSide }> = [];
  for (let r = 0; r < rounds; r++) {
    if (r % 2 === 0) {
      const bare = await side('bare', chargers, commands, ramp);
      runs.push({ bare, ours: await side('ours', chargers, commands, ramp) });
    } else {
      const ours = await side('ours', chargers, commands, ramp);
      runs.push({ ours, bare: await side('bare', chargers, commands, ramp) });
    }
  }
  const medianOf = (which: 'ours' | 'bare'): OcppBenchSide => {
    const first = runs[0][which];
    const out = { ...first };
    for (const key of Object.keys(first) as Array<keyof OcppBenchSide>)
      if (typeof first[key] === 'number') (out[key] as number) = median(runs.map((x) => x[which][key] as number));
    return out;
  };
  return {
    chargers,
    rounds,
    ours: medianOf('ours'),
    bare: medianOf('bare'),
    ratios: {
      rss: runs.map((x) => x.ours.rss_per_connection_kb / x.bare.rss_per_connection_kb),
      p99: runs.map((x) => x.ours.p99_ms / x.bare.p99_ms),
    },
    goals: { rss_per_connection_kb: 16, p99_ms: 50 },
  };
}

/** For `npm run bench`: 2,000 chargers; 10,000 with `-- --scale seed` (bench/run.ts sets BENCH_SCALE). */
export async function run(): Promise<Result[]> {
  const r = await measure(process.env.BENCH_SCALE === 'seed' ? { chargers: 10_000 } : {});
  const name = (what: string) =>
    `OCPP ${what} (${r.chargers.toLocaleString('en-US')} chargers, plugin + bus as serve runs it vs bare ocpp-rpc, median of ${r.rounds} alternating rounds)`;
  const failed = r.ours.failed + r.bare.failed;
  if (failed > 0) throw new Error(`${r.ours.failed} of our commands and ${r.bare.failed} bare ones failed`);
  return [
    {
      name: name('memory per connection'),
      ours: r.ours.rss_per_connection_kb,
      reference: r.bare.rss_per_connection_kb,
      ratio: median(r.ratios.rss),
      goals: [{ on: 'ours', atMost: r.goals.rss_per_connection_kb }],
      unit: 'KB',
      note: `rounds ${r.ratios.rss.map((x) => x.toFixed(3)).join(', ')}`,
    },
    {
      name: name('command p99'),
      ours: r.ours.p99_ms,
      reference: r.bare.p99_ms,
      ratio: median(r.ratios.p99),
      goals: [{ on: 'ours', atMost: r.goals.p99_ms }],
      unit: 'ms',
      note: `rounds ${r.ratios.p99.map((x) => x.toFixed(3)).join(', ')}`,
    },
  ];
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { values } = parseArgs({
    options: {
      chargers: { type: 'string' },
      full: { type: 'boolean' },
      commands: { type: 'string' },
      ramp: { type: 'string' },
      rounds: { type: 'string' },
    },
  });
  const chargers = values.full ? 10_000 : Number(values.chargers ?? 2000);
  const r = await measure({
    chargers,
    commands: Number(values.commands ?? 500),
    ramp: Number(values.ramp ?? 1000),
    rounds: Number(values.rounds ?? 2),
  });
  const row = (name: string, s: OcppBenchSide) =>
    `${name.padEnd(28)} ${String(s.connected).padStart(6)} ${s.ramp_per_s.toFixed(0).padStart(8)} ${s.rss_per_connection_kb.toFixed(1).padStart(10)} ${s.heap_per_connection_kb.toFixed(1).padStart(9)} ${s.rss_mb.toFixed(0).padStart(7)} ${s.p50_ms.toFixed(2).padStart(8)} ${s.p99_ms.toFixed(2).padStart(8)} ${String(s.failed).padStart(6)}`;
  console.log(
    `OCPP: ${r.chargers} chargers (half 1.6, half 2.0.1), heartbeats + meter values every 30 s per connector`,
  );
  console.log(
    `${''.padEnd(28)} ${'conn'.padStart(6)} ${'conn/s'.padStart(8)} ${'KB/conn'.padStart(10)} ${'heap KB'.padStart(9)} ${'RSS MB'.padStart(7)} ${'p50 ms'.padStart(8)} ${'p99 ms'.padStart(8)} ${'failed'.padStart(6)}`,
  );
  console.log(row('fleetpulse (plugin + bus)', r.ours));
  console.log(row('bare ocpp-rpc (reference)', r.bare));
  console.log(`goals: ≤ ${r.goals.rss_per_connection_kb} KB per connection, command p99 ≤ ${r.goals.p99_ms} ms`);
  const parts = (s: OcppBenchSide) =>
    Object.entries(s.rss_parts_per_connection_kb)
      .filter(([, kb]) => Math.abs(kb) >= 0.1)
      .map(([k, kb]) => `${k} ${kb}`)
      .join(', ');
  console.log(`RSS growth per connection by part, KB: ours: ${parts(r.ours)}`);
  console.log(`                                       bare: ${parts(r.bare)}`);
}
