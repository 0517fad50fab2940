/**
 * The real agent process through 20 uplink cuts: it reconnects every time, and nothing it holds
 * across connections piles up listeners (the issue saw `MaxListenersExceededWarning … 11 abort
 * listeners added to [AbortSignal]` after reconnecting). Node prints that warning on stderr,
 * which the test reads. The 20 cuts take over 11 host rounds of 1 s: the leak the warning came
 * from was one abort listener per host reading round (plugins/host/index.ts), not the uplink.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../collector/pipeline/ports.ts';
import { MemoryDirectory } from '../collector/sdk/index.ts';
import { AgentProcess, AgentServer, NetLink, until } from './helpers/agent-rig.ts';

const AGENT = 'store-9-pc';
const TOKEN = 'agent-secret-9';
const CUTS = 20;

describe('fleetpulse agent: many reconnections', () => {
  let dir: string;
  let server: AgentServer;
  let network: NetLink;
  let agent: AgentProcess;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'fleetpulse-agent-reconnect-'));
    const inventory = new MemoryDirectory().add(
      { id: AGENT, kind: 'pc', model: 'store-pc', customer: 'acme', site: 'acme-1' },
      { type: 'agent_token', value: TOKEN },
    );
    server = new AgentServer(inventory, dir, await freePort());
    await server.open();
    network = await new NetLink(() => server.port).start();
    agent = new AgentProcess(dir, {
      agent: { id: AGENT, server: `ws://127.0.0.1:${network.port}/agent/`, token: TOKEN },
      data_dir: join(dir, 'agent'),
      log: { level: 'info' },
      outbox: { flush_interval_ms: 100 },
      uplink: { reconnect_initial_ms: 50, reconnect_max_ms: 200, announce_interval_s: 1, ack_timeout_s: 5 },
      plugins: { host: { interval_s: 1, cpu_interval_s: 1 } },
    });
  });

  afterAll(async () => {
    await agent?.kill();
    await network?.stop();
    await server?.shutdown();
    rmSync(dir, { recursive: true, force: true });
  });

  it(`reconnects after each of ${CUTS} cuts, and no MaxListenersExceededWarning is printed`, async () => {
    const connections = () => agent.output.split('"uplink connected"').length - 1;
    await until('the first connection', () => connections() >= 1, 60_000);
    for (let i = 0; i < CUTS; i++) {
      const before = connections();
      // A connection that carried batches: what a batch in flight registers is what could leak.
      const forwarded = await server.forwarded();
      await until(`batches on connection ${i + 1}`, async () => (await server.forwarded()) > forwarded);
      network.cut();
      await until(`reconnection ${i + 1}`, () => connections() > before);
    }
    await until('batches after the last reconnection', async () => (await server.forwarded()) > 0);
    expect(connections()).toBeGreaterThanOrEqual(CUTS + 1);
    expect(agent.child.exitCode).toBeNull();
    expect(agent.output).not.toContain('MaxListenersExceededWarning');
    console.log(`agent: ${connections()} uplink connections over ${CUTS} cuts, no MaxListenersExceededWarning`);
  }, 240_000);
});
