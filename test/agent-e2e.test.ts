/**
 * The edge agent end to end: a serve-like server in this process (Collector + SharedServer +
 * Spool + Drain into a real influxd) and the REAL agent process (`fleetpulse agent`) with a
 * TC-200 simulator on a socat pty pair, talking over a real WebSocket on 127.0.0.1 through a TCP
 * relay that plays the network (cut, or losing what the server sends).
 */
import { messageText } from '../collector/sdk/ws-text.ts';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { InvalidCommand } from '../collector/commands/command-bus.ts';
import { freePort } from '../collector/pipeline/ports.ts';
import { MemoryDirectory } from '../collector/sdk/index.ts';
import { plugins } from '../plugins/index.ts';
import { startPtyPair, startTerminal, type PtyPair, type SimulatedTerminal } from '../plugins/tc200/simulator.ts';
import { AgentProcess, AgentServer, NetLink, storedPoints, until } from './helpers/agent-rig.ts';
import { useInfluxd } from './helpers/influxd.ts';

const influx = useInfluxd();
const AGENT = 'store-1-pc';
const TOKEN = 'agent-secret-1';
/** The TC-200 part runs once the tc200 plugin is in plugins/index.ts (the agent loads that list). */
const TC200 = plugins.some((p) => p.name === 'tc200');
const TERMINAL = 'TC2-E2E-0001';
const HOST_MEASUREMENTS = ['host_cpu', 'host_memory', 'host_disk', 'host_net', 'host_system', 'host_session'];
const TC200_MEASUREMENTS = ['terminal_status', 'terminal_link', 'terminal_info', 'terminal_firmware'];
/** What the runtime writes itself (liveness), not what the uplink forwards. */
const RUNTIME_MEASUREMENTS = new Set([
  'device_status',
  'device_availability',
  'device_attention',
  'fleet_status',
  'fleet_firmware',
]);

const inventory = () =>
  new MemoryDirectory()
    .add(
      { id: AGENT, kind: 'pc', model: 'store-pc', customer: 'acme', site: 'acme-store-1' },
      { type: 'agent_token', value: TOKEN },
    )
    .add(
      { id: 'other-pc', kind: 'pc', customer: 'globex', site: 'globex-1' },
      { type: 'agent_token', value: 'other-secret' },
    )
    .add({ id: TERMINAL, kind: 'terminal', model: 'TC-200', customer: 'acme', site: 'acme-store-1', gateway: AGENT })
    .add({ id: 'globex-t1', kind: 'terminal', customer: 'globex', site: 'globex-1', gateway: 'other-pc' });

describe('fleetpulse agent ↔ serve', () => {
  let dir: string;
  let server: AgentServer;
  let network: NetLink;
  let database: string;
  let agent: AgentProcess;
  let pty: PtyPair | undefined;
  let terminal: SimulatedTerminal | undefined;
  const lockFile = () => join(dir, 'locked');

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'fleetpulse-agent-e2e-'));
    database = await influx.freshDatabase();
    server = new AgentServer(inventory(), dir, await freePort());
    await server.open();
    server.startDrain(influx.url, database);
    network = await new NetLink(() => server.port).start();
    const config = {
      agent: { id: AGENT, server: `ws://127.0.0.1:${network.port}/agent/`, token: TOKEN },
      data_dir: join(dir, 'agent'),
      log: { level: 'info' },
      outbox: { flush_interval_ms: 100, shutdown_flush_s: 10 },
      uplink: { reconnect_initial_ms: 200, reconnect_max_ms: 500, announce_interval_s: 1, ack_timeout_s: 5 },
      plugins: {
        host: {
          interval_s: 1,
          cpu_interval_s: 1,
          reboot_command: ['true'],
          lock_command: ['sh', '-c', `echo locked >> ${lockFile()}`],
          diagnostics_command: ['sh', '-c', 'echo disk ok; echo fan ok'],
          warn_command: ['true'],
        },
      } as Record<string, unknown>,
    };
    if (TC200) {
      pty = await startPtyPair(dir, 'tc200');
      terminal = startTerminal({ path: pty.device, serial: TERMINAL });
      config.plugins.tc200 = { ports: [{ path: pty.host }], status_interval_s: 1, heartbeat_interval_s: 1 };
    }
    agent = new AgentProcess(dir, config);
  });

  afterAll(async () => {
    await agent?.kill();
    await network?.stop();
    await server?.shutdown();
    await terminal?.stop();
    await pty?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const count = (measurement: string) => influx.count(measurement, database);

  it('host metrics reach InfluxDB with the device, customer and site tags of the server inventory', async () => {
    await until('host_memory in InfluxDB', async () => (await count('host_memory')) > 0);
    const series = await influx.query(`SELECT LAST(used_pct) FROM host_memory GROUP BY *`, { db: database });
    expect(series.map((s) => s.tags)).toEqual([
      { customer: 'acme', device: AGENT, kind: 'pc', model: 'store-pc', site: 'acme-store-1' },
    ]);
    await until('host_cpu and host_disk', async () => (await count('host_cpu')) > 0 && (await count('host_disk')) > 0);
    const disks = await influx.query(`SHOW TAG VALUES FROM host_disk WITH KEY = "mount"`, { db: database });
    expect(disks[0].values.map((v) => v[1])).toContain('/');
    // The edge's own liveness lines become the server's liveness, not a second device_status.
    expect(server.collector!.liveness.state(AGENT)?.state).toBe('online');
  });

  it.skipIf(!TC200)(
    'TC-200 status from the serial port reaches InfluxDB with the terminal, gateway, customer and site tags',
    async () => {
      await until('terminal_status in InfluxDB', async () => (await count('terminal_status')) > 0);
      const series = await influx.query(`SELECT LAST(state) FROM terminal_status GROUP BY *`, { db: database });
      expect(series.map((s) => s.tags)).toEqual([
        { customer: 'acme', device: TERMINAL, gateway: AGENT, kind: 'terminal', model: 'TC-200', site: 'acme-store-1' },
      ]);
    },
  );

  it('runs commands on the agent through the server command bus, results flow back', async () => {
    const bus = server.collector!.bus;
    await until('the agent announced its commands', () => bus.commandsFor(AGENT)?.diagnostics);
    const diag = await bus.dispatch(AGENT, { name: 'diagnostics' });
    expect(diag).toMatchObject({ status: 'succeeded', result: { exit_code: 0, output: 'disk ok\nfan ok\n' } });
    expect(await bus.dispatch(AGENT, { name: 'reboot' })).toMatchObject({ status: 'succeeded' });
    // Validated on the server against the schema the agent announced, before anything is sent.
    await expect(bus.dispatch(AGENT, { name: 'warn', params: { message: 5 } })).rejects.toThrow(/message/);
    await expect(bus.dispatch(AGENT, { name: 'format_disk' })).rejects.toThrow(/unknown command "format_disk"/);
  });

  it('refuses wrong tokens, malformed frames and lines about other agents’ devices, and keeps serving', async () => {
    const url = `ws://127.0.0.1:${server.port}/agent/other-pc`;
    const refused = await new Promise<number>((resolve) => {
      const ws = new WebSocket(url, { headers: { authorization: 'Bearer wrong' } });
      ws.on('unexpected-response', (_q, res) => resolve(res.statusCode!));
      ws.on('error', () => {});
    });
    expect(refused).toBe(401);
    expect(await server.events('refused_bad_secret')).toBe(1);

    const ws = new WebSocket(url, { headers: { authorization: 'Bearer other-secret' } });
    const messages: Array<Record<string, unknown>> = [];
    ws.on('message', (d) => messages.push(JSON.parse(messageText(d))));
    await new Promise((r) => ws.once('open', r));
    ws.send('{not json');
    const t = Date.now();
    ws.send(
      JSON.stringify({
        t: 'batch',
        id: 1,
        lines: [
          `host_system,device=other-pc uptime_s=5i ${t}`,
          `host_system,device=${AGENT} uptime_s=666i ${t}`, // not behind other-pc: refused
          'no fields here',
          `terminal_status,device=globex-t1 state="idle" ${t}`,
          // Forged identity: another customer's tags, and a device nobody knows dressed as a victim's charger.
          `host_system,device=other-pc,customer=acme,site=acme-store-1 uptime_s=6i ${t}`,
          `rel_spoof,device=NEWDEV,customer=acme,site=acme-store-1,kind=charger,gateway=other-pc v=1 ${t}`,
          `host_system,device=NEWDEV,customer=acme,site=acme-store-1,kind=charger uptime_s=7i ${t}`,
          // The runtime's own measurements and one no edge plugin declares.
          `fleet_status,customer=acme online=500i ${t}`,
          `device_availability,device=other-pc online_s=3600i ${t}`,
          `pos_order,device=other-pc total=99999 ${t}`,
          // A field of another type than declared: would turn it into a string for the whole shard.
          `host_memory,device=other-pc total_bytes="poison",available_bytes=4i,used_pct=50,swap_used_bytes=0i ${t}`,
          `host_memory,device=other-pc total_bytes=8i,available_bytes=4i,used_pct=50,swap_used_bytes=0i`,
        ],
      }),
    );
    await until('the ack', () => messages.find((m) => m.t === 'ack'));
    expect(messages[0]).toEqual({ t: 'error', error: 'frame is not JSON' });
    expect(messages.find((m) => m.t === 'ack')).toEqual({
      // Accepted: the two good lines, and the edge's liveness line (consumed as liveness, not stored).
      t: 'ack',
      id: 1,
      accepted: 3,
      refused: 9,
      reasons: { foreign_device: 1, malformed: 1, identity: 2, measurement: 3, field_type: 1, no_timestamp: 1 },
    });
    expect(await server.events('malformed_frame')).toBe(1);
    expect(await server.events('malformed_line')).toBe(1);
    expect(await server.events('foreign_device')).toBe(1);
    const refusedTotal = async (reason: string) =>
      (await server.metrics.pointsRefused.get()).values.find((v) => v.labels.reason === reason)?.value;
    expect(await refusedTotal('identity')).toBe(2);
    expect(await refusedTotal('measurement')).toBe(3);
    expect(await refusedTotal('field_type')).toBe(1);
    // The unknown device met the discovery policy: pending, under no customer.
    expect(server.directory.lookup('NEWDEV')).toMatchObject({ lifecycle: 'pending', gateway: 'other-pc' });
    expect(server.directory.lookup('NEWDEV')?.customer).toBeUndefined();

    // A correct line of the measurement the poison aimed at is stored after it: no type conflict.
    const later = t + 1;
    ws.send(
      JSON.stringify({
        t: 'batch',
        id: 2,
        lines: [
          `host_memory,device=other-pc total_bytes=8i,available_bytes=4i,used_pct=50,swap_used_bytes=0i ${later}`,
        ],
      }),
    );
    await until('the second ack', () => messages.find((m) => m.t === 'ack' && m.id === 2));
    expect(messages.find((m) => m.t === 'ack' && m.id === 2)).toEqual({ t: 'ack', id: 2, accepted: 1, refused: 0 });
    ws.close();
    await until('the accepted terminal line', async () => (await count('terminal_status')) >= 1);
    const series = await influx.query(`SELECT * FROM terminal_status WHERE device = 'globex-t1' GROUP BY *`, {
      db: database,
    });
    expect(series[0].tags).toMatchObject({
      device: 'globex-t1',
      gateway: 'other-pc',
      customer: 'globex',
      site: 'globex-1',
      kind: 'terminal',
    });
    await until(
      'the later host_memory line',
      async () =>
        (await influx.query(`SELECT total_bytes FROM host_memory WHERE device = 'other-pc'`, { db: database })).length >
        0,
    );
    const memory = await influx.query(`SELECT total_bytes FROM host_memory WHERE device = 'other-pc'`, {
      db: database,
    });
    expect(memory[0].values).toEqual([[later, 8]]);
    const fieldTypes = await influx.query(`SHOW FIELD KEYS FROM host_memory`, { db: database });
    expect(fieldTypes[0].values).toContainEqual(['total_bytes', 'integer']);
    // Nothing refused reached InfluxDB.
    const none = async (q: string) => expect(await influx.query(q, { db: database }), q).toEqual([]);
    await none(`SELECT uptime_s FROM host_system WHERE device = '${AGENT}' AND uptime_s = 666`);
    await none(`SELECT * FROM host_system WHERE device = 'NEWDEV' OR uptime_s = 6`);
    await none(`SELECT * FROM rel_spoof`);
    await none(`SELECT * FROM pos_order`);
    await none(`SELECT * FROM fleet_status WHERE online = 500`);
    await none(`SELECT * FROM device_availability WHERE device = 'other-pc'`);
    expect(
      (await influx.query(`SELECT uptime_s FROM host_system WHERE device = 'other-pc'`, { db: database }))[0].values,
    ).toEqual([[t, 5]]);
  });

  it('a session that expires while the uplink is cut is still ended by the agent', async () => {
    const bus = server.collector!.bus;
    const endsAt = Date.now() + 2500;
    expect(
      await bus.dispatch(AGENT, { name: 'session_set', params: { ends_at_ms: endsAt, action: 'lock' } }),
    ).toMatchObject({ status: 'succeeded' });
    await server.close(); // the uplink is cut before the end
    // The shell creates the file before `echo` writes to it: wait for the line, not the file.
    await until('the local lock', () => existsSync(lockFile()) && readFileSync(lockFile(), 'utf8') !== '', 15_000);
    expect(readFileSync(lockFile(), 'utf8')).toBe('locked\n');
    await server.open();
    await until('the enforcement record from the edge', async () => {
      const s = await influx.query(`SELECT event, ends_at_ms FROM host_session WHERE event = 'enforced'`, {
        db: database,
      });
      return s.length > 0 && s;
    });
  });

  it.skipIf(!TC200)(
    'runs commands on the TC-200 behind the agent: server bus → uplink → agent → serial line → terminal, and back',
    async () => {
      const bus = server.collector!.bus;
      await until('the agent announced the terminal’s commands', () => bus.commandsFor(TERMINAL)?.set_parameters);
      const diag = await bus.dispatch(TERMINAL, { name: 'get_diagnostics' });
      expect(diag).toMatchObject({
        status: 'succeeded',
        result: {
          firmware: '2.4.1',
          boots: '1',
          card_reader: 'ok',
          printer: 'ok',
          log: expect.stringContaining('self-test passed'),
        },
      });
      // Refused by the server against the schema the agent announced: nothing goes down the line.
      await expect(bus.dispatch(TERMINAL, { name: 'set_parameters', params: { beep_volume: 11 } })).rejects.toThrow(
        InvalidCommand,
      );
      await expect(bus.dispatch(TERMINAL, { name: 'set_parameters', params: { volume: 1 } })).rejects.toThrow(/volume/);
      expect(terminal!.parameters.beep_volume).toBe(5);
      const set = await bus.dispatch(TERMINAL, {
        name: 'set_parameters',
        params: { beep_volume: 2, receipt_header: 'Store 1' },
      });
      expect(set).toMatchObject({
        status: 'succeeded',
        result: { beep_volume: '2', receipt_header: 'Store 1', currency: 'EUR' },
      });
      expect(terminal!.parameters).toMatchObject({ beep_volume: 2, receipt_header: 'Store 1' });
    },
  );

  it('one agent, one live connection: a second connection with its id replaces it (4000), and the agent takes over again', async () => {
    const bus = server.collector!.bus;
    await until('the agent is connected', () => bus.commandsFor(AGENT)?.diagnostics);
    const replaced = await server.events('connection_replaced');
    const ws = new WebSocket(`ws://127.0.0.1:${server.port}/agent/${AGENT}`, {
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    const closed = new Promise<[number, string]>((resolve) =>
      ws.once('close', (code, why) => resolve([code, why.toString()])),
    );
    ws.on('error', () => {});
    // The real agent is told why its connection ended and comes back: its new connection replaces this one.
    expect(await closed).toEqual([4000, 'replaced by a newer connection']);
    expect(await server.events('connection_replaced')).toBe(replaced + 2);
    await until('the agent logged the 4000', () =>
      agent.output.includes('"code":4000,"reason":"replaced by a newer connection"'),
    );
    await until(
      'the agent re-announced its devices',
      () => bus.commandsFor(AGENT)?.diagnostics && (!TC200 || bus.commandsFor(TERMINAL)?.get_diagnostics),
    );
    expect(await bus.dispatch(AGENT, { name: 'diagnostics' })).toMatchObject({ status: 'succeeded' });
    if (TC200) expect(await bus.dispatch(TERMINAL, { name: 'get_diagnostics' })).toMatchObject({ status: 'succeeded' });
    // A replacement is not a lost uplink: nothing went offline.
    expect(server.collector!.liveness.state(AGENT)?.state).toBe('online');
    if (TC200) expect(server.collector!.liveness.state(TERMINAL)?.state).toBe('online');
  });

  const query = (q: string) => influx.query(q, { db: database });
  /** Distinct points of every forwarded measurement in InfluxDB (runtime liveness is written by the server itself). */
  const distinctForwarded = async () => {
    let n = 0;
    for (const { values } of await query('SHOW MEASUREMENTS')) {
      for (const [m] of values as string[][])
        if (!RUNTIME_MEASUREMENTS.has(m)) n += await storedPoints(query, `"${m}"`, 'device =~ /.+/');
    }
    return n;
  };

  it('an uplink cut loses nothing and doubles nothing: batches committed but never acknowledged are sent again and stored once', async () => {
    await until('reconnected', () => server.collector!.bus.commandsFor(AGENT)?.lock);
    // The server goes away for a while; the agent keeps measuring into its outbox.
    await server.close();
    const reports = terminal?.statusReports ?? 0;
    if (TC200)
      await until('two TC-200 reports taken while the server is down', () => terminal!.statusReports >= reports + 2);
    else await new Promise((r) => setTimeout(r, 2000));
    await server.open();
    await until('the agent delivering again', () => server.collector!.bus.commandsFor(AGENT)?.lock);
    // Then the link goes down, and while it is, everything forwarded so far reaches InfluxDB: the
    // lines the server was handed more than once until now are counted.
    network.mode = 'down';
    network.cut();
    await until('the server’s spool written out', () => server.spool.size().points === 0);
    const resentBefore = (await server.forwarded()) - (await distinctForwarded());
    // It comes back half-open: the agent's batches arrive and are committed, the acks are lost.
    const before = await server.forwarded();
    network.mode = 'server_silent';
    await until('lines committed whose ack the agent never gets', async () => (await server.forwarded()) > before);
    await server.spool.committed();
    const unacknowledged = (await server.forwarded()) - before;
    network.cut(); // the agent notices, reconnects and sends those batches again
    network.mode = 'up';
    await until(
      'the agent delivering after the cut',
      async () => (await server.forwarded()) >= before + 2 * unacknowledged,
    );
    expect(network.lostBytes).toBeGreaterThan(0);

    // Stop the agent: it flushes its outbox and writes its final self-metrics (points emitted).
    const code = await agent.stop();
    expect(code, agent.output).toBe(0);
    expect(agent.output).toContain('uplink lost; points wait in the outbox');
    const emitted = (plugin: string) =>
      until(`the agent’s final count of ${plugin} points`, async () => {
        const s = await query(
          `SELECT LAST(value) FROM fleetpulse_points_emitted_total WHERE device = '${AGENT}' AND plugin = '${plugin}'`,
        );
        return s[0]?.values[0]?.[1] as number | undefined;
      });
    const stored = async (measurements: string[], device: string) => {
      let n = 0;
      for (const m of measurements) n += await storedPoints(query, m, `device = '${device}'`);
      return n;
    };
    // Every point the agent emitted is in InfluxDB exactly once (666 is the foreign line refused above).
    const host = await emitted('host');
    await until('every emitted host point in InfluxDB', async () => (await stored(HOST_MEASUREMENTS, AGENT)) >= host);
    expect(await stored(HOST_MEASUREMENTS, AGENT)).toBe(host);
    if (TC200) {
      const tc200 = await emitted('tc200');
      await until(
        'every emitted TC-200 point in InfluxDB',
        async () => (await stored(TC200_MEASUREMENTS, TERMINAL)) >= tc200,
      );
      expect(await stored(TC200_MEASUREMENTS, TERMINAL)).toBe(tc200);
    }
    // ...although the server was handed the unacknowledged ones again: the uplink forwarded more
    // lines than there are distinct points, by at least those, on top of the resends before.
    await until('the server’s spool written out', () => server.spool.size().points === 0);
    const resent = (await server.forwarded()) - (await distinctForwarded());
    expect(resent - resentBefore).toBeGreaterThanOrEqual(unacknowledged);
  });
});
