import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryDirectory } from '../../collector/sdk/index.ts';
import { boot16, boot201, eventually, rawCall, rawFrame, startRig, type Rig } from './testing.ts';

/**
 * Handshakes, bad input and liveness against the real runtime with real ocpp-rpc chargers.
 * Heartbeat interval 1 s and pings every 0.4 s so that liveness shows within seconds.
 */
const directory = new MemoryDirectory()
  .add({ id: 'CP-A', kind: 'charger' }, { type: 'ocpp_password', value: 'secret-a' })
  .add({ id: 'CP-B', kind: 'charger' }, { type: 'ocpp_password', value: 'secret-b' })
  .add({ id: 'CP-NOPW', kind: 'charger' })
  .add({ id: 'CP-RETIRED', kind: 'charger', lifecycle: 'retired' }, { type: 'ocpp_password', value: 'x' });
let rig: Rig;

beforeAll(async () => {
  rig = await startRig(directory, {
    heartbeat_interval_s: 1,
    ping_interval_s: 0.4,
    ping_jitter: 0.1,
    max_bad_messages: 5,
  });
});
afterAll(() => rig?.stop());

/** The HTTP status a raw WebSocket handshake gets. */
function handshake(path: string, protocols: string[], headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`${rig.ws}${path}`, protocols, { headers });
    ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
    ws.on('open', () => {
      resolve(101);
      ws.close();
    });
    ws.on('error', () => {});
  });
}
const basic = (user: string, pw: string) => ({
  authorization: `Basic ${Buffer.from(`${user}:${pw}`).toString('base64')}`,
});

describe('handshake', () => {
  it('refuses a client offering neither ocpp1.6 nor ocpp2.0.1 before the upgrade, and counts it', async () => {
    expect(await handshake('/CP-A', [], basic('CP-A', 'secret-a'))).toBe(400);
    expect(await handshake('/CP-A', ['ocpp2.1', 'ocpp1.5'], basic('CP-A', 'secret-a'))).toBe(400);
    expect(await rig.events('handshake_refused_no_subprotocol')).toBe(2);
    expect(await handshake('/CP-A', ['ocpp1.6'], basic('CP-A', 'secret-a'))).toBe(101);
  });

  it('checks the Basic Auth password of each charger', async () => {
    expect(await handshake('/CP-A', ['ocpp1.6'], basic('CP-A', 'wrong'))).toBe(401);
    expect(await handshake('/CP-A', ['ocpp1.6'])).toBe(401);
    expect(await handshake('/CP-A', ['ocpp1.6'], basic('CP-A', 'secret-b'))).toBe(401);
    expect(await handshake('/CP-RETIRED', ['ocpp1.6'], basic('CP-RETIRED', 'x'))).toBe(401);
    // A charger without a password on file is refused while password_required is true (default).
    expect(await handshake('/CP-NOPW', ['ocpp1.6'])).toBe(401);
    expect(await rig.events('handshake_refused_bad_password')).toBe(2);
    expect(await rig.events('handshake_refused_no_password')).toBe(1);
    expect(await rig.events('handshake_refused_no_credential')).toBe(1);
    expect(await handshake('/a/b/CP-A', ['ocpp1.6'], basic('CP-A', 'secret-a'))).toBe(404);
  });

  it('negotiates the newest version both sides speak', async () => {
    const cp = await rig.charger('CP-A', 'ocpp1.6', { password: 'secret-a', protocols: ['ocpp1.6', 'ocpp2.0.1'] });
    expect(cp.protocol).toBe('ocpp2.0.1');
    await cp.close();
  });

  it('lets an unknown charger connect as pending: BootNotification Pending, other messages refused until approved', async () => {
    const cp = await rig.charger('CP-NEW', 'ocpp2.0.1');
    const answer = (await cp.call('BootNotification', boot201)) as { status: string; interval: number };
    expect(answer).toMatchObject({ status: 'Pending', interval: 60 });
    expect(directory.lookup('CP-NEW')?.lifecycle).toBe('pending');
    await expect(
      cp.call('StatusNotification', {
        timestamp: new Date().toISOString(),
        connectorStatus: 'Available',
        evseId: 1,
        connectorId: 1,
      }),
    ).rejects.toMatchObject({ rpcErrorCode: 'SecurityError' });
    // An operator approves it: the next BootNotification is Accepted.
    directory.add({ id: 'CP-NEW', kind: 'charger' });
    expect(await cp.call('BootNotification', boot201)).toMatchObject({ status: 'Accepted', interval: 1 });
    await cp.close();
  });

  it('a second connection of the same charger replaces the first cleanly', async () => {
    const first = await rig.charger('CP-B', 'ocpp1.6', { password: 'secret-b' });
    const closed = new Promise<{ code: number }>((resolve) => first.once('close', resolve));
    const second = await rig.charger('CP-B', 'ocpp1.6', { password: 'secret-b' });
    expect((await closed).code).toBe(4000);
    expect(await second.call('Heartbeat', {})).toHaveProperty('currentTime');
    second.handle('ClearCache', async () => ({ status: 'Accepted' }));
    const outcome = await rig.collector.bus.dispatch('CP-B', { name: 'clear_cache', timeout_s: 5 });
    expect(outcome.status).toBe('succeeded');
    expect(await rig.events('connection_replaced')).toBe(1);
    expect(directory.statuses.get('CP-B')?.state).not.toBe('offline');
    await second.close();
  });
});

describe('bad input', () => {
  it("answers malformed frames with the code of the charger's version, counts them, and keeps serving", async () => {
    const v16 = await rig.charger('CP-A', 'ocpp1.6', { password: 'secret-a' });
    const bad16 = await rawFrame(v16, '[2, "m1", "Heartbeat"', '-1');
    expect(bad16.slice(0, 3)).toEqual([4, '-1', 'FormationViolation']);
    const v201 = await rig.charger('CP-B', 'ocpp2.0.1', { password: 'secret-b' });
    const bad201 = await rawFrame(v201, 'not json at all', '-1');
    expect(bad201.slice(0, 3)).toEqual([4, '-1', 'RpcFrameworkError']);
    const badType = await rawFrame(v201, '[7, "m2", "Heartbeat", {}]', '-1');
    expect(badType[2]).toBe('MessageTypeNotSupported');
    expect(await rig.events('malformed_frame')).toBe(3);
    expect(await v16.call('Heartbeat', {})).toHaveProperty('currentTime');
    expect(await v201.call('Heartbeat', {})).toHaveProperty('currentTime');
  });

  it("answers schema violations with the version's code and counts them; the connection keeps working", async () => {
    const v16 = await rig.charger('CP-A', 'ocpp1.6', { password: 'secret-a' });
    const missing = await rawCall(v16, 's1', 'BootNotification', { chargePointVendor: 'X' });
    expect(missing[2]).toBe('OccurrenceConstraintViolation'); // 1.6 errata spelling
    const wrongType = await rawCall(v16, 's2', 'StatusNotification', {
      connectorId: 'one',
      errorCode: 'NoError',
      status: 'Available',
    });
    expect(wrongType[2]).toBe('TypeConstraintViolation');
    const tooLong = await rawCall(v16, 's3', 'Authorize', { idTag: 'X'.repeat(21) });
    expect(tooLong[2]).toBe('FormationViolation');
    const v201 = await rig.charger('CP-B', 'ocpp2.0.1', { password: 'secret-b' });
    const extra = await rawCall(v201, 's4', 'Heartbeat', { surprise: true });
    expect(extra[2]).toBe('PropertyConstraintViolation');
    const missing201 = await rawCall(v201, 's5', 'BootNotification', { reason: 'PowerUp' });
    expect(missing201[2]).toBe('OccurenceConstraintViolation'); // 2.0.1 spelling
    expect(await rig.events('schema_violation')).toBe(5);
    expect(await v16.call('BootNotification', boot16)).toMatchObject({ status: 'Accepted' });
    expect(await v201.call('Heartbeat', {})).toHaveProperty('currentTime');
  });

  it('answers an unknown action NotImplemented and counts it', async () => {
    const v16 = await rig.charger('CP-A', 'ocpp1.6', { password: 'secret-a' });
    const answer = await rawCall(v16, 'u1', 'BrewCoffee', {});
    expect(answer.slice(0, 3)).toEqual([4, 'u1', 'NotImplemented']);
    expect(await rig.events('unknown_action')).toBe(1);
    expect(await v16.call('Heartbeat', {})).toHaveProperty('currentTime');
  });

  it("closes a connection only after max_bad_messages in a row, never another charger's", async () => {
    const noisy = await rig.charger('CP-A', 'ocpp1.6', { password: 'secret-a' });
    const quiet = await rig.charger('CP-B', 'ocpp2.0.1', { password: 'secret-b' });
    const closed = new Promise<{ code: number }>((resolve) => noisy.once('close', resolve));
    for (let i = 0; i < 6; i++) noisy.sendRaw('garbage');
    expect((await closed).code).toBe(1002);
    expect(await quiet.call('Heartbeat', {})).toHaveProperty('currentTime');
  });
});

describe('liveness', () => {
  it('a Faulted connector puts the charger in state error and records the fault; recovery clears it', async () => {
    const cp = await rig.charger('CP-A', 'ocpp1.6', { password: 'secret-a' });
    const at = '2024-07-01T12:00:00.000Z';
    await cp.call('StatusNotification', {
      connectorId: 2,
      errorCode: 'GroundFailure',
      status: 'Faulted',
      vendorErrorCode: 'E17',
      timestamp: at,
    });
    expect(await eventually(() => directory.statuses.get('CP-A')?.state === 'error')).toBe(true);
    expect(
      await eventually(() =>
        rig
          .lines('ocpp_error')
          .some(
            (l) => l.includes('code="GroundFailure"') && l.includes('connector=2') && l.endsWith(` ${Date.parse(at)}`),
          ),
      ),
    ).toBe(true);
    await cp.call('StatusNotification', { connectorId: 2, errorCode: 'NoError', status: 'Available', timestamp: at });
    expect(await eventually(() => directory.statuses.get('CP-A')?.state === 'online')).toBe(true);
  });

  it('marks a charger offline after two heartbeat intervals of silence', async () => {
    const cp = await rig.charger('CP-A', 'ocpp1.6', { password: 'secret-a' });
    await cp.call('Heartbeat', {});
    expect(directory.statuses.get('CP-A')?.state).toBe('online');
    // The socket stays open and answers pings; only the messages stop.
    expect(await eventually(() => directory.statuses.get('CP-A')?.state === 'offline')).toBe(true);
    expect(await cp.call('Heartbeat', {})).toHaveProperty('currentTime');
    expect(await eventually(() => directory.statuses.get('CP-A')?.state === 'online')).toBe(true);
  });

  it('closes a connection whose pongs are lost and marks the charger offline', async () => {
    const cp = await rig.charger('CP-B', 'ocpp1.6', { password: 'secret-b' });
    await cp.call('Heartbeat', {});
    expect(rig.collector.bus.isAttached('CP-B')).toBe(true);
    // Stop reading the socket: pings go unanswered, as behind a dead NAT mapping. The server
    // closes its side at the next ping (the charger, not reading, never notices).
    (cp as unknown as { _ws: { _socket: { pause(): void } } })._ws._socket.pause();
    expect(await eventually(() => !rig.collector.bus.isAttached('CP-B'))).toBe(true);
    expect(await eventually(() => directory.statuses.get('CP-B')?.state === 'offline')).toBe(true);
    await expect(rig.collector.bus.dispatch('CP-B', { name: 'clear_cache' })).rejects.toThrow(/not connected/);
  });
});
