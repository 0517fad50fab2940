import WebSocket from 'ws';
import { messageText } from '../../collector/sdk/index.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedOwners, tempInventory } from '../../collector/inventory/testing.ts';
import { startPluginRuntime, type PluginRuntime } from '../../test/helpers/plugin-runtime.ts';
import host from '../host/index.ts';
import agent from './index.ts';

/**
 * Devices an agent reports that the inventory does not know, against the real inventory
 * (SQLite) and runtime: they meet the same id rule and bounds on pending devices as a charger
 * at its handshake, and the ack says which lines were refused for it.
 */
let fixture: ReturnType<typeof tempInventory>;
let rt: PluginRuntime;
let ws: WebSocket;
const inbox: Array<Record<string, unknown>> = [];
const T = 1_700_000_000_000;

beforeAll(async () => {
  fixture = tempInventory({ pending: { max: 3, perSourcePerMin: 1000 } });
  seedOwners(fixture.inventory);
  fixture.inventory.devices.create({ id: 'pc-s', kind: 'pc', site: 'acme-berlin' });
  const token = fixture.inventory.credentials.issue('pc-s', 'agent_token').secret;
  rt = await startPluginRuntime({ plugins: [agent, host], pluginConfig: {}, directory: fixture.inventory.directory });
  ws = new WebSocket(`${rt.url.replace('http', 'ws')}/agent/pc-s`, { headers: { authorization: `Bearer ${token}` } });
  ws.on('message', (d) => inbox.push(JSON.parse(messageText(d)) as Record<string, unknown>));
  await new Promise((resolve, reject) => (ws.once('open', resolve), ws.once('error', reject)));
});
afterAll(async () => {
  ws?.terminate();
  await rt?.stop();
  fixture?.cleanup();
});

const ack = (id: number) => expect.poll(() => inbox.find((m) => m.t === 'ack' && m.id === id));

describe('unknown devices behind an agent', () => {
  it('an id no device may have is refused as device_id; nothing is registered or stored for it', async () => {
    ws.send(
      JSON.stringify({
        t: 'batch',
        id: 1,
        lines: [`host_system,device=-dash-first uptime_s=1i ${T}`, `host_system,device=pc-s uptime_s=2i ${T}`],
      }),
    );
    await ack(1).toEqual({ t: 'ack', id: 1, accepted: 1, refused: 1, reasons: { device_id: 1 } });
    expect(fixture.inventory.devices.get('-dash-first')).toBeUndefined();
    expect(rt.lines('host_system').filter((l) => l.includes('dash-first'))).toEqual([]);
    expect(await rt.events('agent', 'bad_device_id')).toBe(1);
  });

  it('beyond inventory.max_pending, new devices are refused as not_admitted and counted', async () => {
    const lines = Array.from({ length: 5 }, (_, i) => `host_system,device=new-${i} uptime_s=${i}i ${T + i}`);
    ws.send(JSON.stringify({ t: 'batch', id: 2, lines }));
    await ack(2).toEqual({ t: 'ack', id: 2, accepted: 3, refused: 2, reasons: { not_admitted: 2 } });
    expect(fixture.inventory.devices.pendingCount()).toBe(3);
    expect(fixture.inventory.devices.get('new-3')).toBeUndefined();
    expect(rt.lines('host_system').filter((l) => /device=new-[34]/.test(l))).toEqual([]);
    expect(await rt.events('agent', 'discovery_refused_pending_full')).toBe(2);
  });
});
