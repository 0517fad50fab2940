import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryDirectory } from '../../collector/sdk/index.ts';
import { fillDatabase, fillDisk } from '../../test/helpers/full-disk.ts';
import { boot16, boot201, rawCall, startRig, type Rig } from './testing.ts';

/**
 * A StopTransaction carries the only copy of a session's end: a charger deletes it once answered.
 * With the disk full (test/helpers/full-disk.ts: the real SQLITE_FULL), the answer is an OCPP
 * CALLERROR InternalError, which makes a charger send the message again; once the disk has room
 * the resend, on a new connection with a new message id, is answered and its summary stored once.
 */
const directory = new MemoryDirectory()
  .add({ id: 'DISK-SPOOL', kind: 'charger', customer: 'acme' }, { type: 'ocpp_password', value: 'pw' })
  .add({ id: 'DISK-BOTH', kind: 'charger', customer: 'acme' }, { type: 'ocpp_password', value: 'pw' })
  .add({ id: 'DISK-201', kind: 'charger', customer: 'acme' }, { type: 'ocpp_password', value: 'pw' });
let rig: Rig;

beforeAll(async () => {
  rig = await startRig(directory);
});
afterAll(() => rig?.stop());

/** Boots `identity`, starts a transaction at 500 Wh and returns its id. */
async function started(identity: string): Promise<number> {
  const cp = await rig.charger(identity, 'ocpp1.6', { password: 'pw' });
  expect(await cp.call('BootNotification', boot16)).toMatchObject({ status: 'Accepted' });
  const start = { connectorId: 1, idTag: 'ANY', meterStart: 500, timestamp: '2024-08-01T10:00:00.000Z' };
  const answer = (await cp.call('StartTransaction', start)) as { transactionId: number };
  await cp.close({ force: true });
  return answer.transactionId;
}

const stop = (transactionId: number) => ({
  transactionId,
  meterStop: 2500,
  timestamp: '2024-08-01T11:00:00.000Z',
  reason: 'Local',
});

/** The charger's sessions as stored, and the summary lines of one transaction in the spool. */
function stored(identity: string, transactionId: number) {
  const sessions = rig.db
    .prepare('SELECT state, energy_wh FROM ocpp_sessions WHERE charger = ?')
    .all(identity) as Array<{ state: string; energy_wh: number | null }>;
  const summaries = rig.lines('ocpp_session').filter((l) => l.includes(`transaction_id="${transactionId}"`));
  return { sessions, summaries };
}

/**
 * The spool's disk full to the last byte: fillDisk leaves room inside its last pages, which a
 * summary line might still fit into; lines are committed until a commit fails.
 */
function spoolFull(): () => void {
  const free = fillDisk(rig.spool, rig.spoolDb);
  for (let i = 0; !rig.spool.diskFull; i++) {
    rig.spool.append(`filler,device=disk v=${i}i ${1_600_000_000_000 + i}`);
    rig.spool.commit();
  }
  return free;
}

/**
 * The inventory's disk full: no page to add, and no room left in the pages of the table that
 * remembers answers (filled with answers to another charger).
 */
function inventoryFull(): () => void {
  const free = fillDatabase(rig.db);
  const insert = rig.db.prepare("INSERT INTO ocpp_replies (charger, key, reply, at) VALUES ('FILLER', ?, '{}', 0)");
  try {
    for (let i = 0; ; i++) insert.run(`filler:${i}`);
  } catch (err) {
    if ((err as { code?: string }).code !== 'SQLITE_FULL') throw err;
  }
  return free;
}

async function diskFreed(free: () => void): Promise<void> {
  free();
  await expect.poll(() => rig.spool.diskFull, { timeout: 10_000 }).toBe(false);
}

/** The resend after the disk has room: answered, one session ended, its summary stored once. */
async function resendStoresOnce(identity: string, transactionId: number): Promise<void> {
  const cp = await rig.charger(identity, 'ocpp1.6', { password: 'pw' });
  const answer = await rawCall(cp, 'stop-again', 'StopTransaction', stop(transactionId));
  expect(answer[0], JSON.stringify(answer)).toBe(3);
  const { sessions, summaries } = stored(identity, transactionId);
  expect(sessions).toEqual([{ state: 'ended', energy_wh: 2000 }]);
  expect(summaries).toHaveLength(1);
  expect(summaries[0]).toMatch(/^ocpp_session,.*device=.*energy_wh=2000/);
  await cp.close({ force: true });
}

describe('OCPP StopTransaction with the disk full', () => {
  it('the spool cannot commit: InternalError, no summary; the resend after the disk frees stores it once', async () => {
    const tx = await started('DISK-SPOOL');
    const free = spoolFull();
    const cp = await rig.charger('DISK-SPOOL', 'ocpp1.6', { password: 'pw' });
    const refused = await rawCall(cp, 'stop-1', 'StopTransaction', stop(tx));
    expect(refused, JSON.stringify(refused)).toMatchObject([
      4,
      'stop-1',
      'InternalError',
      expect.stringMatching(/disk is full; send it again/),
      {},
    ]);
    expect(stored('DISK-SPOOL', tx).summaries).toEqual([]);
    expect(await rig.events('disk_full')).toBe(1);
    await cp.close({ force: true });

    await diskFreed(free);
    await resendStoresOnce('DISK-SPOOL', tx);
  });

  it('neither the inventory nor the spool can write: InternalError, nothing remembered; the resend stores it once', async () => {
    const tx = await started('DISK-BOTH');
    const freeSpool = spoolFull();
    const freeInventory = inventoryFull();
    const cp = await rig.charger('DISK-BOTH', 'ocpp1.6', { password: 'pw' });
    const refused = await rawCall(cp, 'stop-1', 'StopTransaction', stop(tx));
    expect(refused, JSON.stringify(refused)).toMatchObject([
      4,
      'stop-1',
      'InternalError',
      expect.stringMatching(/disk is full; send it again/),
      {},
    ]);
    // Not remembered as answered: the resend is applied, not replayed.
    expect(rig.db.prepare('SELECT key FROM ocpp_replies WHERE charger = ?').pluck().all('DISK-BOTH')).not.toContain(
      `stop:${tx}`,
    );
    expect(stored('DISK-BOTH', tx)).toEqual({ sessions: [{ state: 'active', energy_wh: null }], summaries: [] });
    expect(await rig.events('disk_full')).toBe(2);
    await cp.close({ force: true });

    freeInventory();
    await diskFreed(freeSpool);
    await resendStoresOnce('DISK-BOTH', tx);
  });

  it('2.0.1 TransactionEvent Ended with the spool full: InternalError; the resend after the disk frees stores it once', async () => {
    const cp = await rig.charger('DISK-201', 'ocpp2.0.1', { password: 'pw' });
    expect(await cp.call('BootNotification', boot201)).toMatchObject({ status: 'Accepted' });
    const event = (eventType: string, seqNo: number, timestamp: string, wh: number) => ({
      eventType,
      timestamp,
      triggerReason: eventType === 'Ended' ? 'StopAuthorized' : 'Authorized',
      seqNo,
      transactionInfo: { transactionId: 'TX-DISK', ...(eventType === 'Ended' && { stoppedReason: 'Local' }) },
      evse: { id: 1, connectorId: 1 },
      meterValue: [{ timestamp, sampledValue: [{ value: wh, measurand: 'Energy.Active.Import.Register' }] }],
    });
    expect(
      (await rawCall(cp, 'tx-0', 'TransactionEvent', event('Started', 0, '2024-08-02T10:00:00.000Z', 100)))[0],
    ).toBe(3);
    const ended = event('Ended', 1, '2024-08-02T11:00:00.000Z', 1600);
    const free = spoolFull();
    const refused = await rawCall(cp, 'tx-1', 'TransactionEvent', ended);
    expect(refused, JSON.stringify(refused)).toMatchObject([4, 'tx-1', 'InternalError', expect.any(String), {}]);
    await cp.close({ force: true });

    await diskFreed(free);
    const again = await rig.charger('DISK-201', 'ocpp2.0.1', { password: 'pw' });
    expect((await rawCall(again, 'tx-1b', 'TransactionEvent', ended))[0]).toBe(3);
    const summaries = rig.lines('ocpp_session').filter((l) => l.includes('transaction_id="TX-DISK"'));
    expect(summaries).toHaveLength(1);
    expect(summaries[0]).toMatch(/energy_wh=1500/);
    await again.close({ force: true });
  });
});
