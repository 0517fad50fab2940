import type { RPCClient } from 'ocpp-rpc';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryDirectory } from '../../collector/sdk/index.ts';
import { boot16, boot201, eventually, startRig, token, type Rig } from './testing.ts';

/**
 * Every session ends, with a reason: real ocpp-rpc chargers of both versions against the real
 * runtime. The runtime's clock runs `offset` ahead of the real one, so the timeout and the
 * Available grace pass without waiting; the sweep runs every 0.2 s.
 */
const directory = new MemoryDirectory()
  .add({ id: 'END16', kind: 'charger' }, { type: 'ocpp_password', value: 'pw-16' })
  .add({ id: 'END201', kind: 'charger' }, { type: 'ocpp_password', value: 'pw-201' });
let rig: Rig;
let offset = 0;

beforeAll(async () => {
  rig = await startRig(directory, { session_sweep_s: 0.2, session_timeout_h: 1, available_grace_s: 60 }, 5, {
    clock: { now: () => Date.now() + offset },
  });
});
afterAll(() => rig?.stop());

type Row = Record<string, any>;
const session = (charger: string, tx: string | number) =>
  rig.db
    .prepare('SELECT * FROM ocpp_sessions WHERE charger = ? AND transaction_id = ?')
    .get(charger, String(tx)) as Row;
const endedAs = (charger: string, tx: string | number, reason: string) => async () =>
  session(charger, tx)?.stop_reason === reason;

/** Closes the charger's socket without a close handshake: the charger lost power. */
function kill(cp: RPCClient): void {
  (cp as unknown as { _ws: { _socket: { destroy(): void } } })._ws._socket.destroy();
}

const cp16 = async () => rig.charger('END16', 'ocpp1.6', { password: 'pw-16' });
async function start16(cp: RPCClient, connectorId: number, meterStart: number, timestamp: string): Promise<number> {
  const answer = (await cp.call('StartTransaction', { connectorId, idTag: 'ANY', meterStart, timestamp })) as {
    transactionId: number;
  };
  return answer.transactionId;
}
const reading = (timestamp: string, wh: number) => ({
  timestamp,
  sampledValue: [{ value: String(wh), measurand: 'Energy.Active.Import.Register', unit: 'Wh' }],
});

/** A 2.0.1 charger that answers GetTransactionStatus from `running` and records what it was asked. */
async function cp201(running: Record<string, { ongoingIndicator: boolean; messagesInQueue: boolean }>) {
  const cp = await rig.charger('END201', 'ocpp2.0.1', { password: 'pw-201' });
  const asked: string[] = [];
  cp.handle('GetTransactionStatus', async ({ params }) => {
    const tx = (params as { transactionId: string }).transactionId;
    asked.push(tx);
    return running[tx] ?? { ongoingIndicator: false, messagesInQueue: false };
  });
  return { cp, asked };
}
const started201 = (transactionId: string, evse: number, timestamp: string, wh: number) => ({
  eventType: 'Started',
  timestamp,
  triggerReason: 'CablePluggedIn',
  seqNo: 0,
  transactionInfo: { transactionId },
  evse: { id: evse, connectorId: 1 },
  meterValue: [{ timestamp, sampledValue: [{ value: wh, measurand: 'Energy.Active.Import.Register' }] }],
});

describe('sessions the charger never stops are closed, complete=false, with a reason', () => {
  it('1.6: a charger killed mid-transaction boots again: the old session closes with its last reading', async () => {
    const cp = await cp16();
    expect(await cp.call('BootNotification', boot16)).toMatchObject({ status: 'Accepted' });
    const tx = await start16(cp, 1, 1000, '2024-09-01T10:00:00.000Z');
    await cp.call('MeterValues', {
      connectorId: 1,
      transactionId: tx,
      meterValue: [reading('2024-09-01T10:20:00.000Z', 4500)],
    });
    kill(cp);
    const again = await cp16();
    expect(await again.call('BootNotification', boot16)).toMatchObject({ status: 'Accepted' });
    expect(session('END16', tx)).toMatchObject({
      state: 'ended',
      complete: 0,
      stop_reason: 'charger_rebooted',
      meter_stop_wh: 4500,
      energy_wh: 3500,
      stop_time: Date.parse('2024-09-01T10:20:00.000Z'),
      duration_s: 1200,
    });
    expect(
      await eventually(() =>
        rig
          .lines('ocpp_session')
          .some((l) => l.includes(`transaction_id="${tx}"`) && l.includes('stop_reason="charger_rebooted"')),
      ),
    ).toBe(true);
    expect(await rig.events('session_closed_charger_rebooted')).toBe(1);
    // The charger's own stop, queued across the reboot, arrives after all: it is the whole story.
    await again.call('StopTransaction', { transactionId: tx, meterStop: 5000, timestamp: '2024-09-01T10:25:00.000Z' });
    expect(session('END16', tx)).toMatchObject({ complete: 1, stop_reason: 'Local', energy_wh: 4000 });
  });

  it('2.0.1: after a boot the charger is asked first; a transaction it still runs stays open', async () => {
    const before = await cp201({});
    expect(await before.cp.call('BootNotification', boot201)).toMatchObject({ status: 'Accepted' });
    await before.cp.call('TransactionEvent', started201('TX-GONE', 1, '2024-09-02T08:00:00.000Z', 200));
    await before.cp.call('TransactionEvent', started201('TX-ON', 2, '2024-09-02T08:05:00.000Z', 700));
    kill(before.cp);

    const after = await cp201({ 'TX-ON': { ongoingIndicator: true, messagesInQueue: false } });
    expect(await after.cp.call('BootNotification', boot201)).toMatchObject({ status: 'Accepted' });
    expect(await eventually(endedAs('END201', 'TX-GONE', 'charger_rebooted'))).toBe(true);
    expect(await eventually(() => after.asked.includes('TX-ON'))).toBe(true);
    expect(after.asked).toContain('TX-GONE');
    expect(session('END201', 'TX-GONE')).toMatchObject({ complete: 0, meter_stop_wh: 200, state: 'ended' });
    expect(session('END201', 'TX-ON')).toMatchObject({ state: 'active', stop_reason: null });
    await after.cp.close({ force: true });
  });

  it('a new transaction on the same connector supersedes the active one there, and only there', async () => {
    const cp = await cp16();
    const old = await start16(cp, 2, 10_000, '2024-09-03T09:00:00.000Z');
    const elsewhere = await start16(cp, 3, 50_000, '2024-09-03T09:01:00.000Z');
    const fresh = await start16(cp, 2, 10_900, '2024-09-03T11:00:00.000Z');
    expect(session('END16', old)).toMatchObject({ state: 'ended', stop_reason: 'superseded', complete: 0 });
    expect(session('END16', fresh)).toMatchObject({ state: 'active' });
    expect(session('END16', elsewhere)).toMatchObject({ state: 'active' });
  });

  it('a connector Available past the grace closes its session; a connector that resumes does not', async () => {
    const cp = await cp16();
    const unplugged = await start16(cp, 4, 0, '2024-09-04T09:00:00.000Z');
    const resumed = await start16(cp, 5, 0, '2024-09-04T09:00:00.000Z');
    const status = (connectorId: number, s: string) =>
      cp.call('StatusNotification', { connectorId, errorCode: 'NoError', status: s });
    await status(4, 'Available');
    await status(5, 'Available');
    await status(5, 'Charging');
    offset += 61_000;
    expect(await eventually(endedAs('END16', unplugged, 'connector_available'))).toBe(true);
    expect(session('END16', unplugged)).toMatchObject({ complete: 0, stop_time: Date.parse('2024-09-04T09:00:00Z') });
    expect(session('END16', resumed)).toMatchObject({ state: 'active', available_since: null });
  });

  it('an operator closes a session by the API (audited); an ended one is a conflict', async () => {
    const cp = await cp16();
    const tx = await start16(cp, 7, 300, '2024-09-04T12:00:00.000Z');
    const id = session('END16', tx).id as number;
    const close = (role: 'viewer' | 'operator', which = id) =>
      fetch(`${rig.url}/api/v1/charging-sessions/${which}/close`, {
        method: 'POST',
        headers: { authorization: token(role) },
      });
    expect((await close('viewer')).status).toBe(403);
    expect(session('END16', tx).state).toBe('active');
    const closed = await close('operator');
    expect(closed.status).toBe(200);
    expect(await closed.json()).toMatchObject({
      id,
      state: 'ended',
      stop_reason: 'manual',
      complete: false,
      meter_stop_wh: 300,
    });
    expect((await close('operator')).status).toBe(409);
    expect((await close('operator', 999_999)).status).toBe(404);
    const audit = rig.db
      .prepare("SELECT result, status, target FROM audit WHERE action = 'charging_sessions.close' ORDER BY id")
      .all();
    expect(audit).toEqual([
      { result: 'denied', status: 403, target: String(id) },
      { result: 'ok', status: 200, target: String(id) },
      { result: 'failed', status: 409, target: String(id) },
      { result: 'failed', status: 404, target: '999999' },
    ]);
  });

  it('no message for session_timeout_h closes a session (2.0.1 charger offline: not asked)', async () => {
    const { cp } = await cp201({});
    await cp.call('TransactionEvent', started201('TX-QUIET', 3, '2024-09-05T07:00:00.000Z', 1234));
    await cp.close({ force: true });
    const quiet16 = await start16(await cp16(), 6, 77, '2024-09-05T07:00:00.000Z');
    offset += 3600_000 + 1000;
    expect(await eventually(endedAs('END201', 'TX-QUIET', 'timeout'))).toBe(true);
    expect(await eventually(endedAs('END16', quiet16, 'timeout'))).toBe(true);
    expect(session('END201', 'TX-QUIET')).toMatchObject({ complete: 0, meter_stop_wh: 1234, energy_wh: 0 });
    // The stop is the last reading's time, not now: nobody pays for the hours of silence.
    expect(session('END16', quiet16)).toMatchObject({ duration_s: 0, energy_wh: 0, meter_stop_wh: 77 });
  });
});

describe('2.0.1 events missing at the end', () => {
  it('an Ended event after a seqNo gap makes the backend ask GetTransactionStatus', async () => {
    const { cp, asked } = await cp201({ 'TX-GAP': { ongoingIndicator: false, messagesInQueue: true } });
    await cp.call('TransactionEvent', started201('TX-GAP', 4, '2024-09-06T07:00:00.000Z', 0));
    await cp.call('TransactionEvent', {
      ...started201('TX-GAP', 4, '2024-09-06T08:00:00.000Z', 900),
      eventType: 'Ended',
      triggerReason: 'EVCommunicationLost',
      seqNo: 3,
    });
    expect(await eventually(() => asked.includes('TX-GAP'))).toBe(true);
    expect(await eventually(async () => (await rig.events('transaction_events_queued')) === 1)).toBe(true);
    expect(session('END201', 'TX-GAP')).toMatchObject({ state: 'ended', complete: 0 });
    await cp.close({ force: true });
  });
});
