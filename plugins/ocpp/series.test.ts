import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryDirectory } from '../../collector/sdk/index.ts';
import { useInfluxd } from '../../test/helpers/influxd.ts';
import { boot16, intoInfluxd, startRig, type Rig } from './testing.ts';

/**
 * Series that never collide, checked in a real influxd: the spooled lines are written there as
 * the writer writes them (precision ms). The runtime's clock can be stopped (`frozen`), so that
 * two messages arrive "in the same millisecond" for certain.
 */
const influx = useInfluxd();
const directory = new MemoryDirectory()
  .add({ id: 'SER16', kind: 'charger' }, { type: 'ocpp_password', value: 'pw-16' })
  .add({ id: 'SER201', kind: 'charger' }, { type: 'ocpp_password', value: 'pw-201' });
let rig: Rig;
let frozen: number | undefined;

beforeAll(async () => {
  rig = await startRig(directory, {}, 5, { clock: { now: () => frozen ?? Date.now() } });
});
afterAll(() => rig?.stop());

const stored = (measurement: string) => intoInfluxd(influx, rig.allLines(measurement));

describe('series that never collide', () => {
  it('two 1.6 StatusNotifications without a timestamp in one millisecond are both stored, in order', async () => {
    const cp = await rig.charger('SER16', 'ocpp1.6', { password: 'pw-16' });
    expect(await cp.call('BootNotification', boot16)).toMatchObject({ status: 'Accepted' });
    frozen = Date.now();
    await cp.call('StatusNotification', { connectorId: 1, errorCode: 'NoError', status: 'Unavailable' });
    await cp.call('StatusNotification', { connectorId: 1, errorCode: 'NoError', status: 'Finishing' });
    frozen = undefined;
    const db = await stored('ocpp_connector_status');
    const [series] = await influx.query(
      `SELECT status FROM ocpp_connector_status WHERE device = 'SER16' AND connector = '1'`,
      { db },
    );
    expect(series.values.map((v) => v[1])).toEqual(['Unavailable', 'Finishing']);
  });

  it('2.0.1 meter values of TransactionEvents after Started carry the EVSE of the Started event', async () => {
    const cp = await rig.charger('SER201', 'ocpp2.0.1', { password: 'pw-201' });
    const event = (eventType: string, seqNo: number, timestamp: string, wh: number, evse?: object) => ({
      eventType,
      timestamp,
      triggerReason: eventType === 'Started' ? 'CablePluggedIn' : 'MeterValuePeriodic',
      seqNo,
      transactionInfo: { transactionId: 'TX-EVSE' },
      ...(evse ? { evse } : {}),
      meterValue: [{ timestamp, sampledValue: [{ value: wh, measurand: 'Energy.Active.Import.Register' }] }],
    });
    // Within the database's retention: an hour ago, in quarter hours.
    const at = (quarter: number) => new Date(Date.now() - 3600_000 + quarter * 900_000).toISOString();
    await cp.call('TransactionEvent', event('Started', 0, at(0), 0, { id: 2, connectorId: 1 }));
    await cp.call('TransactionEvent', event('Updated', 1, at(1), 2500));
    await cp.call('TransactionEvent', event('Updated', 2, at(2), 5000));
    const db = await stored('ocpp_meter');
    const [series] = await influx.query(
      `SELECT energy_active_import_wh FROM ocpp_meter WHERE device = 'SER201' GROUP BY connector`,
      { db },
    );
    expect(series.tags).toEqual({ connector: '2' });
    expect(series.values.map((v) => v[1])).toEqual([0, 2500, 5000]);
  });
});
