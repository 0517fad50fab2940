import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryDirectory } from '../../collector/sdk/index.ts';
import { ChargerAuthority } from './simulated-auth.ts';
import { boot16, boot201, eventually, startRig, token, type Rig } from './testing.ts';

/**
 * Reservations end to end: made and cancelled through /api/v1/reservations, held by real strict
 * ocpp-rpc chargers of both versions, honoured in Authorize / StartTransaction / TransactionEvent,
 * and expired once their time has passed.
 */
const directory = new MemoryDirectory()
  .add({ id: 'RS16', kind: 'charger', customer: 'acme' }, { type: 'ocpp_password', value: 'p16' })
  .add({ id: 'RS201', kind: 'charger', customer: 'acme' }, { type: 'ocpp_password', value: 'p201' });
let rig: Rig;

const api = async (method: string, path: string, body?: object, role: 'operator' | 'viewer' = 'operator') => {
  const res = await fetch(`${rig.url}/api/v1${path}`, {
    method,
    headers: { authorization: token(role), ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  return { status: res.status, body: await res.json() };
};
const inMs = (ms: number) => new Date(Date.now() + ms).toISOString();

beforeAll(async () => {
  rig = await startRig(directory);
  for (const tag of ['RES-A', 'RES-B', 'TEAM-1', 'TEAM-2'])
    await fetch(`${rig.url}/api/v1/id-tags/${tag}`, {
      method: 'PUT',
      headers: { authorization: token('admin'), 'content-type': 'application/json' },
      body: JSON.stringify({ status: 'accepted', ...(tag.startsWith('TEAM') ? { parent_id_tag: 'TEAM' } : {}) }),
    });
});
afterAll(() => rig?.stop());

describe('reservations', () => {
  it('1.6: a reserved connector refuses other tags and takes the reserved one; operators only', async () => {
    const cp = await rig.charger('RS16', 'ocpp1.6', { password: 'p16' });
    const charger = new ChargerAuthority('ocpp1.6');
    charger.serve(cp);
    await cp.call('BootNotification', boot16);
    const reservation = { charger: 'RS16', connector: 1, id_tag: 'res-a', expires_at: inMs(3600_000) };

    expect((await api('POST', '/reservations', reservation, 'viewer')).status).toBe(403);
    const made = await api('POST', '/reservations', reservation);
    expect(made).toMatchObject({
      status: 201,
      body: { charger: 'RS16', connector: 1, id_tag: 'RES-A', state: 'active' },
    });
    expect(charger.reservations.get(made.body.id)).toMatchObject({ connector: 1, idTag: 'RES-A' });

    const start = (connectorId: number, idTag: string) =>
      cp.call('StartTransaction', {
        connectorId,
        idTag,
        meterStart: 0,
        timestamp: new Date().toISOString(),
      }) as Promise<any>;
    expect((await start(1, 'RES-B')).idTagInfo.status).toBe('Invalid');
    expect((await start(2, 'RES-B')).idTagInfo.status).toBe('Accepted'); // another connector is free
    expect((await start(1, 'RES-A')).idTagInfo.status).toBe('Accepted');
    expect((await api('GET', `/reservations?charger=RS16`, undefined, 'viewer')).body.items[0]).toMatchObject({
      id: made.body.id,
      state: 'used',
    });
    expect((await start(1, 'RES-B')).idTagInfo.status).toBe('Accepted'); // used up: the connector is free again

    // A whole-charger reservation for a group: Authorize refuses strangers, admits the group.
    const group = await api('POST', '/reservations', {
      charger: 'RS16',
      id_tag: 'TEAM-1',
      parent_id_tag: 'TEAM',
      expires_at: inMs(3600_000),
    });
    expect(group.body).toMatchObject({ connector: 0, state: 'active' });
    expect(((await cp.call('Authorize', { idTag: 'RES-B' })) as any).idTagInfo.status).toBe('Invalid');
    expect(((await cp.call('Authorize', { idTag: 'TEAM-2' })) as any).idTagInfo.status).toBe('Accepted');
    const cancelled = await api('DELETE', `/reservations/${group.body.id}`);
    expect(cancelled).toMatchObject({ status: 200, body: { state: 'cancelled' } });
    expect(charger.reservations.has(group.body.id)).toBe(false);
    expect(((await cp.call('Authorize', { idTag: 'RES-B' })) as any).idTagInfo.status).toBe('Accepted');
    expect((await api('DELETE', `/reservations/${group.body.id}`)).status).toBe(409);
    const audit = await fetch(`${rig.url}/api/v1/audit?action=reservations.create`, {
      headers: { authorization: token('admin') },
    });
    const results = (await audit.json()).items.map((e: any) => e.result);
    expect(results.sort()).toEqual(['denied', 'ok', 'ok']);
  });

  it('2.0.1: an EVSE reservation expires; the charger reports a removal; an occupied EVSE refuses', async () => {
    const cp = await rig.charger('RS201', 'ocpp2.0.1', { password: 'p201' });
    const charger = new ChargerAuthority('ocpp2.0.1');
    charger.serve(cp, (evse) => evse === 3);
    await cp.call('BootNotification', boot201);
    const started = (evse: number, idToken: string, transactionId: string) =>
      cp.call('TransactionEvent', {
        eventType: 'Started',
        timestamp: new Date().toISOString(),
        triggerReason: 'Authorized',
        seqNo: 0,
        transactionInfo: { transactionId },
        evse: { id: evse, connectorId: 1 },
        idToken: { idToken, type: 'ISO14443' },
      }) as Promise<any>;

    const short = await api('POST', '/reservations', {
      charger: 'RS201',
      connector: 1,
      id_tag: 'RES-A',
      expires_at: inMs(1000),
    });
    expect(short.body).toMatchObject({ state: 'active' });
    expect(charger.reservations.get(short.body.id)).toMatchObject({ connector: 1, idTag: 'RES-A' });
    expect((await started(1, 'RES-B', 'TX-1')).idTokenInfo.status).toBe('NotAtThisTime');
    const expired = await eventually(
      async () =>
        (await api('GET', `/reservations?state=expired`, undefined, 'viewer')).body.items.some(
          (r: any) => r.id === short.body.id,
        ),
      200,
    );
    expect(expired).toBe(true);
    expect((await started(1, 'RES-B', 'TX-2')).idTokenInfo.status).toBe('Accepted');

    const removed = await api('POST', '/reservations', {
      charger: 'RS201',
      connector: 2,
      id_tag: 'RES-A',
      expires_at: inMs(3600_000),
    });
    expect(
      await cp.call('ReservationStatusUpdate', { reservationId: removed.body.id, reservationUpdateStatus: 'Removed' }),
    ).toEqual({});
    expect(
      (await api('GET', `/reservations?charger=RS201&state=cancelled`, undefined, 'viewer')).body.items,
    ).toMatchObject([{ id: removed.body.id, reason: 'charger: Removed' }]);
    expect((await started(2, 'RES-B', 'TX-3')).idTokenInfo.status).toBe('Accepted');

    const occupied = await api('POST', '/reservations', {
      charger: 'RS201',
      connector: 3,
      id_tag: 'RES-A',
      expires_at: inMs(3600_000),
    });
    expect(occupied).toMatchObject({
      status: 409,
      body: { error: { code: 'FP_CONFLICT', message: expect.stringContaining('Occupied') } },
    });
    expect(
      (await api('GET', `/reservations?charger=RS201&state=rejected`, undefined, 'viewer')).body.items,
    ).toMatchObject([{ connector: 3, reason: 'Occupied' }]);
  });
});
