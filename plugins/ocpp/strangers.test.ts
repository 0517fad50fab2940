import { RPCClient } from 'ocpp-rpc';
import WebSocket from 'ws';
import { afterEach, describe, expect, it } from 'vitest';
import { tempInventory } from '../../collector/inventory/testing.ts';
import { startPluginRuntime, type PluginRuntime } from '../../test/helpers/plugin-runtime.ts';
import ocpp from './index.ts';
import { boot16, eventually } from './testing.ts';

/**
 * Unauthenticated chargers against the real inventory (SQLite) and runtime, with real ocpp-rpc
 * clients: the inventory's bounds on pending devices refuse them before the upgrade, and a
 * pending charger's boot data stays in the inventory instead of becoming points.
 */
let fixture: ReturnType<typeof tempInventory>;
let rt: PluginRuntime;
const clients: RPCClient[] = [];

async function start(pending: { max: number; perSourcePerMin: number }): Promise<void> {
  fixture = tempInventory({ pending });
  rt = await startPluginRuntime({
    plugins: [ocpp],
    pluginConfig: { ocpp: { boot_retry_interval_s: 3600 } },
    directory: fixture.inventory.directory,
    api: { kinds: ['charger'] },
  });
}

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close({ force: true }).catch(() => {})));
  await rt?.stop();
  fixture?.cleanup();
});

/** The HTTP status of a raw WebSocket handshake (101 when upgraded), from `localAddress`. */
function handshake(identity: string, localAddress = '127.0.0.1'): Promise<{ status: number; body: string }> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`${rt.url.replace(/^http/, 'ws')}/ocpp/${encodeURIComponent(identity)}`, ['ocpp1.6'], {
      localAddress,
    });
    ws.on('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    ws.on('open', () => {
      resolve({ status: 101, body: '' });
      ws.close();
    });
    ws.on('error', () => {});
  });
}

async function charger(identity: string): Promise<RPCClient> {
  const client = new RPCClient({
    endpoint: `${rt.url.replace(/^http/, 'ws')}/ocpp`,
    identity,
    protocols: ['ocpp1.6'],
    strictMode: true,
    reconnect: false,
  } as never);
  clients.push(client);
  await client.connect();
  return client;
}

const randomIdentity = (i: number) => `STRANGER-${i}-${Math.random().toString(36).slice(2, 10)}`;

describe('unknown chargers', () => {
  it('50 random identities with a cap of 10: 10 become pending, 40 are refused before the upgrade and counted', async () => {
    await start({ max: 10, perSourcePerMin: 1000 });
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => handshake(randomIdentity(i))));
    expect(results.filter((r) => r.status === 101)).toHaveLength(10);
    const refused = results.filter((r) => r.status !== 101);
    expect(refused).toHaveLength(40);
    expect(refused.every((r) => r.status === 503)).toBe(true);
    expect(fixture.inventory.devices.pendingCount()).toBe(10);
    expect(fixture.inventory.devices.count()).toBe(10);
    expect(await rt.events('ocpp', 'handshake_refused_pending_full')).toBe(40);

    // A charger already pending still gets in (it is not new), another new one does not.
    const pendingId = fixture.inventory.devices.list({ limit: 1, filter: { lifecycle: 'pending' } } as never).items[0]
      .id;
    expect((await handshake(pendingId)).status).toBe(101);
    expect((await handshake(randomIdentity(99))).status).toBe(503);
  });

  it('bounds new pending chargers per source address per minute; another address is not held back', async () => {
    await start({ max: 1000, perSourcePerMin: 3 });
    const first = [];
    for (let i = 0; i < 5; i++) first.push((await handshake(randomIdentity(i), '127.0.0.1')).status);
    expect(first).toEqual([101, 101, 101, 429, 429]);
    expect(await rt.events('ocpp', 'handshake_refused_pending_rate')).toBe(2);
    expect((await handshake(randomIdentity(7), '127.0.0.2')).status).toBe(101);
    expect(fixture.inventory.devices.pendingCount()).toBe(4);
  });

  it("keeps a pending charger's boot data in the inventory and writes no ocpp_boot, device_status or device_attention for it", async () => {
    await start({ max: 10, perSourcePerMin: 10 });
    const cp = await charger('CP-PENDING');
    const answer = (await cp.call('BootNotification', {
      ...boot16,
      chargePointVendor: 'EvilCorp\\',
      chargePointSerialNumber: 'SN-77',
    })) as { status: string };
    expect(answer.status).toBe('Pending');
    await cp.call('Heartbeat', {});

    const detail = fixture.inventory.devices.get('CP-PENDING');
    expect(detail).toMatchObject({ lifecycle: 'pending', kind: 'charger', firmware: '1.2.3' });
    expect(fixture.inventory.devices.reported('CP-PENDING')?.reported).toEqual({
      vendor: 'EvilCorp\\',
      model: 'SIM-22',
      serial: 'SN-77',
      firmware: '1.2.3',
    });

    // Nothing of it in the spool, also after a full liveness pass (every status, offline expiry).
    rt.collector.liveness.tick(Date.now() + 3_600_000);
    const mine = (l: string) => /[,]device=CP-PENDING[, ]/.test(l);
    expect(rt.lines().filter(mine)).toEqual([]);
    expect(rt.lines('ocpp_boot')).toEqual([]);

    // Approved: its next boot is Accepted and written, with its liveness.
    fixture.inventory.devices.approve('CP-PENDING');
    expect(((await cp.call('BootNotification', boot16)) as { status: string }).status).toBe('Accepted');
    expect(
      await eventually(
        () =>
          rt.lines('ocpp_boot').length === 1 && rt.lines('device_status').some((l) => l.includes('device=CP-PENDING')),
      ),
    ).toBe(true);
    expect(rt.lines('ocpp_boot')[0]).toMatch(/registration="Accepted"/);
  });

  it('refuses an identity no device id may be (a trailing backslash) with 400 before the upgrade, and counts it', async () => {
    await start({ max: 10, perSourcePerMin: 10 });
    const refused = await handshake('CP-7\\');
    expect(refused.status).toBe(400);
    expect(await rt.events('ocpp', 'handshake_refused_bad_identity')).toBe(1);
    expect(fixture.inventory.devices.count()).toBe(0);
    expect((await handshake('CP-7')).status).toBe(101);
  });
});
