/**
 * What the agent's uplink does with an ack that says lines were refused, with the REAL uplink
 * client of `fleetpulse agent` (UplinkWriter) against a serve-like server (agent plugin, Spool,
 * Drain into a real influxd): lines the server's spool had no room for (`when_full:
 * drop_newest`) stay in the outbox and are sent again until stored; lines refused for what they
 * are (forged identity, wrong type, ...) are counted lost by reason, never silently.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../collector/pipeline/ports.ts';
import { UplinkWriter } from '../collector/pipeline/uplink-writer.ts';
import { MemoryDirectory } from '../collector/sdk/index.ts';
import { AgentServer, log, storedPoints, until } from './helpers/agent-rig.ts';
import { useInfluxd } from './helpers/influxd.ts';

const influx = useInfluxd();
const AGENT = 'store-9-pc';
const TOKEN = 'agent-secret-9';

describe('agent uplink: refused lines are kept or counted, never taken for stored', () => {
  let dir: string;
  let server: AgentServer;
  let uplink: UplinkWriter;
  let database: string;
  const lost = new Map<string, number>();

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'fleetpulse-uplink-refusals-'));
    database = await influx.freshDatabase();
    const directory = new MemoryDirectory().add(
      { id: AGENT, kind: 'pc', customer: 'acme', site: 'acme-9' },
      { type: 'agent_token', value: TOKEN },
    );
    // Room for about 70 lines (of 85 characters, enriched), and the drain not started yet: the spool fills at once.
    server = new AgentServer(directory, dir, await freePort(), { maxBytes: 6000, whenFull: 'drop_newest' });
    await server.open();
    uplink = new UplinkWriter({
      url: `ws://127.0.0.1:${server.port}/agent/`,
      agentId: AGENT,
      token: TOKEN,
      log,
      ackTimeoutMs: 5000,
      onRefused: (reason, n) => lost.set(reason, (lost.get(reason) ?? 0) + n),
    });
    uplink.start();
  });

  afterAll(async () => {
    await uplink?.close();
    await server?.shutdown();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a batch the full server spool partly refused is sent again (retry), and stored whole once there is room', async () => {
    const t0 = Date.now() - 60_000;
    const batch = Array.from({ length: 40 }, (_, i) => `host_system,device=${AGENT} uptime_s=${i}i ${t0 + i}`);
    // Another agent's worth of data already fills most of the spool.
    const filler = Array.from(
      { length: 40 },
      (_, i) => `host_system,device=${AGENT} uptime_s=${1000 + i}i ${t0 - 1000 + i}`,
    );
    expect(await uplink.write(filler)).toEqual({ kind: 'written' });
    const first = await uplink.write(batch);
    expect(first).toMatchObject({ kind: 'retry', error: expect.stringMatching(/spool refused \d+ lines \(full\)/) });
    expect(
      (await server.metrics.pointsDropped.get()).values.find((v) => v.labels.reason === 'spool_full')?.value,
    ).toBeGreaterThan(0);
    expect(lost.size).toBe(0);
    // The server's spool drains; the agent sends the batch again (as its drain does) until it is acked whole.
    server.startDrain(influx.url, database);
    await until('the batch acked whole', async () => (await uplink.write(batch)).kind === 'written');
    await until(
      'all 80 points in InfluxDB',
      async () =>
        (await storedPoints((q) => influx.query(q, { db: database }), 'host_system', `device = '${AGENT}'`)) === 80,
    );
  });

  it('lines refused for what they are are counted lost by reason, and the batch is done', async () => {
    const t = Date.now() - 30_000;
    const outcome = await uplink.write([
      `host_system,device=${AGENT},customer=victim uptime_s=1i ${t}`,
      `fleet_status,customer=acme online=500i ${t}`,
      `host_system,device=${AGENT} uptime_s="poison" ${t}`,
      `host_system,device=${AGENT} uptime_s=2i ${t}`,
    ]);
    expect(outcome).toEqual({ kind: 'written' });
    expect(Object.fromEntries(lost)).toEqual({ identity: 1, measurement: 1, field_type: 1 });
  });
});
