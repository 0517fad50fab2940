import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryDirectory } from '../../collector/sdk/index.ts';
import { startPluginRuntime, type PluginRuntime } from '../../test/helpers/plugin-runtime.ts';
import pos from './index.ts';
import { postEvents } from './testing.ts';

// device_status of POS devices comes from their heartbeats, through the real runtime's Liveness.
// Time is moved by handing the Liveness an explicit `now` (`liveness.tick(now)`), never by waiting.
const SECRET = 'bo-live-secret';
const INTERVAL_MS = 60_000; // heartbeat_interval_s default
let rt: PluginRuntime;
let directory: MemoryDirectory;

beforeAll(async () => {
  directory = new MemoryDirectory().add({ id: 'bo-live', kind: 'pos' }, { type: 'pos_hmac', value: SECRET });
  for (const id of ['pos-fault', 'pos-backlog', 'pos-quiet']) directory.add({ id, kind: 'pos', gateway: 'bo-live' });
  rt = await startPluginRuntime({ plugins: [pos], pluginConfig: {}, directory });
});
afterAll(() => rt?.stop());

let seq = 0;
const heartbeat = (device: string, extra: Record<string, unknown> = {}) => ({
  id: `hb-${++seq}`,
  type: 'heartbeat',
  device,
  store: 'store-live',
  time: Date.now(),
  app_version: '4.2.1',
  printer: 'ok',
  network: 'ethernet',
  ...extra,
});
const send = async (...events: unknown[]) => {
  const res = await postEvents(rt.url, 'bo-live', SECRET, events);
  expect(res.status).toBe(200);
};
const lastLine = (measurement: string, device: string) =>
  rt
    .lines(measurement)
    .filter((l) => l.includes(`,device=${device},`))
    .at(-1);

describe('pos liveness', () => {
  it('a heartbeat reporting a printer fault puts the device in error with the fault as reason; a working printer clears it', async () => {
    await send(heartbeat('pos-fault', { printer: 'paper_out' }));
    expect(rt.collector.liveness.state('pos-fault')?.state).toBe('error');
    expect(lastLine('device_status', 'pos-fault')).toMatch(/ online=1i,state="error"/);
    expect(lastLine('device_attention', 'pos-fault')).toMatch(/reason="printer_paper_out"/);
    expect(directory.statuses.get('pos-fault')?.state).toBe('error');

    await send(heartbeat('pos-fault', { printer: 'error' }));
    expect(lastLine('device_attention', 'pos-fault')).toMatch(/ state="error",since_s=\d+i,reason="printer_error"/);

    // paper_low still prints: online, and the attention entry is closed
    await send(heartbeat('pos-fault', { printer: 'paper_low' }));
    expect(rt.collector.liveness.state('pos-fault')?.state).toBe('online');
    expect(lastLine('device_attention', 'pos-fault')).toMatch(/state="online"/);
  });

  it('only recent heartbeats count: a backlog flushed after an outage writes health but does not mark the device seen', async () => {
    const old = Date.now() - 10 * 60_000; // far beyond two intervals
    await send(heartbeat('pos-backlog', { time: old }));
    expect(rt.lines('pos_health').some((l) => l.includes(',device=pos-backlog,') && l.endsWith(` ${old}`))).toBe(true);
    expect(rt.collector.liveness.state('pos-backlog')).toMatchObject({ state: 'offline', lastSeen: undefined });

    await send(heartbeat('pos-backlog', { time: Date.now() - 30_000 })); // within two intervals
    const seen = rt.collector.liveness.state('pos-backlog');
    expect(seen?.state).toBe('online');
    // an old heartbeat with a fault neither moves last-seen nor changes the state
    await send(heartbeat('pos-backlog', { time: old + 1, printer: 'paper_out' }));
    expect(rt.collector.liveness.state('pos-backlog')).toEqual(seen);
  });

  it('a device is offline after two missed heartbeats, and online again with the next one', async () => {
    await send(heartbeat('pos-quiet'));
    const lastSeen = rt.collector.liveness.state('pos-quiet')!.lastSeen!;
    expect(rt.collector.liveness.state('pos-quiet')?.state).toBe('online');

    rt.collector.liveness.tick(lastSeen + 2 * INTERVAL_MS); // two intervals of silence, not more
    expect(rt.collector.liveness.state('pos-quiet')?.state).toBe('online');
    rt.collector.liveness.tick(lastSeen + 2 * INTERVAL_MS + 1);
    expect(rt.collector.liveness.state('pos-quiet')?.state).toBe('offline');
    expect(lastLine('device_status', 'pos-quiet')).toBe(
      // Its back office went quiet at the same moment: that is the cause.
      `device_status,device=pos-quiet,gateway=bo-live,kind=pos online=0i,state="offline",cause="gateway_offline",dependents=0i,dependents_offline=0i,last_seen_s=120i ${lastSeen + 2 * INTERVAL_MS + 1}`,
    );
    expect(directory.statuses.get('pos-quiet')?.state).toBe('offline');

    await send(heartbeat('pos-quiet'));
    expect(rt.collector.liveness.state('pos-quiet')?.state).toBe('online');
  });
});
