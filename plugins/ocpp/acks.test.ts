import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryDirectory } from '../../collector/sdk/index.ts';
import { boot16, boot201, rawCall, startRig, type Rig } from './testing.ts';

/**
 * "Answered" means "stored", also after a reconnect: a charger that lost an answer resends the
 * message on a new connection with a new message id, and deletes its copy when that is answered.
 * The spool commits only every 2 s here, so a point read from the spool table when the answer
 * arrives is there only because the answer waited for `ctx.committed()`.
 */
const COMMIT_MS = 2000;
const directory = new MemoryDirectory()
  .add({ id: 'ACK16', kind: 'charger', customer: 'acme', site: 'acme-hq' }, { type: 'ocpp_password', value: 'pw-16' })
  .add(
    { id: 'ACK201', kind: 'charger', customer: 'acme', site: 'acme-hq' },
    { type: 'ocpp_password', value: 'pw-201' },
  );
let rig: Rig;

beforeAll(async () => {
  rig = await startRig(directory, {}, COMMIT_MS);
});
afterAll(() => rig?.stop());

/** Sends `action` and drops the connection before its answer can be read: the answer is lost. */
async function sendAndDrop(
  identity: string,
  version: 'ocpp1.6' | 'ocpp2.0.1',
  password: string,
  action: string,
  params: unknown,
) {
  const cp = await rig.charger(identity, version, { password });
  cp.sendRaw(JSON.stringify([2, `lost-${action}`, action, params]));
  await cp.close({ force: true });
}

/**
 * The `ocpp_meter` lines stamped `time` that are durable now, checked to be all there are: none
 * still waits in memory for the next commit. (The lost message may have been handled too: two
 * copies of the same point, which overwrite each other in InfluxDB.)
 */
function durableMeterLines(time: number): string[] {
  const at = (lines: string[]) => lines.filter((l) => l.endsWith(` ${time}`));
  const durable = at(rig.lines('ocpp_meter'));
  expect(durable.length, 'copies durable when the answer arrived').toBe(at(rig.allLines('ocpp_meter')).length);
  expect(durable.length).toBeGreaterThan(0);
  return [...new Set(durable)];
}

describe('OCPP answers after a reconnect with a new message id', () => {
  it('1.6 MeterValues and StartTransaction: the resend is answered only once its points are durable', async () => {
    const boot = await rig.charger('ACK16', 'ocpp1.6', { password: 'pw-16' });
    expect(await boot.call('BootNotification', boot16)).toMatchObject({ status: 'Accepted' });
    await boot.close({ force: true });

    const start = { connectorId: 1, idTag: 'ANY', meterStart: 500, timestamp: '2024-07-01T08:00:00.000Z' };
    const lostStart = await rig.charger('ACK16', 'ocpp1.6', { password: 'pw-16' });
    const first = await rawCall(lostStart, 'start-a', 'StartTransaction', start);
    await lostStart.close({ force: true });
    const transactionId = (first[2] as { transactionId: number }).transactionId;

    const time = Date.parse('2024-07-01T08:05:00.000Z');
    const values = {
      connectorId: 1,
      transactionId,
      meterValue: [
        {
          timestamp: new Date(time).toISOString(),
          sampledValue: [{ value: '1234', measurand: 'Energy.Active.Import.Register', unit: 'Wh' }],
        },
      ],
    };
    await sendAndDrop('ACK16', 'ocpp1.6', 'pw-16', 'MeterValues', values);

    const cp = await rig.charger('ACK16', 'ocpp1.6', { password: 'pw-16' });
    const resentStart = await rawCall(cp, 'start-b', 'StartTransaction', start);
    expect(resentStart[2]).toEqual(first[2]); // the same transaction, not a second one
    const answer = await rawCall(cp, 'meter-b', 'MeterValues', values);
    expect(answer[0]).toBe(3);
    expect(durableMeterLines(time)).toEqual([
      expect.stringMatching(/^ocpp_meter,.*device=ACK16,.*energy_active_import_wh=1234,transaction_id="\d+" \d+$/),
    ]);
  });

  it('2.0.1 MeterValues and TransactionEvent Updated: the resend is answered only once its points are durable', async () => {
    const boot = await rig.charger('ACK201', 'ocpp2.0.1', { password: 'pw-201' });
    expect(await boot.call('BootNotification', boot201)).toMatchObject({ status: 'Accepted' });
    await boot.close({ force: true });

    const meterTime = Date.parse('2024-07-02T09:00:00.000Z');
    const values = {
      evseId: 1,
      meterValue: [
        {
          timestamp: new Date(meterTime).toISOString(),
          sampledValue: [{ value: 4321, measurand: 'Energy.Active.Import.Register' }],
        },
      ],
    };
    await sendAndDrop('ACK201', 'ocpp2.0.1', 'pw-201', 'MeterValues', values);
    const cp = await rig.charger('ACK201', 'ocpp2.0.1', { password: 'pw-201' });
    expect((await rawCall(cp, 'meter-b', 'MeterValues', values))[0]).toBe(3);
    expect(durableMeterLines(meterTime)).toHaveLength(1);

    // An Updated event (not a session's end) carries meter values too.
    const eventTime = Date.parse('2024-07-02T09:10:00.000Z');
    const updated = {
      eventType: 'Updated',
      timestamp: new Date(eventTime).toISOString(),
      triggerReason: 'MeterValuePeriodic',
      seqNo: 1,
      transactionInfo: { transactionId: 'TX-ACK' },
      evse: { id: 1, connectorId: 1 },
      meterValue: [
        {
          timestamp: new Date(eventTime).toISOString(),
          sampledValue: [{ value: 4400, measurand: 'Energy.Active.Import.Register' }],
        },
      ],
    };
    await sendAndDrop('ACK201', 'ocpp2.0.1', 'pw-201', 'TransactionEvent', updated);
    const again = await rig.charger('ACK201', 'ocpp2.0.1', { password: 'pw-201' });
    expect((await rawCall(again, 'tx-b', 'TransactionEvent', updated))[0]).toBe(3);
    expect(durableMeterLines(eventTime)).toEqual([expect.stringContaining('transaction_id="TX-ACK"')]);
  });
});
