import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryDirectory } from '../../collector/sdk/index.ts';
import { fillDisk } from '../../test/helpers/full-disk.ts';
import { startPluginRuntime, type PluginRuntime } from '../../test/helpers/plugin-runtime.ts';
import pos from './index.ts';
import { postEvents } from './testing.ts';

/**
 * "Accepted" means "stored": the webhook answers, and remembers event ids as delivered, only once
 * the events' points are committed to the spool. The spool commits every 2 s here, so a point
 * that is durable when the answer arrives (or when its id shows up in the replay table) is there
 * only because the plugin waited for `ctx.committed()`.
 */
const COMMIT_MS = 2000;
const SECRET = 'bo-acks-secret';
let rt: PluginRuntime;

beforeAll(async () => {
  const directory = new MemoryDirectory()
    .add({ id: 'bo-1', kind: 'pos' }, { type: 'pos_hmac', value: SECRET })
    .add({ id: 'pos-1', kind: 'pos', gateway: 'bo-1', customer: 'acme' });
  rt = await startPluginRuntime({ plugins: [pos], pluginConfig: {}, directory, spoolCommitMs: COMMIT_MS });
});
afterAll(() => rt?.stop());

const order = (id: string, time: number) => ({
  id,
  type: 'order',
  device: 'pos-1',
  store: 'store-1',
  time,
  order_id: `o-${id}`,
  total: 9.5,
  currency: 'EUR',
  items: 1,
  payment_method: 'card',
  status: 'completed',
});
const durableOrders = (time: number) => rt.committedLines('pos_order').filter((l) => l.endsWith(` ${time}`));
const rememberedIds = () =>
  rt.pluginDb.prepare("SELECT id FROM pos_events_seen WHERE sender = 'bo-1' ORDER BY id").pluck().all() as string[];

describe('pos webhook acknowledgements', () => {
  it('with the disk full, answers 503 with retry-after and remembers nothing; the resend is stored', async () => {
    const full = await startPluginRuntime({
      plugins: [pos],
      pluginConfig: {},
      directory: new MemoryDirectory()
        .add({ id: 'bo-1', kind: 'pos' }, { type: 'pos_hmac', value: SECRET })
        .add({ id: 'pos-1', kind: 'pos', gateway: 'bo-1' }),
    });
    try {
      const free = fillDisk(full.spool, full.pluginDb);
      const time = Date.parse('2025-06-01T09:00:00Z');
      const events = Array.from({ length: 200 }, (_, i) => order(`full-${i}`, time + i));
      const refused = await postEvents(full.url, 'bo-1', SECRET, events);
      expect(refused, JSON.stringify(refused)).toMatchObject({ status: 503, body: { error: 'disk_full' } });
      expect(full.pluginDb.prepare("SELECT count(*) FROM pos_events_seen WHERE id LIKE 'full-%'").pluck().get()).toBe(
        0,
      );
      expect(await full.events('pos', 'disk_full')).toBe(1);
      free();
      await expect.poll(() => full.spool.diskFull, { timeout: 10_000 }).toBe(false);
      expect(await postEvents(full.url, 'bo-1', SECRET, events)).toEqual({
        status: 200,
        body: { accepted: 200, duplicates: 0 },
      });
      // Each event is stored; one the first answer already had stored is stored again as the same
      // point (same series and time), which InfluxDB keeps once.
      expect(new Set(full.committedLines('pos_order')).size).toBe(200);
    } finally {
      await full.stop();
    }
  });

  it('answers 200 with the counts only once the events are durable', async () => {
    const time = Date.parse('2025-06-01T10:00:00Z');
    const res = await postEvents(rt.url, 'bo-1', SECRET, [order('ack-1', time), order('ack-2', time + 1)]);
    expect(res).toEqual({ status: 200, body: { accepted: 2, duplicates: 0 } });
    expect(durableOrders(time)).toHaveLength(1);
    expect(durableOrders(time + 1)).toHaveLength(1);
  });

  it('remembers event ids as delivered only once their events are durable', async () => {
    const time = Date.parse('2025-06-01T11:00:00Z');
    const answer = postEvents(rt.url, 'bo-1', SECRET, [order('seen-1', time)]);
    // Watch the replay table while the request waits for the commit: the id must never be
    // there before the event is durable (a crash in between would refuse the resend).
    let seenWhileDurable: boolean | undefined;
    for (let i = 0; i < 400 && seenWhileDurable === undefined; i++) {
      if (rememberedIds().includes('seen-1')) seenWhileDurable = durableOrders(time).length === 1;
      else await new Promise((r) => setTimeout(r, 10));
    }
    expect(seenWhileDurable, 'event durable when its id was remembered').toBe(true);
    expect(await answer).toEqual({ status: 200, body: { accepted: 1, duplicates: 0 } });
    // A resend is refused as a replay, and also answered only once nothing it depends on waits.
    expect(await postEvents(rt.url, 'bo-1', SECRET, [order('seen-1', time)])).toEqual({
      status: 200,
      body: { accepted: 0, duplicates: 1 },
    });
  });
});
