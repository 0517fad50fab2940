/**
 * The agent's outbox bound, on the REAL agent process: an agent whose server is unreachable keeps
 * measuring into an outbox of `outbox.max_bytes`; when it is full, `when_full` decides which points
 * go (drop_oldest keeps the newest, drop_newest keeps the oldest), and every dropped point is
 * counted in the agent's own `fleetpulse_points_dropped_total{reason="spool_full"}`, which reaches
 * InfluxDB with the rest once the uplink is back. Two agents, one per policy, run side by side
 * with a TC-200 simulator each on a socat pty pair.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../collector/pipeline/ports.ts';
import { MemoryDirectory } from '../collector/sdk/index.ts';
import { startPtyPair, startTerminal, type PtyPair, type SimulatedTerminal } from '../plugins/tc200/simulator.ts';
import { AgentProcess, AgentServer, NetLink, storedPoints, until } from './helpers/agent-rig.ts';
import { useInfluxd } from './helpers/influxd.ts';

const influx = useInfluxd();
/** Small, but room for the agent's final self-metrics (about 4 KB) once the outbox has drained. */
const MAX_BYTES = 16_384;
/**
 * Status reports sent while offline: each is a terminal_status and a terminal_link line, ~450 bytes, so about three
 * outboxes.
 */
const BURST = 120;
/**
 * Lines per batch. The agent's drain holds the batches it has claimed (2 at a time) while it waits
 * for the uplink, and sends them when it is back; their rows are never dropped, so the first
 * points of an outage are sent under either policy. Reports before the first marker fill those.
 */
const BATCH = 5;
const PREFILL = 2 * BATCH;
/** Reports at the end of the burst whose fate tells the policies apart. */
const LATE = 10;
const POLICIES = ['drop_oldest', 'drop_newest'] as const;
type Policy = (typeof POLICIES)[number];
const agentOf = (p: Policy) => `store-${p}`;
const terminalOf = (p: Policy) => `TC2-${p === 'drop_oldest' ? 'OLD' : 'NEW'}-0001`;

let dir: string;
let server: AgentServer;
let database: string;
const rigs = new Map<Policy, { network: NetLink; pty: PtyPair; terminal: SimulatedTerminal; agent: AgentProcess }>();
const query = (q: string) => influx.query(q, { db: database });

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'fleetpulse-agent-outbox-'));
  database = await influx.freshDatabase();
  const directory = new MemoryDirectory();
  for (const p of POLICIES) {
    directory.add(
      { id: agentOf(p), kind: 'pc', customer: 'acme', site: 'acme-7' },
      { type: 'agent_token', value: `token-${p}` },
    );
    directory.add({
      id: terminalOf(p),
      kind: 'terminal',
      model: 'TC-200',
      customer: 'acme',
      site: 'acme-7',
      gateway: agentOf(p),
    });
  }
  server = new AgentServer(directory, dir, await freePort());
  await server.open();
  server.startDrain(influx.url, database);
  await Promise.all(
    POLICIES.map(async (p) => {
      const network = await new NetLink(() => server.port).start();
      network.mode = 'down'; // the store's uplink is out from the start
      const pty = await startPtyPair(dir, p);
      const terminal = startTerminal({ path: pty.device, serial: terminalOf(p), reboot_ms: 100 });
      const agent = new AgentProcess(
        dir,
        {
          agent: { id: agentOf(p), server: `ws://127.0.0.1:${network.port}/agent/`, token: `token-${p}` },
          data_dir: join(dir, p),
          log: { level: 'info' },
          outbox: {
            max_bytes: MAX_BYTES,
            when_full: p,
            batch_size: BATCH,
            flush_interval_ms: 100,
            shutdown_flush_s: 10,
          },
          uplink: { reconnect_initial_ms: 100, reconnect_max_ms: 300, connect_wait_s: 1 },
          // Only the terminal reports (its statuses when the test says): the outbox fills when the test wants.
          plugins: {
            host: false,
            tc200: { ports: [{ path: pty.host }], heartbeat_interval_s: 1, status_interval_s: 3600 },
          },
        },
        p,
      );
      rigs.set(p, { network, pty, terminal, agent });
    }),
  );
});

afterAll(async () => {
  for (const r of rigs.values()) {
    await r.agent.kill();
    await r.network.stop();
    await r.terminal.stop();
    await r.pty.stop();
  }
  await server?.shutdown();
  rmSync(dir, { recursive: true, force: true });
});

/** terminal_info points of `device` by boot count. */
async function bootsStored(device: string): Promise<number[]> {
  const s = await query(`SELECT boot_count FROM terminal_info WHERE device = '${device}'`);
  return (s[0]?.values ?? []).map((v) => v[1] as number);
}

async function offlineThenBack(p: Policy) {
  const { network, terminal, agent } = rigs.get(p)!;
  const device = terminalOf(p);
  // The agent has the terminal (it pushes its report intervals at the hello).
  await until(`${p}: the agent identified the terminal`, () => terminal.parameters.status_interval_s === 3600);
  const reports = async (n: number) => {
    // Back to back: reports the agent takes in the same millisecond are still distinct points.
    for (let i = 0; i < n; i++) await terminal.sendStatus();
  };
  await reports(PREFILL);
  // Marker 1: a power cycle while the outbox has room (terminal_info boot_count 2).
  await terminal.powerCycle();
  await reports(BURST - LATE);
  // The last LATE reports, long after the outbox overflowed: all kept (drop_oldest) or none (drop_newest).
  // A pause first, so that no earlier report's stamp (at most +1 ms each) reaches into their window.
  await new Promise((r) => setTimeout(r, 50));
  const lateFrom = Date.now();
  await reports(LATE);
  // And a pause after: the power cycle's own reports fall outside the window.
  await new Promise((r) => setTimeout(r, 50));
  const lateTo = Date.now();
  // Marker 2: a power cycle when the outbox has overflowed (boot_count 3).
  await terminal.powerCycle();
  expect(terminal.boots).toBe(3);

  network.mode = 'up';
  // Delivered in order: once a status taken after the uplink came back is stored, so is all that was kept before it.
  const back = Date.now();
  await until(`${p}: a status from after the uplink came back in InfluxDB`, async () => {
    await terminal.sendStatus(); // under drop_newest, one taken before the outbox drained is dropped too
    const s = await query(`SELECT COUNT(state) FROM terminal_status WHERE device = '${device}' AND time >= ${back}ms`);
    return ((s[0]?.values[0]?.[1] as number | undefined) ?? 0) > 0;
  });
  expect(await agent.stop(), agent.output).toBe(0);
  const dropped = await until(`${p}: the agent's final count of dropped points`, async () => {
    const s = await query(
      `SELECT LAST(value) FROM fleetpulse_points_dropped_total WHERE device = '${agentOf(p)}' AND reason = 'spool_full'`,
    );
    return s[0]?.values[0]?.[1] as number | undefined;
  });
  const emitted = await until(`${p}: the agent's final count of TC-200 points`, async () => {
    const s = await query(
      `SELECT LAST(value) FROM fleetpulse_points_emitted_total WHERE device = '${agentOf(p)}' AND plugin = 'tc200'`,
    );
    return s[0]?.values[0]?.[1] as number | undefined;
  });
  let stored = 0;
  for (const m of ['terminal_status', 'terminal_link', 'terminal_info'])
    stored += await storedPoints(query, m, `device = '${device}'`);
  const late = await query(
    `SELECT COUNT(state) FROM terminal_status WHERE device = '${device}' AND time >= ${lateFrom}ms AND time < ${lateTo}ms`,
  );
  const lateStored = (late[0]?.values[0]?.[1] as number | undefined) ?? 0;
  return { dropped, emitted, stored, lateStored, boots: await bootsStored(device) };
}

describe('the agent outbox bound while the server is unreachable', () => {
  it.concurrent('drop_oldest: the oldest points go, the newest are delivered, every drop is counted', async () => {
    const { dropped, emitted, stored, lateStored, boots } = await offlineThenBack('drop_oldest');
    expect(stored).toBeLessThan(emitted);
    expect(lateStored).toBe(LATE); // the newest reports made it
    // Every TC-200 point the agent did not deliver is among the drops (which also count its liveness lines).
    expect(dropped).toBeGreaterThanOrEqual(emitted - stored);
    expect(boots).not.toContain(2); // the first marker was among the oldest
    expect(boots).toContain(3); // the newest made it
  });

  it.concurrent(
    'drop_newest: what is in the outbox stays, new points go while it is full, every drop is counted',
    async () => {
      const { dropped, emitted, stored, lateStored, boots } = await offlineThenBack('drop_newest');
      expect(stored).toBeLessThan(emitted);
      expect(dropped).toBeGreaterThanOrEqual(emitted - stored);
      expect(boots).toContain(2); // the first marker was kept
      expect(lateStored).toBe(0); // the outbox was full when they came
      // The outbox is bounded in bytes: the short hello of the second marker may still fit in the
      // room a refused status report left, so its fate is not asserted here.
    },
  );
});
