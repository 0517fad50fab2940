import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryDirectory } from '../../collector/sdk/index.ts';
import { startPluginRuntime, type PluginRuntime } from '../../test/helpers/plugin-runtime.ts';
import pos from './index.ts';
import { signatureHeader } from './protocol.ts';
import simulator from './simulator.ts';

// The real runtime: Collector + SharedServer on 127.0.0.1, a Spool on temp SQLite, real fetch.
const SECRET = 'bo-1-secret';
const NEW_SECRET = 'bo-1-rotated';
let rt: PluginRuntime;
let directory: MemoryDirectory;

beforeAll(async () => {
  directory = new MemoryDirectory()
    .add({ id: 'bo-1', kind: 'pos', site: 'site-1' }, { type: 'pos_hmac', value: SECRET })
    .add({ id: 'bo-1', kind: 'pos', site: 'site-1' }, { type: 'pos_hmac', value: NEW_SECRET })
    .add({ id: 'bo-2', kind: 'pos' }, { type: 'pos_hmac', value: 'bo-2-secret' })
    .add({ id: 'pos-1', kind: 'pos', gateway: 'bo-1', customer: 'acme' })
    .add({ id: 'pos-other', kind: 'pos', gateway: 'bo-2' })
    .add({ id: 'plug-9', kind: 'plug', gateway: 'bo-1' })
    .add({ id: 'store-0001-bo', kind: 'pos' }, { type: 'pos_hmac', value: 'sim-secret' });
  rt = await startPluginRuntime({ plugins: [pos], pluginConfig: { pos: { body_limit_bytes: 64 * 1024 } }, directory });
});
afterAll(() => rt?.stop());

const now = () => Math.floor(Date.now() / 1000);
let seq = 0;
const order = (extra: Record<string, unknown> = {}) => ({
  id: `evt-${++seq}`,
  type: 'order',
  device: 'pos-1',
  store: 'store-9',
  time: new Date(Date.now() - seq).toISOString(),
  order_id: `o-${seq}`,
  total: 12.5,
  currency: 'EUR',
  items: 3,
  payment_method: 'card',
  status: 'completed',
  ...extra,
});

async function post(body: string, opts: { secrets?: string[]; t?: number; sender?: string; signature?: string } = {}) {
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'x-fleetpulse-sender': opts.sender ?? 'bo-1',
  };
  const signature = opts.signature ?? signatureHeader(opts.secrets ?? [SECRET], opts.t ?? now(), body);
  if (signature) headers['x-fleetpulse-signature'] = signature;
  const res = await fetch(`${rt.url}/ingest/pos`, { method: 'POST', body, headers });
  return { status: res.status, body: (await res.json()) as Record<string, any> };
}
const events = (...list: unknown[]) => JSON.stringify({ events: list });

describe('pos webhook', () => {
  it('writes a signed batch of every event type into the spool, stamped with event time', async () => {
    const t = Date.parse('2025-05-01T12:30:00Z');
    const res = await post(
      events(
        {
          id: 'a1',
          type: 'heartbeat',
          device: 'pos-1',
          store: 'store-9',
          time: Date.now(),
          app_version: '4.2.1',
          printer: 'ok',
          network: 'wifi',
          signal_dbm: -61,
          battery_pct: 80,
          charging: false,
        },
        { ...order(), id: 'a2', time: t, total: 20.25, order_id: 'o-a2' },
        {
          id: 'a3',
          type: 'payment',
          device: 'pos-1',
          store: 'store-9',
          time: t,
          order_id: 'o-a2',
          amount: 20.25,
          currency: 'EUR',
          method: 'card',
          result: 'failure',
          reason: 'card_declined',
        },
        {
          id: 'a4',
          type: 'refund',
          device: 'pos-1',
          store: 'store-9',
          time: t,
          order_id: 'o-a2',
          amount: 5,
          currency: 'EUR',
        },
        { id: 'a5', type: 'error', device: 'pos-1', store: 'store-9', time: t, code: 'PRN_JAM', severity: 'warning' },
      ),
    );
    expect(res).toEqual({ status: 200, body: { accepted: 5, duplicates: 0 } });
    expect(rt.lines('pos_order')).toContain(
      `pos_order,currency=EUR,customer=acme,device=pos-1,gateway=bo-1,kind=pos,payment_method=card,status=completed,store=store-9 total=20.25,items=3i,order_id="o-a2" ${t}`,
    );
    expect(rt.lines('pos_payment')[0]).toMatch(/reason=card_declined,result=failure/);
    expect(rt.lines('pos_refund')).toHaveLength(1);
    expect(rt.lines('pos_error')[0]).toMatch(/code=PRN_JAM.* message=""/);
    expect(rt.lines('pos_health')[0]).toMatch(/network=wifi.*printer_ok=1i/);
    expect(rt.collector.liveness.state('pos-1')?.state).toBe('online');
    expect(rt.lines('device_status').some((l) => l.includes(',device=pos-1,') && l.includes('state="online"'))).toBe(
      true,
    );
  });

  it('accepts a replayed event with 200 and counts it once', async () => {
    const body = events(order({ id: 'replay-1' }));
    const before = rt.lines('pos_order').length;
    expect((await post(body)).body).toEqual({ accepted: 1, duplicates: 0 });
    expect((await post(body)).body).toEqual({ accepted: 0, duplicates: 1 });
    // the same id twice in one batch counts once too
    expect((await post(events(order({ id: 'twin' }), order({ id: 'twin' })))).body).toEqual({
      accepted: 1,
      duplicates: 1,
    });
    expect(rt.lines('pos_order').length).toBe(before + 2);
    expect(await rt.events('pos', 'events_duplicate')).toBe(2);
  });

  it('accepts either secret during a rotation (two v1 values)', async () => {
    expect((await post(events(order()), { secrets: ['stale-secret', NEW_SECRET] })).status).toBe(200);
  });

  it('refuses missing, bad, stale and unknown signatures with 401, and counts each', async () => {
    const body = events(order());
    const cases: Array<[Parameters<typeof post>[1], string]> = [
      [{ signature: '' }, 'refused_no_signature'],
      [{ signature: 't=abc,v1=zz' }, 'refused_no_signature'],
      [{ secrets: ['wrong'] }, 'refused_bad_signature'],
      [{ t: now() - 360 }, 'refused_stale_timestamp'],
      [{ t: now() + 360 }, 'refused_stale_timestamp'],
      [{ sender: 'nobody' }, 'refused_unknown_device'],
      [{ sender: 'pos-1' }, 'refused_no_credential'],
      [{ sender: '' }, 'refused_no_sender'],
    ];
    for (const [opts, counter] of cases) {
      const before = await rt.events('pos', counter);
      const res = await post(body, opts);
      expect(res.status, counter).toBe(401);
      expect(res.body.error).toBe('unauthorized');
      expect(await rt.events('pos', counter), counter).toBe(before + 1);
    }
    // a signature over other bytes: the body was changed in transit
    expect((await post(body, { signature: signatureHeader([SECRET], now(), body + ' ') })).status).toBe(401);
  });

  it('answers 413 to an oversized body and 400 to malformed JSON, unsigned garbage 401', async () => {
    const big = events(...Array.from({ length: 400 }, () => order()));
    expect(big.length).toBeGreaterThan(64 * 1024);
    const tooBig = await post(big);
    expect(tooBig.status).toBe(413);
    expect(tooBig.body.error).toBe('body_too_large');
    expect(await rt.events('pos', 'body_too_large')).toBe(1);

    const garbage = '{"events": [';
    expect(await post(garbage)).toMatchObject({ status: 400, body: { error: 'malformed_body', field: 'body' } });
    expect((await post(garbage, { secrets: ['wrong'] })).status).toBe(401);
    expect(await rt.events('pos', 'malformed_body')).toBe(1);
    const text = await fetch(`${rt.url}/ingest/pos`, {
      method: 'POST',
      body: 'hi',
      headers: { 'content-type': 'text/plain' },
    });
    expect(text.status).toBe(415);
  });

  it('names the bad top-level field: no list, empty list, more than max_events', async () => {
    expect((await post('{"evts":[]}')).body).toMatchObject({ error: 'malformed_body', field: 'events' });
    expect((await post('[]')).body).toMatchObject({ error: 'malformed_body', field: 'body' });
    expect((await post(events())).body).toMatchObject({ field: 'events' });
    const tooMany = await post(JSON.stringify({ events: Array.from({ length: 501 }, () => ({})) }));
    expect(tooMany).toMatchObject({ status: 400, body: { field: 'events' } });
    expect(tooMany.body.message).toMatch(/501 events; at most 500/);
  });

  it('writes the valid events of a partly invalid batch and reports the invalid ones by index', async () => {
    const before = rt.lines('pos_order').length;
    const res = await post(
      events(order(), order({ total: 'x' }), order(), order({ currency: 'euro' }), order({ device: 'pos-other' })),
    );
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ error: 'invalid_events', index: 1, field: 'events[1].total', accepted: 2 });
    expect(res.body.rejected.map((r: { index: number; field: string }) => `${r.index}:${r.field}`)).toEqual([
      '1:events[1].total',
      '3:events[3].currency',
      '4:events[4].device',
    ]);
    expect(rt.lines('pos_order').length).toBe(before + 2);
    expect(await rt.events('pos', 'events_invalid')).toBe(3);
  });

  it('takes events only for its own POS devices: others are refused by index, counted, and not marked seen', async () => {
    const before = {
      orders: rt.lines('pos_order').length,
      invalid: await rt.events('pos', 'events_invalid'),
      notOwned: await rt.events('pos', 'events_not_owned'),
    };
    const heartbeat = {
      type: 'heartbeat',
      store: 'store-9',
      time: Date.now(),
      app_version: '4.2.1',
      printer: 'ok',
      network: 'wifi',
    };
    const res = await post(
      events(
        order(), // 0: pos-1, behind bo-1
        order({ device: 'bo-2' }), // 1: another back office (no gateway)
        { ...heartbeat, id: `hb-${++seq}`, device: 'bo-2' }, // 2: would mark bo-2 seen
        order({ device: 'pos-other' }), // 3: behind bo-2
        order({ device: 'bo-1' }), // 4: the sender itself
        order({ device: 'plug-9' }), // 5: behind bo-1, but not a POS device
        order({ device: 'pos-unlisted' }), // 6: unknown: taken, pending behind bo-1
      ),
    );
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ error: 'invalid_events', index: 1, field: 'events[1].device', accepted: 2 });
    expect(res.body.rejected).toEqual([
      {
        index: 1,
        field: 'events[1].device',
        error: 'events[1].device: is not a POS device of this back office (it has no gateway in the inventory)',
      },
      {
        index: 2,
        field: 'events[2].device',
        error: 'events[2].device: is not a POS device of this back office (it has no gateway in the inventory)',
      },
      { index: 3, field: 'events[3].device', error: 'events[3].device: belongs to another back office' },
      {
        index: 4,
        field: 'events[4].device',
        error: 'events[4].device: is the back office itself; report the events of its POS devices',
      },
      { index: 5, field: 'events[5].device', error: 'events[5].device: is not a POS device' },
    ]);
    const orders = rt.lines('pos_order').slice(before.orders);
    expect(orders.map((l) => /device=([^,]+)/.exec(l)![1])).toEqual(['pos-1', 'pos-unlisted']);
    expect(rt.collector.liveness.state('bo-2')?.lastSeen).toBeUndefined();
    expect(rt.lines('pos_health').some((l) => l.includes('device=bo-2,'))).toBe(false);
    expect(await rt.events('pos', 'events_not_owned')).toBe(before.notOwned + 5);
    expect(await rt.events('pos', 'events_invalid')).toBe(before.invalid + 5);
    await expect.poll(() => directory.lookup('pos-unlisted')).toMatchObject({ lifecycle: 'pending', gateway: 'bo-1' });
  });

  it('registers an unknown POS device as pending behind the back office that reported it', async () => {
    await post(
      events(order({ device: 'pos-new' }), {
        id: `hb-${++seq}`,
        type: 'heartbeat',
        device: 'pos-new-2',
        store: 'store-9',
        time: Date.now(),
        app_version: '1.0',
        printer: 'paper_out',
        network: 'ethernet',
      }),
    );
    await expect
      .poll(() => directory.lookup('pos-new'))
      .toMatchObject({ kind: 'pos', lifecycle: 'pending', gateway: 'bo-1' });
    await expect
      .poll(() => directory.lookup('pos-new-2'))
      .toMatchObject({ lifecycle: 'pending', gateway: 'bo-1', firmware: '1.0' });
  });

  it('the simulator signs like a back office: its stores land orders and heartbeats', async () => {
    const stop = new AbortController();
    const counts = new Map<string, number>();
    const run = simulator.run({
      server: rt.url,
      count: 2,
      signal: stop.signal,
      options: {
        secret: 'sim-secret',
        devices_per_store: '2',
        flush_s: '0.2',
        orders_per_hour: '36000',
        outage_pct: '0',
      },
      progress: { update() {}, count: (e, by = 1) => void counts.set(e, (counts.get(e) ?? 0) + by) },
    });
    await expect
      .poll(() => rt.lines('pos_health').filter((l) => l.includes('store-0001-pos-')).length, { timeout: 10_000 })
      .toBeGreaterThanOrEqual(2);
    await expect
      .poll(() => rt.lines('pos_order').filter((l) => l.includes('store=store-0001')).length, { timeout: 10_000 })
      .toBeGreaterThan(0);
    stop.abort();
    await run;
    expect(counts.get('http_401')).toBeUndefined();
    expect(counts.get('events_sent')).toBeGreaterThan(0);
  });
});
