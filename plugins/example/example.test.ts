import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { MemoryDirectory, messageText } from '../../collector/sdk/index.ts';
import { startPluginRuntime, type PluginRuntime } from '../../test/helpers/plugin-runtime.ts';
import example from './index.ts';

// The worked example through the real runtime: Collector + SharedServer on 127.0.0.1, a Spool on
// temp SQLite, real `ws` clients as sensors.
let rt: PluginRuntime;
const open: WebSocket[] = [];

beforeAll(async () => {
  const directory = new MemoryDirectory()
    .add({ id: 'sensor-1', kind: 'sensor', site: 'lab' }, { type: 'example_token', value: 'token-1' })
    .add({ id: 'sensor-2', kind: 'sensor' }, { type: 'example_token', value: 'token-2' });
  rt = await startPluginRuntime({ plugins: [example], pluginConfig: { example: {} }, directory });
});
afterAll(async () => {
  for (const ws of open) if (ws.readyState === WebSocket.OPEN) ws.close();
  await rt?.stop();
});

/** A sensor that connects, collects what the server sends, and answers commands like the simulator. */
async function sensor(id: string, token: string) {
  const ws = new WebSocket(`${rt.url.replace('http', 'ws')}/example/${id}`, {
    headers: { authorization: `Bearer ${token}` },
  });
  open.push(ws);
  ws.on('error', () => {}); // refused handshakes are asserted through 'unexpected-response'
  const inbox: Array<Record<string, unknown>> = [];
  ws.on('message', (data) => {
    const msg = JSON.parse(messageText(data)) as Record<string, unknown>;
    inbox.push(msg);
    if (msg.type === 'command') ws.send(JSON.stringify({ type: 'result', id: msg.id, ok: true, result: { pong: 42 } }));
  });
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    ws.once('error', reject);
  });
  return { ws, inbox };
}

describe('example plugin', () => {
  it('lands readings in the spool with the sensor time and inventory tags', async () => {
    const { ws } = await sensor('sensor-1', 'token-1');
    ws.send(
      JSON.stringify({ type: 'reading', t: 1746100800000, temperature_c: 21.4, humidity_pct: 44, uptime_s: 120 }),
    );
    await expect
      .poll(() => rt.lines('sensor_reading'))
      .toEqual([
        'sensor_reading,device=sensor-1,kind=sensor,site=lab temperature_c=21.4,humidity_pct=44,uptime_s=120i 1746100800000',
      ]);
    expect(rt.collector.liveness.state('sensor-1')?.state).toBe('online');
  });

  it('counts malformed frames, answers each with an error, and keeps the connection', async () => {
    const { ws, inbox } = await sensor('sensor-2', 'token-2');
    ws.send('not json');
    ws.send(JSON.stringify({ type: 'reading', t: 'yesterday' }));
    await expect
      .poll(() => inbox.filter((m) => m.type === 'error').map((m) => m.error))
      .toEqual(['frame is not JSON', 'reading.t must be epoch milliseconds']);
    expect(await rt.events('example', 'malformed_frame')).toBe(2);
    ws.send(JSON.stringify({ type: 'reading', t: 1746100860000, temperature_c: 19 }));
    await expect
      .poll(() => rt.lines('sensor_reading').some((l) => l.includes('device=sensor-2') && l.endsWith(' 1746100860000')))
      .toBe(true);
    expect(ws.readyState).toBe(WebSocket.OPEN);
  });

  it('carries a ping through the command bus and back', async () => {
    await sensor('sensor-1', 'token-1'); // a newer connection replaces the first one
    const outcome = await rt.collector.bus.dispatch('sensor-1', { name: 'ping' });
    expect(outcome).toMatchObject({ status: 'succeeded', result: { pong: 42 } });
    await expect(
      rt.collector.bus.dispatch('sensor-1', { name: 'set_interval', params: { interval_s: 0 } }),
    ).rejects.toThrow(/interval_s/);
  });

  it('refuses a bad token and a missing one before the upgrade, and counts them', async () => {
    await expect(sensor('sensor-1', 'wrong')).rejects.toThrow('HTTP 401');
    await expect(sensor('nobody', 'token-1')).rejects.toThrow('HTTP 401');
    const anonymous = new WebSocket(`${rt.url.replace('http', 'ws')}/example/sensor-1`);
    open.push(anonymous);
    anonymous.on('error', () => {});
    const status = await new Promise((resolve) =>
      anonymous.once('unexpected-response', (_req, res) => resolve(res.statusCode)),
    );
    expect(status).toBe(401);
    expect(await rt.events('example', 'refused_bad_secret')).toBe(1);
    expect(await rt.events('example', 'refused_unknown_device')).toBe(1);
    expect(await rt.events('example', 'refused_no_credential')).toBe(1);
  });
});
