import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createHash } from 'node:crypto';
import { encodeLine } from '../../collector/pipeline/line-protocol.ts';
import { MemoryDirectory, type MeasurementSpec, messageText } from '../../collector/sdk/index.ts';
import { measurements as tc200Measurements } from '../tc200/measurements.ts';
import { fillDisk } from '../../test/helpers/full-disk.ts';
import { startPluginRuntime, type PluginRuntime } from '../../test/helpers/plugin-runtime.ts';
import host from '../host/index.ts';
import tc200 from '../tc200/index.ts';
import agent from './index.ts';
import simulator from './simulator.ts';

// The agent plugin through the real runtime (Collector, SharedServer on 127.0.0.1, Spool on temp
// SQLite) with real `ws` clients as agents. The real agent process is test/agent-e2e.test.ts.
let rt: PluginRuntime;
const open: WebSocket[] = [];
const T = 1_700_000_000_000;

beforeAll(async () => {
  const directory = new MemoryDirectory()
    .add(
      { id: 'pc-1', kind: 'pc', model: 'store-pc', customer: 'acme', site: 'acme-1' },
      { type: 'agent_token', value: 'token-1' },
    )
    .add({ id: 'pc-2', kind: 'pc', customer: 'acme', site: 'acme-2' }, { type: 'agent_token', value: 'token-2' })
    .add({ id: 'pc-3', kind: 'pc', customer: 'acme', site: 'acme-3' }, { type: 'agent_token', value: 'token-3' })
    .add({ id: 'pc-3-t1', kind: 'terminal', model: 'TC-200', customer: 'acme', site: 'acme-3', gateway: 'pc-3' })
    .add({ id: 'sim-agent-1', kind: 'pc', customer: 'sim', site: 'sim-1' }, { type: 'agent_token', value: 'sim-token' })
    .add({
      id: 'sim-agent-1-t1',
      kind: 'terminal',
      model: 'TC-200',
      customer: 'sim',
      site: 'sim-1',
      gateway: 'sim-agent-1',
    })
    // Approved, so liveness watches it (a pending device writes no status; docs/inventory.md).
    .add({
      id: 'sim-agent-1-t2',
      kind: 'terminal',
      model: 'TC-200',
      customer: 'sim',
      site: 'sim-1',
      gateway: 'sim-agent-1',
    });
  rt = await startPluginRuntime({
    plugins: [agent, host, tc200],
    pluginConfig: { agent: { max_batch_lines: 100 } },
    directory,
  });
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
  const ws = new WebSocket(`${rt.url.replace('http', 'ws')}/agent/${id}`, {
    headers: { authorization: `Bearer ${token}` },
  });
  open.push(ws);
  const inbox: Array<Record<string, unknown>> = [];
  /** What the server's spool held, committed, at the moment each ack arrived. */
  const committedAtAck = new Map<number, string[]>();
  ws.on('message', (d) => {
    const msg = JSON.parse(messageText(d)) as Record<string, unknown>;
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
    ws.send(
      JSON.stringify({
        t: 'batch',
        id: 1,
        lines: [
          `host_system,device=pc-1 uptime_s=5i ${T}`,
          `host_memory,device=pc-1,kind=pc total_bytes=8i,available_bytes=4i,used_pct=50,swap_used_bytes=0i ${T}`,
          // Another kind than the inventory's: refused, not rewritten.
          `host_memory,device=pc-1,kind=terminal total_bytes=9i,available_bytes=4i,used_pct=50,swap_used_bytes=0i ${T + 1}`,
        ],
      }),
    );
    await expect
      .poll(() => inbox.find((m) => m.t === 'ack'))
      .toEqual({ t: 'ack', id: 1, accepted: 2, refused: 1, reasons: { identity: 1 } });
    const expected = [
      `host_system,customer=acme,device=pc-1,kind=pc,model=store-pc,site=acme-1 uptime_s=5i ${T}`,
      `host_memory,customer=acme,device=pc-1,kind=pc,model=store-pc,site=acme-1 total_bytes=8i,available_bytes=4i,used_pct=50,swap_used_bytes=0i ${T}`,
    ];
    expect(committedAtAck.get(1)).toEqual(expect.arrayContaining(expected));
    expect(committedAtAck.get(1)!.filter((l) => l.includes('total_bytes=9i'))).toEqual([]);
    expect(rt.collector.liveness.state('pc-1')?.state).toBe('online');
  });

  it('answers malformed frames, counts them and keeps the connection', async () => {
    const { ws, inbox } = await connect('pc-2', 'token-2');
    ws.send('{not json');
    ws.send(JSON.stringify({ t: 'batch', id: 'one', lines: [] }));
    ws.send(JSON.stringify({ t: 'batch', id: 2, lines: Array.from({ length: 101 }, () => 'x') }));
    ws.send(
      JSON.stringify({
        t: 'batch',
        id: 3,
        lines: [
          `host_system,device=pc-2 uptime_s=9i ${T}`,
          'not line protocol',
          `host_system,device=pc-1 uptime_s=666i ${T}`,
        ],
      }),
    );
    await expect
      .poll(() => inbox.find((m) => m.t === 'ack'))
      .toEqual({ t: 'ack', id: 3, accepted: 1, refused: 2, reasons: { malformed: 1, foreign_device: 1 } });
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
    ws.send(
      JSON.stringify({
        t: 'devices',
        devices: [
          {
            id: 'pc-1',
            kind: 'pc',
            commands: { lock: { description: 'Locks', params: { type: 'object', additionalProperties: false } } },
          },
        ],
      }),
    );
    ws.on('message', (d) => {
      const msg = JSON.parse(messageText(d)) as Record<string, unknown>;
      if (msg.t === 'command')
        ws.send(JSON.stringify({ t: 'result', id: msg.id, status: 'succeeded', result: { exit_code: 0 } }));
    });
    await expect.poll(() => rt.collector.bus.commandsFor('pc-1')?.lock).toBeDefined();
    await expect(rt.collector.bus.dispatch('pc-1', { name: 'lock' })).resolves.toMatchObject({
      status: 'succeeded',
      result: { exit_code: 0 },
    });
  });

  it('a second connection of the same agent replaces the first: closed with 4000, its commands fail at once, its devices stay online', async () => {
    const first = await connect('pc-3', 'token-3');
    first.ws.send(
      JSON.stringify({
        t: 'devices',
        devices: [
          {
            id: 'pc-3-t1',
            kind: 'terminal',
            commands: { reboot: { description: 'Reboots', params: { type: 'object' } } },
          },
        ],
      }),
    );
    first.ws.send(JSON.stringify({ t: 'batch', id: 1, lines: [`terminal_status,device=pc-3-t1 state="idle" ${T}`] }));
    await expect.poll(() => first.inbox.find((m) => m.t === 'ack')).toBeDefined();
    await expect.poll(() => rt.collector.bus.commandsFor('pc-3-t1')?.reboot).toBeDefined();
    // A command the first connection never answers (a half-dead link) is in flight when the second arrives.
    await new Promise<void>((resolve) => {
      first.ws.once('message', () => resolve());
      inFlight = rt.collector.bus.dispatch('pc-3-t1', { name: 'reboot' });
    });
    const closed = new Promise<[number, string]>((resolve) =>
      first.ws.once('close', (code, reason) => resolve([code, reason.toString()])),
    );
    const replaced = await rt.events('agent', 'connection_replaced');
    const second = await connect('pc-3', 'token-3');
    expect(await closed).toEqual([4000, 'replaced by a newer connection']);
    expect(await rt.events('agent', 'connection_replaced')).toBe(replaced + 1);
    await expect(inFlight).resolves.toMatchObject({
      status: 'failed',
      error: expect.stringMatching(/pc-3 \(uplink closed\)/),
    });
    // A replacement is not a lost uplink: neither the agent nor the terminal behind it went offline.
    expect(rt.collector.liveness.state('pc-3')?.state).toBe('online');
    expect(rt.collector.liveness.state('pc-3-t1')?.state).toBe('online');
    // The newer connection is the live one: it announces, and commands reach it.
    second.ws.send(
      JSON.stringify({
        t: 'devices',
        devices: [
          {
            id: 'pc-3-t1',
            kind: 'terminal',
            commands: { reboot: { description: 'Reboots', params: { type: 'object' } } },
          },
        ],
      }),
    );
    second.ws.on('message', (d) => {
      const msg = JSON.parse(messageText(d)) as Record<string, unknown>;
      if (msg.t === 'command')
        second.ws.send(JSON.stringify({ t: 'result', id: msg.id, status: 'succeeded', result: { via: 'second' } }));
    });
    await expect.poll(() => rt.collector.bus.commandsFor('pc-3-t1')?.reboot).toBeDefined();
    await expect(rt.collector.bus.dispatch('pc-3-t1', { name: 'reboot' })).resolves.toMatchObject({
      status: 'succeeded',
      result: { via: 'second' },
    });
  });

  it('a device the edge reported in error stays in error through batches that carry only its data', async () => {
    const { ws, inbox } = await connect('pc-3', 'token-3');
    const t = Date.now();
    ws.send(
      JSON.stringify({
        t: 'batch',
        id: 1,
        lines: [
          `terminal_status,device=pc-3-t1 state="error",error_code=261i ${t}`,
          `device_status,device=pc-3-t1 online=1i,state="error" ${t}`,
          `device_attention,device=pc-3-t1 state="error",since_s=0i,reason="0x0105" ${t}`,
        ],
      }),
    );
    await expect.poll(() => inbox.filter((m) => m.t === 'ack').length).toBe(1);
    expect(rt.collector.liveness.state('pc-3-t1')?.state).toBe('error');
    // The edge writes liveness on changes (and once a minute): the next reports are data only.
    ws.send(
      JSON.stringify({
        t: 'batch',
        id: 2,
        lines: [`terminal_status,device=pc-3-t1 state="error",error_code=261i ${t + 1000}`],
      }),
    );
    await expect.poll(() => inbox.filter((m) => m.t === 'ack').length).toBe(2);
    expect(rt.collector.liveness.state('pc-3-t1')?.state).toBe('error');
    ws.send(
      JSON.stringify({
        t: 'batch',
        id: 3,
        lines: [
          `terminal_status,device=pc-3-t1 state="idle",error_code=0i ${t + 2000}`,
          `device_status,device=pc-3-t1 online=1i,state="online" ${t + 2000}`,
        ],
      }),
    );
    await expect.poll(() => inbox.filter((m) => m.t === 'ack').length).toBe(3);
    expect(rt.collector.liveness.state('pc-3-t1')?.state).toBe('online');
    ws.send(
      JSON.stringify({
        t: 'batch',
        id: 4,
        lines: [`terminal_status,device=pc-3-t1 state="idle",error_code=0i ${t + 3000}`],
      }),
    );
    await expect.poll(() => inbox.filter((m) => m.t === 'ack').length).toBe(4);
    expect(rt.collector.liveness.state('pc-3-t1')?.state).toBe('online');
  });

  it('its simulator plays agents whose TC-200s write what the tc200 plugin writes and take its commands', async () => {
    const stop = new AbortController();
    const counts = new Map<string, number>();
    // Half the terminals in error: terminal 2 of agent 1 (sim-agent-1-t2).
    const run = simulator.run({
      server: rt.url,
      count: 1,
      options: { terminals_per_agent: '2', interval_s: '1', error_pct: '50' },
      signal: stop.signal,
      encode: encodeLine,
      progress: { update: () => {}, count: (e, by = 1) => void counts.set(e, (counts.get(e) ?? 0) + by) },
    });
    try {
      await expect
        .poll(() => rt.lines('terminal_status').filter((l) => l.includes('device=sim-agent-1-t2')).length, {
          timeout: 10_000,
        })
        .toBeGreaterThanOrEqual(2);
      for (const spec of tc200Measurements.filter((m) => m.name !== 'terminal_firmware')) {
        const lines = rt.lines(spec.name).filter((l) => l.includes('device=sim-agent-1-t1'));
        expect(lines.length, spec.name).toBeGreaterThan(0);
        for (const line of lines) expect(shape(line), line).toEqual(declaredShape(spec));
      }
      const link = rt.lines('terminal_link').find((l) => l.includes('device=sim-agent-1-t1'))!;
      expect(link).toMatch(
        /^terminal_link,customer=sim,device=sim-agent-1-t1,gateway=sim-agent-1,kind=terminal,model=TC-200,port=\/dev\/ttyUSB0,site=sim-1 /,
      );
      const status = rt.lines('terminal_status').find((l) => l.includes('device=sim-agent-1-t1'))!;
      expect(status).toMatch(
        / state="idle",error_code=0i,transactions=\d+i,failed_transactions=\d+i,paper="ok",temperature_c=[\d.]+,free_storage_bytes=49152000i,/,
      );
      // The terminal in error is in error on the server (with its code on the attention list), batch after batch.
      expect(
        rt
          .lines('terminal_status')
          .filter((l) => l.includes('device=sim-agent-1-t2'))
          .every((l) => / state="error",error_code=(261|513|770)i/.test(l)),
      ).toBe(true);
      expect(rt.collector.liveness.state('sim-agent-1-t2')?.state).toBe('error');
      expect(
        rt
          .lines('device_attention')
          .some((l) => l.includes('device=sim-agent-1-t2') && /reason="0x0(105|201|302)"/.test(l)),
      ).toBe(true);
      expect(rt.collector.liveness.state('sim-agent-1-t1')?.state).toBe('online');

      // The tc200 plugin's commands, validated on the server against the schema the agent announced.
      const bus = rt.collector.bus;
      await expect(bus.dispatch('sim-agent-1-t1', { name: 'get_diagnostics' })).resolves.toMatchObject({
        status: 'succeeded',
        result: { firmware: '2.4.1', card_reader: 'ok' },
      });
      await expect(
        bus.dispatch('sim-agent-1-t1', { name: 'set_parameters', params: { beep_volume: 11 } }),
      ).rejects.toThrow(/beep_volume/);
      await expect(
        bus.dispatch('sim-agent-1-t1', { name: 'set_parameters', params: { beep_volume: 3 } }),
      ).resolves.toMatchObject({ status: 'succeeded', result: { beep_volume: '3' } });
      const image = Buffer.from('simulated firmware image 2.5.0');
      const sha256 = createHash('sha256').update(image).digest('hex');
      const update = await bus.dispatch('sim-agent-1-t1', {
        name: 'update_firmware',
        params: { version: '2.5.0', sha256, image_base64: image.toString('base64') },
      });
      expect(update).toMatchObject({
        status: 'succeeded',
        result: { firmware: '2.5.0', previous: '2.4.1', bytes: image.length },
      });
      await expect
        .poll(
          () =>
            rt
              .lines('terminal_info')
              .some(
                (l) =>
                  l.includes('device=sim-agent-1-t1') && l.includes('firmware="2.5.0"') && l.includes('boot_count=2i'),
              ),
          { timeout: 10_000 },
        )
        .toBe(true);
      const steps = () =>
        rt
          .lines('terminal_firmware')
          .filter((l) => l.includes('device=sim-agent-1-t1'))
          .map((l) => /state="(\w+)"/.exec(l)![1]);
      await expect
        .poll(steps, { timeout: 10_000 })
        .toEqual(['transferring', 'transferring', 'verifying', 'applying', 'updated']);
      const bad = await bus.dispatch('sim-agent-1-t1', {
        name: 'update_firmware',
        params: { version: '2.6.0', sha256: '0'.repeat(64), image_base64: image.toString('base64') },
      });
      expect(bad).toMatchObject({ status: 'failed', error: expect.stringMatching(/does not match its sha256/) });
      expect(counts.get('points_acked')).toBeGreaterThan(0);
    } finally {
      stop.abort();
      await run;
    }
    expect(rt.lines('fleetpulse_spool_points').some((l) => l.includes('device=sim-agent-1'))).toBe(true);
  });
});

describe('agent uplink acks say what was stored', () => {
  const inventory = () =>
    new MemoryDirectory().add(
      { id: 'pc-9', kind: 'pc', customer: 'acme', site: 'acme-9' },
      { type: 'agent_token', value: 'token-9' },
    );

  async function agentOn(url: string) {
    const ws = new WebSocket(`${url.replace('http', 'ws')}/agent/pc-9`, {
      headers: { authorization: 'Bearer token-9' },
    });
    const inbox: Array<Record<string, unknown>> = [];
    ws.on('message', (d) => inbox.push(JSON.parse(messageText(d)) as Record<string, unknown>));
    await new Promise((resolve, reject) => (ws.once('open', resolve), ws.once('error', reject)));
    return { ws, inbox };
  }

  it('does not ack a batch before the spool has committed it', async () => {
    // The real spool, committing only when the test says so (its timer is ten minutes).
    const held = await startPluginRuntime({
      plugins: [agent, host],
      pluginConfig: {},
      directory: inventory(),
      spoolCommitMs: 600_000,
    });
    const { ws, inbox } = await agentOn(held.url);
    try {
      ws.send(JSON.stringify({ t: 'batch', id: 1, lines: [`host_system,device=pc-9 uptime_s=5i ${T}`] }));
      // Frames are handled in order and a malformed one is answered at once: once its answer is
      // in, the batch has been handled as far as it goes without the commit.
      ws.send('{not json');
      await expect.poll(() => inbox.some((m) => m.t === 'error')).toBe(true);
      // Appended (with the liveness points the batch caused), none committed, so none acked.
      expect(held.spool.size().points).toBeGreaterThan(1);
      expect(held.committedLines()).toEqual([]);
      expect(inbox.filter((m) => m.t === 'ack')).toEqual([]);
      held.spool.commit();
      await expect.poll(() => inbox.find((m) => m.t === 'ack')).toEqual({ t: 'ack', id: 1, accepted: 1, refused: 0 });
      expect(held.committedLines('host_system')).toHaveLength(1);
    } finally {
      ws.terminate();
      await held.stop();
    }
  });

  it('with when_full: drop_newest, lines the spool refused are acked as refused (spool_full), never accepted', async () => {
    const small = await startPluginRuntime({
      plugins: [agent, host],
      pluginConfig: {},
      directory: inventory(),
      spool: { maxBytes: 2000, whenFull: 'drop_newest' },
    });
    const { ws, inbox } = await agentOn(small.url);
    try {
      const lines = Array.from({ length: 40 }, (_, i) => `host_system,device=pc-9 uptime_s=${i}i ${T + i}`);
      ws.send(JSON.stringify({ t: 'batch', id: 1, lines }));
      await expect.poll(() => inbox.find((m) => m.t === 'ack')).toBeDefined();
      const ack = inbox.find((m) => m.t === 'ack') as {
        accepted: number;
        refused: number;
        reasons: Record<string, number>;
      };
      const stored = small.committedLines('host_system').length;
      expect(ack.accepted).toBe(stored);
      expect(ack.refused).toBe(40 - stored);
      expect(ack.reasons).toEqual({ spool_full: 40 - stored });
      expect(ack.refused).toBeGreaterThan(0);
    } finally {
      ws.terminate();
      await small.stop();
    }
  });

  it('with the server disk full, the batch is acked disk_full (nothing accepted); resent after, it is stored', async () => {
    const rt2 = await startPluginRuntime({ plugins: [agent, host], pluginConfig: {}, directory: inventory() });
    const { ws, inbox } = await agentOn(rt2.url);
    try {
      const free = fillDisk(rt2.spool, rt2.pluginDb);
      const lines = Array.from({ length: 300 }, (_, i) => `host_system,device=pc-9 uptime_s=${i}i ${T + i}`);
      ws.send(JSON.stringify({ t: 'batch', id: 1, lines }));
      await expect
        .poll(() => inbox.find((m) => m.t === 'ack' && m.id === 1))
        .toEqual({ t: 'ack', id: 1, accepted: 0, refused: 300, reasons: { disk_full: 300 } });
      expect(rt2.spool.diskFull).toBe(true);
      expect(rt2.committedLines('host_system')).toEqual([]);
      free();
      await expect.poll(() => rt2.spool.diskFull, { timeout: 10_000 }).toBe(false);
      ws.send(JSON.stringify({ t: 'batch', id: 2, lines }));
      await expect
        .poll(() => inbox.find((m) => m.t === 'ack' && m.id === 2))
        .toEqual({ t: 'ack', id: 2, accepted: 300, refused: 0 });
      expect(rt2.committedLines('host_system')).toHaveLength(300);
    } finally {
      ws.terminate();
      await rt2.stop();
    }
  });

  it('counts lines refused for what they are by reason, and stores the rest', async () => {
    const { ws, inbox } = await connect('pc-1', 'token-1');
    ws.send(
      JSON.stringify({
        t: 'batch',
        id: 7,
        lines: [
          `host_system,device=pc-1,customer=victim uptime_s=1i ${T + 7}`,
          `fleet_status,device=pc-1 online=500i ${T + 7}`,
          `rel_spoof,device=pc-1 v=1 ${T + 7}`,
          `host_system,device=pc-1 uptime_s="poison" ${T + 7}`,
          `host_system,device=pc-1 uptime_s=7i`,
          `host_system,device=pc-1 uptime_s=77i ${T + 7}`,
        ],
      }),
    );
    await expect
      .poll(() => inbox.find((m) => m.t === 'ack'))
      .toEqual({
        t: 'ack',
        id: 7,
        accepted: 1,
        refused: 5,
        reasons: { identity: 1, measurement: 2, field_type: 1, no_timestamp: 1 },
      });
    expect(rt.lines('host_system').filter((l) => l.endsWith(` ${T + 7}`))).toEqual([
      `host_system,customer=acme,device=pc-1,kind=pc,model=store-pc,site=acme-1 uptime_s=77i ${T + 7}`,
    ]);
    // fleet_status is the runtime's: only its own points, never the agent's 500 online.
    expect(rt.lines('fleet_status').filter((l) => l.includes('online=500i'))).toEqual([]);
    expect(rt.lines('rel_spoof')).toEqual([]);
  });
});

let inFlight: Promise<unknown> | undefined;

/** A line's tag keys and each field with its type: i (integer), s (string), f (float). */
function shape(line: string): { tags: string[]; fields: Record<string, string> } {
  const [head, fieldText] = line.split(' ');
  const tags = head
    .split(',')
    .slice(1)
    .map((t) => t.split('=')[0])
    .filter((k) => !['customer', 'site', 'kind', 'model', 'gateway'].includes(k));
  const fields: Record<string, string> = {};
  for (const m of fieldText.matchAll(/(\w+)=("(?:[^"\\]|\\.)*"|[^,]+)/g))
    fields[m[1]] = m[2].startsWith('"') ? 's' : m[2].endsWith('i') ? 'i' : 'f';
  return { tags, fields };
}

/** What the declaration says a point looks like (the plugin's own tags: device, and those it declares). */
function declaredShape(spec: MeasurementSpec): { tags: string[]; fields: Record<string, string> } {
  const fields = Object.fromEntries(
    Object.entries(spec.fields).map(([k, f]) => [k, f.type === 'int' ? 'i' : f.type === 'string' ? 's' : 'f']),
  );
  return { tags: ['device', ...Object.keys(spec.tags)].sort(), fields };
}
