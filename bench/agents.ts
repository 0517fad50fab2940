/**
 * Edge agents at the seeds' scale (issue 19): 10,000 agents connected at once to one server, two
 * TC-200 terminals behind each (20,000), each agent reporting every 5 minutes compressed in time:
 * the interval scaled down (default 10 s, 30× faster), the same points per agent per report (the
 * agent simulator's: a status and link point per terminal, liveness where due, two self-metrics).
 *
 * The server runs in a child process as serve runs it (bench/agents-child.ts: every plugin, the
 * fleet in a SQLite inventory with a token per agent, the real spool, a drain into a real influxd
 * started here); the agents in other processes (CLIENTS, default 4: 2,500 sockets each), all with
 * the open-file limit raised to the hard limit. Figures:
 * - connections held: agents attached at the end of the measuring window, of all of them;
 * - server RSS per agent: RSS growth from before any connection to all connected, after GC, ÷ agents
 *   (the inventory's records are in the baseline);
 * - points/s written to influxd over the window, beside what the fleet offers in that time;
 * - ack p99: each report timed from its send until the server acknowledged it committed;
 * - reconnect: serve stopped (SIGTERM) and started again on the same files and port, the time
 *   until all agents are attached again, with their own jittered backoff (1 s doubling to 30 s).
 *
 * Goals (issue 19): ≤ 16 KB per agent; every agent held. No bare server is measured beside it:
 * the RSS row's reference is the goal, the points row's what the fleet offered.
 * Run: npx tsx bench/agents.ts   (AGENTS=10000 TERMINALS=2 INTERVAL_S=10 WINDOW_S=60 CLIENTS=4)
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { InfluxQuery } from '../collector/pipeline/influx-query.ts';
import { startInfluxd } from '../collector/pipeline/local-influxd.ts';
import { benchChild, events } from './bench-child.ts';
import { figure, verdict, type Result } from './result.ts';

const CHILD = new URL('./agents-child.ts', import.meta.url).pathname;
const GOAL_RSS_KB = 16;

export interface AgentsBench {
  agents: number;
  terminals: number;
  interval_s: number;
  window_s: number;
  clients: number;
  connect_s: number;
  held: number;
  rss_per_agent_kb: number;
  rss_mb: number;
  rss_parts_per_agent_kb: Record<string, number>;
  points_per_s: number;
  offered_per_s: number;
  backlog: number;
  ack_p50_ms: number;
  ack_p99_ms: number;
  acks: number;
  /** From serve's SIGTERM until every agent is attached again; and the part after it listened. */
  reconnect_s: number;
  reconnect_after_ready_s: number;
  restart_s: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const env = (name: string, fallback: number) => Number(process.env[name] ?? fallback);

export async function measure(): Promise<AgentsBench> {
  const agents = env('AGENTS', 10_000);
  const terminals = env('TERMINALS', 2);
  const intervalS = env('INTERVAL_S', 10);
  const windowS = env('WINDOW_S', 60);
  const clients = env('CLIENTS', 4);
  const dir = mkdtempSync(join(tmpdir(), 'fleetpulse-bench-agents-'));
  const influxd = await startInfluxd({ dataDir: join(dir, 'influxdb') });
  const database = 'agents';
  await new InfluxQuery({ url: influxd.url }).ensureDatabase({ database });
  const procs: ChildProcess[] = [];
  const exited = (p: ChildProcess) => new Promise((r) => (p.exitCode !== null ? r(null) : p.once('exit', r)));
  const startServer = async (port: number) => {
    const job = { dir: join(dir, 'serve'), agents, terminals_per_agent: terminals, influx_url: influxd.url, database };
    const proc = benchChild(CHILD, 'server', { ...job, port }, { gc: true, fdLimit: true });
    procs.push(proc);
    const on = events(proc);
    const ready = await on('ready');
    const ask = (command: string, event: string) => {
      const answer = on(event, true);
      proc.stdin.write(command + '\n');
      return answer;
    };
    return { proc, ready, ask };
  };
  try {
    let server = await startServer(0);
    const port = server.ready.port as number;
    const tokens = Object.entries(server.ready.tokens as Record<string, string>);
    const started = performance.now();
    const fleet = Array.from({ length: clients }, (_, c) => {
      const share = Object.fromEntries(tokens.filter((_, i) => i % clients === c));
      const proc = benchChild(
        CHILD,
        'agents',
        {
          url: `ws://127.0.0.1:${port}/agent/`,
          tokens: share,
          terminals_per_agent: terminals,
          interval_ms: intervalS * 1000,
          connect_concurrency: 50,
        },
        { fdLimit: true },
      );
      procs.push(proc);
      const on = events(proc);
      const ask = (command: string, event: string) => {
        const answer = on(event, true);
        proc.stdin.write(command + '\n');
        return answer;
      };
      return { proc, on, ask };
    });
    await Promise.all(fleet.map((f) => f.on('connected')));
    const untilAttached = async (s: typeof server, limitS: number) => {
      const deadline = Date.now() + limitS * 1000;
      for (;;) {
        const status = await s.ask('status', 'status');
        if (status.attached >= agents) return status;
        if (Date.now() > deadline) throw new Error(`only ${status.attached} of ${agents} agents attached`);
        await sleep(250);
      }
    };
    await untilAttached(server, 600);
    const connectS = (performance.now() - started) / 1000;
    // A whole interval with everyone reporting, then memory and the measuring window.
    await sleep(intervalS * 1000);
    const memory = await server.ask('memory', 'memory');
    for (const f of fleet) f.proc.stdin.write('window\n');
    const before = await server.ask('status', 'status');
    await sleep(windowS * 1000);
    const after = await server.ask('status', 'status');
    const acks = (await Promise.all(fleet.map((f) => f.ask('acks', 'acks'))))
      .flatMap((a) => a.acks as number[])
      .sort((a, b) => a - b);
    const q = (p: number) => acks[Math.min(acks.length - 1, Math.floor(p * acks.length))] ?? NaN;
    const seconds = (after.at - before.at) / 1000;
    // What the fleet offers: per report a status and a link point per terminal, two self-metrics
    // (liveness, once a minute per device, is not counted: the figure is a floor).
    const linesPerReport = 2 * terminals + 2;
    // Said before the restart, so that a restart that never completes does not lose them.
    console.error(
      JSON.stringify({
        phase: 'connected',
        connect_s: connectS,
        held: after.attached,
        memory,
        before,
        after,
        acks: acks.length,
        ack_p99_ms: q(0.99),
      }),
    );

    // Restart: serve stopped as an operator stops it, started again on the same files and port.
    const stopAt = performance.now();
    server.proc.kill('SIGTERM');
    await exited(server.proc);
    server = await startServer(port);
    const readyAt = performance.now();
    await untilAttached(server, 600);
    const back = performance.now();
    return {
      agents,
      terminals: agents * terminals,
      interval_s: intervalS,
      window_s: windowS,
      clients,
      connect_s: connectS,
      held: after.attached,
      rss_per_agent_kb: memory.rss_per_agent_kb,
      rss_mb: memory.rss_mb,
      rss_parts_per_agent_kb: memory.parts_per_agent_kb,
      points_per_s: (after.written - before.written) / seconds,
      offered_per_s: (agents * linesPerReport) / intervalS,
      backlog: after.backlog,
      ack_p50_ms: q(0.5),
      ack_p99_ms: q(0.99),
      acks: acks.length,
      reconnect_s: (back - stopAt) / 1000,
      reconnect_after_ready_s: (back - readyAt) / 1000,
      restart_s: (readyAt - stopAt) / 1000,
    };
  } finally {
    for (const p of procs) p.kill('SIGTERM');
    await Promise.all(procs.map(exited));
    await influxd.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** For `npm run bench -- --scale seed`. */
export async function run(): Promise<Result[]> {
  return rows(await measure());
}

function rows(r: AgentsBench): Result[] {
  const scale = `${r.agents.toLocaleString('en-US')} agents, ${r.terminals.toLocaleString('en-US')} terminals, reports every ${r.interval_s} s`;
  return [
    {
      name: `agents connections held (${scale})`,
      ours: r.held,
      reference: r.agents,
      ratio: r.held / r.agents,
      goals: [{ on: 'ratio', atLeast: 1 }],
      unit: 'agents',
      note: `all connected in ${r.connect_s.toFixed(1)} s from ${r.clients} client processes`,
    },
    {
      name: `agents server RSS per agent (${scale}) vs the goal`,
      ours: r.rss_per_agent_kb,
      reference: GOAL_RSS_KB,
      ratio: r.rss_per_agent_kb / GOAL_RSS_KB,
      goals: [{ on: 'ours', atMost: GOAL_RSS_KB }],
      unit: 'KB',
      note: `server RSS ${r.rss_mb.toFixed(0)} MB`,
    },
    {
      name: `agents points written to influxd (${scale}) vs offered`,
      ours: r.points_per_s,
      reference: r.offered_per_s,
      ratio: r.points_per_s / r.offered_per_s,
      note: `${r.window_s} s window; spool backlog at its end ${r.backlog}`,
    },
    {
      name: `agents ack p99 (${scale}) vs p50`,
      ours: r.ack_p99_ms,
      reference: r.ack_p50_ms,
      ratio: r.ack_p99_ms / r.ack_p50_ms,
      unit: 'ms',
      note: `${r.acks.toLocaleString('en-US')} reports`,
    },
    {
      name: `agents all reconnected after a serve restart (${scale}) vs the restart alone`,
      ours: r.reconnect_s,
      reference: r.restart_s,
      ratio: r.reconnect_s / r.restart_s,
      unit: 's',
      note: `${r.reconnect_after_ready_s.toFixed(1)} s after serve listened again`,
    },
  ];
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const r = await measure();
  console.log(JSON.stringify(r, null, 2));
  for (const row of rows(r))
    console.log(`${row.name}: ${figure(row.ours)} vs ${figure(row.reference)} ${row.unit ?? ''}; ${verdict(row)}`);
}
