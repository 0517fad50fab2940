import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryDirectory } from '../../collector/sdk/index.ts';
import { boot16, boot201, eventually, rawCall, startRig, token, type Rig } from './testing.ts';

/**
 * Charging sessions end to end: real ocpp-rpc chargers of both versions against the real runtime.
 * The spool commits every 250 ms, so a point read from it right after an answer proves the answer
 * waited for durability. Tariff: 0.30 per kWh, 1.20 per hour, 0.50 per session, 20 % tax.
 */
const directory = new MemoryDirectory()
  .add({ id: 'CP16', kind: 'charger', customer: 'acme', site: 'acme-hq' }, { type: 'ocpp_password', value: 'pw-16' })
  .add(
    { id: 'CP201', kind: 'charger', customer: 'acme', site: 'acme-depot' },
    { type: 'ocpp_password', value: 'pw-201' },
  )
  .add(
    { id: 'CP-OTHER', kind: 'charger', customer: 'globex', site: 'globex-1' },
    { type: 'ocpp_password', value: 'pw-o' },
  );
let rig: Rig;

beforeAll(async () => {
  rig = await startRig(
    directory,
    {
      heartbeat_interval_s: 120,
      tariff: { currency: 'EUR', energy_per_kwh: 0.3, time_per_hour: 1.2, session_fee: 0.5, tax_pct: 20 },
    },
    250,
    { commands: true },
  );
  const put = (id: string, body: object) =>
    fetch(`${rig.url}/api/v1/id-tags/${id}`, {
      method: 'PUT',
      headers: { authorization: token('admin'), 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  expect((await put('TAG-OK', { status: 'accepted', customer: 'acme' })).status).toBe(200);
  expect((await put('TAG-FLEET', { status: 'accepted' })).status).toBe(200);
  expect((await put('TAG-BLOCKED', { status: 'blocked' })).status).toBe(200);
  expect((await put('TAG-OLD', { status: 'accepted', expires_at: '2020-01-01T00:00:00Z' })).status).toBe(200);
});
afterAll(() => rig?.stop());

const sessionsApi = async (query = '', role: 'viewer' | 'admin' = 'viewer') => {
  const res = await fetch(`${rig.url}/api/v1/charging-sessions${query}`, { headers: { authorization: token(role) } });
  return {
    status: res.status,
    body: (await res.json()) as {
      items: Array<Record<string, any>>;
      next_cursor: string | null;
      sessions: Array<Record<string, any>>;
      next: number | null;
    },
  };
};

describe('OCPP 1.6 sessions', () => {
  it('answers BootNotification Accepted with the heartbeat interval and records the charger', async () => {
    const cp = await rig.charger('CP16', 'ocpp1.6', { password: 'pw-16' });
    const answer = (await cp.call('BootNotification', boot16)) as { status: string; interval: number };
    expect(answer).toMatchObject({ status: 'Accepted', interval: 120 });
    expect(directory.lookup('CP16')).toMatchObject({ model: 'Fleetpulse SIM-22', firmware: '1.2.3' });
    expect(
      await eventually(() =>
        rig.lines('ocpp_boot').some((l) => l.includes('registration="Accepted"') && l.includes('serial="SN-1"')),
      ),
    ).toBe(true);
  });

  it("authorizes id tags: accepted, blocked, expired, unknown, and another customer's", async () => {
    const cp = await rig.charger('CP16', 'ocpp1.6', { password: 'pw-16' });
    const status = async (idTag: string) =>
      ((await cp.call('Authorize', { idTag })) as { idTagInfo: { status: string } }).idTagInfo.status;
    expect(await status('TAG-OK')).toBe('Accepted');
    expect(await status('tag-fleet')).toBe('Accepted'); // case-insensitive
    expect(await status('TAG-BLOCKED')).toBe('Blocked');
    expect(await status('TAG-OLD')).toBe('Expired');
    expect(await status('NOPE')).toBe('Invalid');
    const other = await rig.charger('CP-OTHER', 'ocpp1.6', { password: 'pw-o' });
    expect(
      ((await other.call('Authorize', { idTag: 'TAG-OK' })) as { idTagInfo: { status: string } }).idTagInfo.status,
    ).toBe('Invalid');
  });

  it('a resent StartTransaction / StopTransaction gets the same answer and creates no second session', async () => {
    const cp = await rig.charger('CP16', 'ocpp1.6', { password: 'pw-16' });
    const start = { connectorId: 1, idTag: 'TAG-OK', meterStart: 1_000_000, timestamp: '2024-05-01T10:00:00.000Z' };
    const first = await rawCall(cp, 'start-1', 'StartTransaction', start);
    const resent = await rawCall(cp, 'start-1', 'StartTransaction', start);
    expect(first[0]).toBe(3);
    expect(resent).toEqual(first);
    const { transactionId, idTagInfo } = first[2] as { transactionId: number; idTagInfo: { status: string } };
    expect(idTagInfo.status).toBe('Accepted');

    await cp.call('MeterValues', {
      connectorId: 1,
      transactionId,
      meterValue: [
        {
          timestamp: '2024-05-01T10:30:00.000Z',
          sampledValue: [
            { value: '1005.5', unit: 'kWh' },
            { value: '7.2', measurand: 'Power.Active.Import', unit: 'kW' },
          ],
        },
      ],
    });
    const stop = {
      transactionId,
      meterStop: 1_012_000,
      timestamp: '2024-05-01T11:00:00.000Z',
      reason: 'EVDisconnected',
      idTag: 'TAG-OK',
    };
    const stopped = await rawCall(cp, 'stop-1', 'StopTransaction', stop);
    // Answered only once durable: the row and the summary point are there when the answer is.
    const row = rig.db
      .prepare('SELECT * FROM ocpp_sessions WHERE charger = ? AND transaction_id = ?')
      .get('CP16', String(transactionId)) as Record<string, any>;
    expect(row).toMatchObject({
      state: 'ended',
      energy_wh: 12_000,
      duration_s: 3600,
      stop_reason: 'EVDisconnected',
      complete: 1,
    });
    // 12 kWh × 0.30 + 1 h × 1.20 + 0.50 = 5.30 net, + 20 % = 6.36, by the single tariff of the config.
    expect(row).toMatchObject({
      cost_net: 5.3,
      cost: 6.36,
      currency: 'EUR',
      tariff: 'tariff',
      site: 'acme-hq',
      customer: 'acme',
    });
    const summaries = rig.lines('ocpp_session').filter((l) => l.includes(`transaction_id="${transactionId}"`));
    expect(summaries.length).toBeGreaterThan(0);
    expect(summaries[0]).toContain('energy_wh=12000');
    expect(summaries[0]).toContain(',tariff=tariff');
    expect(summaries[0]).toMatch(/ 1714561200000$/); // at the stop time

    const again = await rawCall(cp, 'stop-1', 'StopTransaction', stop);
    expect(again).toEqual(stopped);
    const count = rig.db.prepare('SELECT COUNT(*) FROM ocpp_sessions WHERE charger = ?').pluck().get('CP16');
    expect(count).toBe(1);
    expect(await rig.events('resend_answered')).toBeGreaterThanOrEqual(2);
    // Meter values normalised to base units, at their own time.
    const reading = rig
      .lines('ocpp_meter')
      .find((l) => l.includes(`transaction_id="${transactionId}"`) && l.endsWith(' 1714559400000'))!;
    expect(Number(/energy_active_import_wh=([^,]+)/.exec(reading)?.[1])).toBe(1_005_500);
    expect(Number(/power_active_import_w=([^,]+)/.exec(reading)?.[1])).toBe(7200);
  });

  it('a lost StopTransaction reply, resent with a later reading: the later reading wins, logged and audited', async () => {
    const cp = await rig.charger('CP16', 'ocpp1.6', { password: 'pw-16' });
    const start = { connectorId: 2, idTag: 'TAG-OK', meterStart: 0, timestamp: '2024-05-03T10:00:00.000Z' };
    const { transactionId } = (await cp.call('StartTransaction', start)) as { transactionId: number };
    const first = { transactionId, meterStop: 221, timestamp: '2024-05-03T10:10:00.000Z', reason: 'Local' };
    const answered = await rawCall(cp, 'stop-lost', 'StopTransaction', first);
    // The reply was lost; the charger resends with its real final reading.
    const real = { ...first, meterStop: 1118, timestamp: '2024-05-03T10:40:00.000Z' };
    expect((await rawCall(cp, 'stop-real', 'StopTransaction', real))[2]).toEqual(answered[2]);
    const row = () =>
      rig.db.prepare('SELECT * FROM ocpp_sessions WHERE transaction_id = ?').get(String(transactionId)) as Record<
        string,
        any
      >;
    // 1.118 kWh × 0.30 + 40 min × 1.20/h + 0.50 = 1.6354 → 1.64 net, + 20 % = 1.96
    expect(row()).toMatchObject({ energy_wh: 1118, duration_s: 2400, cost_net: 1.64, cost: 1.96, complete: 1 });
    expect(await rig.events('stop_conflict')).toBe(1);
    const audit = rig.db.prepare("SELECT * FROM audit WHERE action = 'ocpp.stop_conflict'").all() as Array<
      Record<string, any>
    >;
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({ actor_name: 'CP16', target: String(row().id), method: 'StopTransaction' });
    expect(JSON.parse(audit[0].details)).toMatchObject({ received: { meter_stop_wh: 1118 }, replaced: true });
    // The summary point stays where it was first written, and is overwritten with the real energy.
    const summaries = rig.lines('ocpp_session').filter((l) => l.includes(`transaction_id="${transactionId}"`));
    expect(summaries.every((l) => l.endsWith(` ${Date.parse(first.timestamp)}`))).toBe(true);
    expect(summaries.at(-1)).toContain('energy_wh=1118');

    // The same resend again: answered from the cache, no conflict. The first again: a conflict, no change.
    const resends = await rig.events('resend_answered');
    expect((await rawCall(cp, 'stop-real-2', 'StopTransaction', real))[2]).toEqual(answered[2]);
    expect(await rig.events('resend_answered')).toBe(resends + 1);
    expect(await rig.events('stop_conflict')).toBe(1);
    await rawCall(cp, 'stop-lost-2', 'StopTransaction', first);
    expect(await rig.events('stop_conflict')).toBe(2);
    expect(row()).toMatchObject({ energy_wh: 1118, cost: 1.96 });
  });

  it('meter values after a session ended are stored but not attributed to it', async () => {
    const cp = await rig.charger('CP16', 'ocpp1.6', { password: 'pw-16' });
    const start = { connectorId: 3, idTag: 'TAG-OK', meterStart: 100, timestamp: '2024-05-04T10:00:00.000Z' };
    const { transactionId } = (await cp.call('StartTransaction', start)) as { transactionId: number };
    await cp.call('StopTransaction', { transactionId, meterStop: 600, timestamp: '2024-05-04T11:00:00.000Z' });
    await cp.call('MeterValues', {
      connectorId: 3,
      transactionId,
      meterValue: [
        { timestamp: '2024-05-04T10:30:00.000Z', sampledValue: [{ value: '350' }] },
        { timestamp: '2024-05-04T11:30:00.000Z', sampledValue: [{ value: '900' }] },
      ],
    });
    const at = (iso: string) => rig.lines('ocpp_meter').find((l) => l.endsWith(` ${Date.parse(iso)}`))!;
    expect(at('2024-05-04T10:30:00.000Z')).toContain(`transaction_id="${transactionId}"`);
    expect(at('2024-05-04T11:30:00.000Z')).toMatch(/device=CP16,.*energy_active_import_wh=900 \d+$/);
    expect(at('2024-05-04T11:30:00.000Z')).not.toContain('transaction_id');
    const row = rig.db.prepare('SELECT * FROM ocpp_sessions WHERE transaction_id = ?').get(String(transactionId));
    expect(row).toMatchObject({ energy_wh: 500, meter_stop_wh: 600 });
  });

  it('a StopTransaction for a transaction never started is recorded as an incomplete session', async () => {
    const cp = await rig.charger('CP16', 'ocpp1.6', { password: 'pw-16' });
    await cp.call('StopTransaction', { transactionId: 999_999, meterStop: 5, timestamp: '2024-05-02T08:00:00Z' });
    const row = rig.db.prepare('SELECT * FROM ocpp_sessions WHERE transaction_id = ?').get('999999') as Record<
      string,
      any
    >;
    expect(row).toMatchObject({ state: 'ended', complete: 0, start_time: null, cost: null });
  });
});

describe('OCPP 2.0.1 sessions', () => {
  const event = (eventType: string, seqNo: number, timestamp: string, wh: number, extra: object = {}) => ({
    eventType,
    timestamp,
    triggerReason:
      eventType === 'Started' ? 'Authorized' : eventType === 'Ended' ? 'EVCommunicationLost' : 'MeterValuePeriodic',
    seqNo,
    transactionInfo: {
      transactionId: extra && 'tx' in extra ? (extra as { tx: string }).tx : 'TX-A',
      ...(eventType === 'Ended' ? { stoppedReason: 'EVDisconnected' } : {}),
    },
    evse: { id: 1, connectorId: 1 },
    meterValue: [
      {
        timestamp,
        sampledValue: [{ value: wh, measurand: 'Energy.Active.Import.Register', unitOfMeasure: { unit: 'Wh' } }],
      },
    ],
    ...(eventType === 'Started' ? { idToken: { idToken: 'TAG-OK', type: 'ISO14443' } } : {}),
  });
  const strip = ({ tx: _tx, ...e }: Record<string, unknown>) => e;

  it('places an offline backlog delivered out of order by its own timestamps', async () => {
    const cp = await rig.charger('CP201', 'ocpp2.0.1', { password: 'pw-201' });
    expect(await cp.call('BootNotification', boot201)).toMatchObject({ status: 'Accepted' });
    // The Ended event arrives first, then the middle, then the start.
    const ended = await cp.call('TransactionEvent', event('Ended', 2, '2024-06-01T09:30:00Z', 30_000));
    await cp.call('TransactionEvent', event('Updated', 1, '2024-06-01T09:10:00Z', 22_000));
    const started = await cp.call('TransactionEvent', event('Started', 0, '2024-06-01T09:00:00Z', 20_000));
    expect(started).toMatchObject({ idTokenInfo: { status: 'Accepted' } });
    expect(ended).toHaveProperty('totalCost');
    const { body } = await sessionsApi('?charger=CP201');
    expect(body.items).toHaveLength(1);
    expect(body.items[0]).toMatchObject({
      transaction_id: 'TX-A',
      start_time: '2024-06-01T09:00:00.000Z',
      stop_time: '2024-06-01T09:30:00.000Z',
      meter_start_wh: 20_000,
      meter_stop_wh: 30_000,
      energy_wh: 10_000,
      duration_s: 1800,
      complete: true,
      id_tag: 'TAG-OK',
      // 10 kWh × 0.30 + 0.5 h × 1.20 + 0.50 = 4.10, + 20 % = 4.92
      cost: 4.92,
      state: 'ended',
      site: 'acme-depot',
      customer: 'acme',
    });
    // The summary was re-emitted as late events corrected it; the last one is the complete session.
    const summaries = rig.lines('ocpp_session').filter((l) => l.includes('transaction_id="TX-A"'));
    expect(summaries.at(-1)).toContain('complete=true');
    expect(summaries.every((l) => l.endsWith(' 1717234200000'))).toBe(true);
  });

  it('a resent TransactionEvent gets the same answer; a seqNo gap marks the session incomplete', async () => {
    const cp = await rig.charger('CP201', 'ocpp2.0.1', { password: 'pw-201' });
    await cp.call('TransactionEvent', strip(event('Started', 0, '2024-06-02T09:00:00Z', 0, { tx: 'TX-B' })));
    const endB = strip(event('Ended', 2, '2024-06-02T10:00:00Z', 5_000, { tx: 'TX-B' }));
    const first = await rawCall(cp, 'end-b', 'TransactionEvent', endB);
    const resent = await rawCall(cp, 'end-b', 'TransactionEvent', endB);
    expect(resent).toEqual(first);
    const rows = rig.db.prepare('SELECT * FROM ocpp_sessions WHERE transaction_id = ?').all('TX-B') as Array<
      Record<string, any>
    >;
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ complete: 0, energy_wh: 5000, state: 'ended' });
    expect(
      rig.lines('ocpp_session').some((l) => l.includes('transaction_id="TX-B"') && l.includes('complete=false')),
    ).toBe(true);
  });
});

describe('OCPP 2.0.1 remote start', () => {
  it('a remote-started session records the id tag we sent, matched by remoteStartId', async () => {
    const cp = await rig.charger('CP201', 'ocpp2.0.1', { password: 'pw-201' });
    let started: Promise<unknown> | undefined;
    cp.handle('RequestStartTransaction', async ({ params }) => {
      const { remoteStartId } = params as { remoteStartId: number };
      // The Started event names no idToken (the charger did not authorize locally), only the id.
      started = cp.call('TransactionEvent', {
        eventType: 'Started',
        timestamp: '2024-06-03T09:00:00.000Z',
        triggerReason: 'RemoteStart',
        seqNo: 0,
        transactionInfo: { transactionId: 'TX-REMOTE', remoteStartId },
        evse: { id: 1, connectorId: 1 },
      });
      return { status: 'Accepted' };
    });
    const outcome = await rig.command('CP201', 'remote_start', { id_tag: 'TAG-OK', connector: 1 });
    expect(outcome).toMatchObject({ status: 'succeeded' });
    expect(await eventually(() => started !== undefined)).toBe(true);
    await started;
    const row = rig.db.prepare('SELECT * FROM ocpp_sessions WHERE transaction_id = ?').get('TX-REMOTE');
    expect(row).toMatchObject({ id_tag: 'TAG-OK', state: 'active' });
    await cp.close({ force: true });
  });
});

describe('the charging-sessions API', () => {
  it('filters by charger, site, customer and time, pages with a cursor, and needs a key', async () => {
    expect((await fetch(`${rig.url}/api/v1/charging-sessions`)).status).toBe(401);
    const all = await sessionsApi('');
    expect(all.status).toBe(200);
    expect(all.body.items.length).toBeGreaterThanOrEqual(4);
    expect((await sessionsApi('?customer=acme')).body.items.every((s) => s.customer === 'acme')).toBe(true);
    expect((await sessionsApi('?site=acme-depot')).body.items.map((s) => s.transaction_id).sort()).toEqual([
      'TX-A',
      'TX-B',
      'TX-REMOTE',
    ]);
    expect((await sessionsApi('?customer=globex')).body.items).toEqual([]);
    const june = await sessionsApi('?from=2024-06-01T00:00:00Z&to=2024-06-02T00:00:00Z');
    expect(june.body.items.map((s) => s.transaction_id)).toEqual(['TX-A']);
    // Every list is {items, next_cursor}, paged by `cursor` (docs/api.md).
    const page1 = await sessionsApi('?limit=2');
    expect(page1.body.next_cursor).toEqual(expect.any(String));
    const page2 = await sessionsApi(`?limit=2&cursor=${page1.body.next_cursor}`);
    const ids = [...page1.body.items, ...page2.body.items].map((s) => s.id);
    expect(ids).toHaveLength(4);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toEqual([...ids].sort((a, b) => b - a));
    // The old names, deprecated, for one release: `before` in, `sessions` and `next` out.
    expect(page1.body.sessions).toEqual(page1.body.items);
    expect(String(page1.body.next)).toBe(page1.body.next_cursor);
    expect((await sessionsApi(`?limit=2&before=${page1.body.next}`)).body.items).toEqual(page2.body.items);
    expect((await sessionsApi('?cursor=not-a-cursor')).status).toBe(400);
    const last = await sessionsApi(`?limit=500`);
    expect(last.body.next_cursor).toBeNull();
    expect((await sessionsApi('?limit=0')).status).toBe(400);
  });

  it('id tags are managed by admins only', async () => {
    const put = (role: 'viewer' | 'admin', body: object) =>
      fetch(`${rig.url}/api/v1/id-tags/NEW-TAG`, {
        method: 'PUT',
        headers: { authorization: token(role), 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    expect((await put('viewer', { status: 'accepted' })).status).toBe(403);
    expect((await put('admin', { status: 'sort of' })).status).toBe(400);
    expect((await put('admin', { status: 'accepted', bogus: 1 })).status).toBe(400);
    expect((await put('admin', { status: 'accepted' })).status).toBe(200);
    const list = async (query: string) => {
      const res = await fetch(`${rig.url}/api/v1/id-tags${query}`, { headers: { authorization: token('support') } });
      return (await res.json()) as {
        items: Array<{ id_tag: string }>;
        next_cursor: string | null;
        id_tags: Array<{ id_tag: string }>;
      };
    };
    const all = await list('?limit=100');
    expect(all.items.map((t) => t.id_tag)).toContain('NEW-TAG');
    expect(all.id_tags).toEqual(all.items); // deprecated name, one release
    expect(all.next_cursor).toBeNull();
    const first = await list('?limit=2');
    const rest = await list(`?limit=100&cursor=${encodeURIComponent(first.next_cursor!)}`);
    expect([...first.items, ...rest.items].map((t) => t.id_tag)).toEqual(all.items.map((t) => t.id_tag));
    expect((await list(`?limit=100&after=${encodeURIComponent(first.next_cursor!)}`)).items).toEqual(rest.items);
    const del = (id: string) =>
      fetch(`${rig.url}/api/v1/id-tags/${id}`, { method: 'DELETE', headers: { authorization: token('admin') } });
    expect((await del('NEW-TAG')).status).toBe(204);
    expect((await del('NEW-TAG')).status).toBe(404);
  });
});
