import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryDirectory } from '../../collector/sdk/index.ts';
import { boot16, boot201, eventually, startRig, type Rig } from './testing.ts';

/** The security extension's charger → backend messages, with real ocpp-rpc chargers in strict mode. */
const directory = new MemoryDirectory()
  .add({ id: 'SEC-16', kind: 'charger' }, { type: 'ocpp_password', value: 'pw-sec16-0123456789' })
  .add({ id: 'SEC-201', kind: 'charger' }, { type: 'ocpp_password', value: 'pw-sec201-012345678' });
let rig: Rig;
beforeAll(async () => {
  rig = await startRig(directory);
});
afterAll(() => rig?.stop());

describe('SecurityEventNotification', () => {
  it('is stored as ocpp_security_event on both versions, critical as the specifications say', async () => {
    const cp16 = await rig.charger('SEC-16', 'ocpp1.6', { password: 'pw-sec16-0123456789' });
    await cp16.call('BootNotification', boot16);
    expect(
      await cp16.call('SecurityEventNotification', {
        type: 'TamperDetectionActivated',
        timestamp: '2026-03-01T10:00:00.000Z',
        techInfo: 'lid open',
      }),
    ).toEqual({});
    const cp201 = await rig.charger('SEC-201', 'ocpp2.0.1', { password: 'pw-sec201-012345678' });
    await cp201.call('BootNotification', boot201);
    await cp201.call('SecurityEventNotification', {
      type: 'InvalidTLSVersion',
      timestamp: '2026-03-01T10:00:01.000Z',
    });
    await eventually(() => rig.lines('ocpp_security_event').length === 2);
    const lines = rig.lines('ocpp_security_event');
    expect(lines).toEqual([
      expect.stringMatching(
        /^ocpp_security_event,device=SEC-16,kind=charger.* type="TamperDetectionActivated",critical=true,tech_info="lid open" 1772359200000$/,
      ),
      expect.stringMatching(
        /^ocpp_security_event,device=SEC-201,kind=charger.* type="InvalidTLSVersion",critical=false 1772359201000$/,
      ),
    ]);
    expect(rig.lines('ocpp_error')).toEqual([]);
  });
});
