import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { MemoryDirectory } from '../../collector/sdk/index.ts';
import { startPluginRuntime, type PluginRuntime } from '../../test/helpers/plugin-runtime.ts';
import agent from './index.ts';
import simulator from './simulator.ts';

// The agent plugin through the real runtime (Collector, SharedServer on 127.0.0.1, Spool on temp
// SQLite) with real `ws` clients as agents. The real agent process is test/agent-e2e.test.ts.
let rt: PluginRuntime;
const open: WebSocket[] = [];
const T = 1_700_000_000_000;

beforeAll(async () => {
  const directory = new MemoryDirectory()
    .add({ id: 'pc-1', kind: 'pc', model: 'store-pc', customer: 'acme', site: 'acme-1' }, { type: 'agent_token', value: 'token-1' })
    .add({ id: 'pc-2', kind: 'pc', customer: 'acme', site: 'acme-2' }, { type: 'agent_token', value: 'token-2' })
    .add({ id: 'sim-agent-1', kind: 'pc', customer: 'sim', site: 'sim-1' }, { type: 'agent_token', value: 'sim-token' });
  rt = await startPluginRuntime({ plugins: [agent], pluginConfig: { agent: { max_batch_lines: 100 } }, directory });
});
afterAll(async () => {
  for (const ws of open) ws.terminate();
  await rt?.stop();
});

/** The HTTP status of a refused upgrade. */
function refusedWith(id: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${rt.url.replace('http', 'ws')}/agent/${id}`, { headers });
    ws.on('unexpected-response', (_q, res) => resolve(res.statusCode!));
    ws.on('open', () => reject(new Error('accepted')));
    ws.on('error', () => {});
  });
}

async function connect(id: string, token: string) {
  const ws = new WebSocket(`${rt.url.replace('http', 'ws')}/agent/${id}`, { headers: { authorization: `Bearer ${token}` } });
  open.push(ws);
  const inbox: Array<Record<string, unknown>> = [];
  /** What the server's spool held, committed, at the moment each ack arrived. */
  const committedAtAck = new Map<number, string[]>();
  ws.on('message', (d) => {
    const msg = JSON.parse(d.toString()) as Record<string, unknown>;
    if (msg.t === 'ack') committedAtAck.set(msg.id as number, rt.spool.read(0, 10_000)?.lines() ?? []);
    inbox.push(msg);
  });
  await new Promise((resolve, reject) => (ws.once('open', resolve), ws.once('error', reject)));
  return { ws, inbox, committedAtAck };
}

describe('agent uplink', () => {
  it('refuses bad tokens, unknown agents and missing credentials with 401, each counted', async () => {
    expect(await refusedWith('pc-1', { authorization: 'Bearer wrong' })).toBe(401);
    expect(await refusedWith('nobody', { authorization: 'Bearer token-1' })).toBe(401);
    expect(await refusedWith('pc-1', {})).toBe(401);
    expect(await rt.events('agent', 'refused_bad_secret')).toBe(1);
    expect(await rt.events('agent', 'refused_unknown_device')).toBe(1);
    expect(await rt.events('agent', 'refused_no_credential')).toBe(1);
  });

  it('acknowledges a batch only once its lines are committed, with the inventory’s tags', async () => {
    const { ws, inbox, committedAtAck } = await connect('pc-1', 'token-1');
    ws.send(JSON.stringify({ t: 'batch', id: 1, lines: [
      `host_system,device=pc-1 uptime_s=5i ${T}`,
      `host_memory,device=pc-1,kind=terminal total_bytes=8i,available_bytes=4i,used_pct=50,swap_used_bytes=0i ${T}`,
    ] }));
    await expect.poll(() => inbox.find((m) => m.t === 'ack')).toEqual({ t: 'ack', id: 1, accepted: 2, refused: 0 });
    const expected = [
      `host_system,customer=acme,device=pc-1,kind=pc,model=store-pc,site=acme-1 uptime_s=5i ${T}`,
      `host_memory,customer=acme,device=pc-1,kind=pc,model=store-pc,site=acme-1 total_bytes=8i,available_bytes=4i,used_pct=50,swap_used_bytes=0i ${T}`,
    ];
    expect(committedAtAck.get(1)).toEqual(expect.arrayContaining(expected));
    expect(rt.collector.liveness.state('pc-1')?.state).toBe('online');
  });

  it('answers malformed frames, counts them and keeps the connection', async () => {
    const { ws, inbox } = await connect('pc-2', 'token-2');
    ws.send('{not json');
    ws.send(JSON.stringify({ t: 'batch', id: 'one', lines: [] }));
    ws.send(JSON.stringify({ t: 'batch', id: 2, lines: Array.from({ length: 101 }, () => 'x') }));
    ws.send(JSON.stringify({ t: 'batch', id: 3, lines: [`host_system,device=pc-2 uptime_s=9i ${T}`, 'not line protocol', `host_system,device=pc-1 uptime_s=666i ${T}`] }));
    await expect.poll(() => inbox.find((m) => m.t === 'ack')).toEqual({ t: 'ack', id: 3, accepted: 1, refused: 2 });
    expect(inbox.filter((m) => m.t === 'error')).toEqual([
      { t: 'error', error: 'frame is not JSON' },
      { t: 'error', error: 'batch: "id" must be an integer' },
      { t: 'error', error: 'batch: 101 lines, at most 100 allowed' },
    ]);
    expect(await rt.events('agent', 'malformed_frame')).toBe(3);
    expect(await rt.events('agent', 'malformed_line')).toBe(1);
    expect(await rt.events('agent', 'foreign_device')).toBe(1);
    expect(ws.readyState).toBe(WebSocket.OPEN);
    expect(rt.lines('host_system').filter((l) => l.includes('uptime_s=666i'))).toEqual([]);
  });

  it('relays a command to the agent and its result back', async () => {
    const { ws } = await connect('pc-1', 'token-1');
    ws.send(JSON.stringify({ t: 'devices', devices: [{ id: 'pc-1', kind: 'pc', commands: { lock: { description: 'Locks', params: { type: 'object', additionalProperties: false } } } }] }));
    ws.on('message', (d) => {
      const msg = JSON.parse(d.toString()) as Record<string, unknown>;
      if (msg.t === 'command') ws.send(JSON.stringify({ t: 'result', id: msg.id, status: 'succeeded', result: { exit_code: 0 } }));
    });
    await expect.poll(() => rt.collector.bus.commandsFor('pc-1')?.lock).toBeDefined();
    await expect(rt.collector.bus.dispatch('pc-1', { name: 'lock' })).resolves.toMatchObject({ status: 'succeeded', result: { exit_code: 0 } });
  });

  it('its simulator holds agents with terminals behind them over the real protocol', async () => {
    const stop = new AbortController();
    const counts = new Map<string, number>();
    const run = simulator.run({
      server: rt.url, count: 1, options: { terminals_per_agent: '2', interval_s: '1' }, signal: stop.signal,
      progress: { update: () => {}, count: (e, by = 1) => void counts.set(e, (counts.get(e) ?? 0) + by) },
    });
    await expect.poll(() => counts.get('points_acked') ?? 0).toBeGreaterThanOrEqual(4);
    stop.abort();
    await run;
    expect(rt.lines('terminal_status').some((l) => l.includes('device=sim-agent-1-t2') && l.includes('gateway=sim-agent-1'))).toBe(true);
    expect(rt.lines('fleetpulse_spool_points').some((l) => l.includes('device=sim-agent-1'))).toBe(true);
  });
});
