import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryDirectory } from '../../collector/sdk/index.ts';
import { startRig, type Rig } from './testing.ts';
import { TRIGGERS } from './triggers.ts';

/**
 * Per-EVSE and per-connector control and TriggerMessage, sent through `POST /api/v1/commands` to
 * real ocpp-rpc chargers in strict mode (every frame checked against its version's schema).
 */
const directory = new MemoryDirectory()
  .add({ id: 'CTL16', kind: 'charger' }, { type: 'ocpp_password', value: 'p16' })
  .add({ id: 'CTL201', kind: 'charger' }, { type: 'ocpp_password', value: 'p201' });
let rig: Rig;
beforeAll(async () => {
  rig = await startRig(directory, {}, 5, { commands: true });
});
afterAll(() => rig?.stop());

type Call = { action: string; params: any };
async function charger(id: string, version: 'ocpp1.6' | 'ocpp2.0.1', password: string) {
  const cp = await rig.charger(id, version, { password });
  const calls: Call[] = [];
  cp.handle((async ({ method, params }: { method: string; params: any }) => {
    calls.push({ action: method, params });
    return method === 'UnlockConnector' ? { status: 'Unlocked' } : { status: 'Accepted' };
  }) as never);
  return { cp, calls };
}

describe('per-EVSE and per-connector control', () => {
  it('2.0.1: reset, availability and unlock address one EVSE or one connector of it', async () => {
    const { cp, calls } = await charger('CTL201', 'ocpp2.0.1', 'p201');
    const ok = { http: 201, status: 'succeeded' };
    expect(await rig.command('CTL201', 'reset', { type: 'immediate', evse: 2 })).toMatchObject(ok);
    expect(await rig.command('CTL201', 'reset', { type: 'soft' })).toMatchObject(ok);
    expect(
      await rig.command('CTL201', 'change_availability', { evse: 2, connector: 1, available: false }),
    ).toMatchObject(ok);
    expect(
      await rig.command('CTL201', 'change_availability', { evse: 2, connector: 0, available: true }),
    ).toMatchObject(ok);
    // Before EVSEs were named, connector was the EVSE id: it still is.
    expect(await rig.command('CTL201', 'change_availability', { connector: 3, available: true })).toMatchObject(ok);
    expect(await rig.command('CTL201', 'unlock_connector', { evse: 2, connector: 2 })).toMatchObject(ok);
    expect(calls).toEqual([
      { action: 'Reset', params: { type: 'Immediate', evseId: 2 } },
      { action: 'Reset', params: { type: 'OnIdle' } },
      { action: 'ChangeAvailability', params: { operationalStatus: 'Inoperative', evse: { id: 2, connectorId: 1 } } },
      { action: 'ChangeAvailability', params: { operationalStatus: 'Operative', evse: { id: 2 } } },
      { action: 'ChangeAvailability', params: { operationalStatus: 'Operative', evse: { id: 3 } } },
      { action: 'UnlockConnector', params: { evseId: 2, connectorId: 2 } },
    ]);
    await cp.close({ force: true });
  });

  it('1.6: connectors only; an EVSE is refused with why, and nothing is sent', async () => {
    const { cp, calls } = await charger('CTL16', 'ocpp1.6', 'p16');
    expect(await rig.command('CTL16', 'reset', { type: 'on_idle' })).toMatchObject({ status: 'succeeded' });
    expect(await rig.command('CTL16', 'change_availability', { connector: 2, available: false })).toMatchObject({
      status: 'succeeded',
    });
    expect(await rig.command('CTL16', 'unlock_connector', { connector: 2 })).toMatchObject({ status: 'succeeded' });
    for (const [name, params] of [
      ['reset', { type: 'hard', evse: 1 }],
      ['change_availability', { evse: 1, connector: 1, available: true }],
      ['unlock_connector', { evse: 1, connector: 1 }],
    ] as const)
      expect(await rig.command('CTL16', name, params)).toMatchObject({
        status: 'rejected',
        error: expect.stringContaining('OCPP 1.6 has no EVSEs'),
      });
    expect(calls).toEqual([
      { action: 'Reset', params: { type: 'Soft' } },
      { action: 'ChangeAvailability', params: { connectorId: 2, type: 'Inoperative' } },
      { action: 'UnlockConnector', params: { connectorId: 2 } },
    ]);
    await cp.close({ force: true });
  });

  it('a bad choice is refused with the values allowed (a general rule, not one per command)', async () => {
    expect(await rig.command('CTL201', 'reset', { type: 'warm' })).toMatchObject({
      http: 400,
      error: {
        code: 'FP_VALIDATION',
        message: 'CTL201: reset: parameter "type" must be one of "soft", "hard", "on_idle", "immediate"',
      },
    });
  });
});

describe('TriggerMessage', () => {
  it("2.0.1: every requestedMessage of the version's schema reaches the charger", async () => {
    const { cp, calls } = await charger('CTL201', 'ocpp2.0.1', 'p201');
    // The values as the bundled 2.0.1 schema states them, not as triggers.ts lists them.
    const schemas = createRequire(import.meta.url)('ocpp-rpc/lib/schemas/ocpp2_0_1.json') as Array<{
      $id: string;
      definitions?: { MessageTriggerEnumType?: { enum: string[] } };
    }>;
    const spec = schemas.find((x) => x.$id === 'urn:TriggerMessage.req')!.definitions!.MessageTriggerEnumType!.enum;
    expect(spec).toHaveLength(11);
    for (const message of spec)
      expect(await rig.command('CTL201', 'trigger_message', { message })).toMatchObject({ status: 'succeeded' });
    expect(await rig.command('CTL201', 'trigger_message', { message: 'StatusNotification', evse: 1, connector: 2 }));
    expect(await rig.command('CTL201', 'trigger_message', { message: 'SignCertificate' })).toMatchObject({
      status: 'succeeded',
    });
    expect(calls.map((c) => c.params.requestedMessage)).toEqual([
      ...spec,
      'StatusNotification',
      'SignChargingStationCertificate',
    ]);
    expect(calls.every((c) => c.action === 'TriggerMessage')).toBe(true);
    expect(calls[spec.length].params.evse).toEqual({ id: 1, connectorId: 2 });
    await cp.close({ force: true });
  });

  it('1.6: TriggerMessage and ExtendedTriggerMessage, each with its own values', async () => {
    const { cp, calls } = await charger('CTL16', 'ocpp1.6', 'p16');
    const core = [
      'BootNotification',
      'DiagnosticsStatusNotification',
      'FirmwareStatusNotification',
      'Heartbeat',
      'MeterValues',
      'StatusNotification',
    ];
    for (const message of core)
      expect(await rig.command('CTL16', 'trigger_message', { message, connector: 1 })).toMatchObject({
        status: 'succeeded',
      });
    for (const message of ['LogStatusNotification', 'SignChargePointCertificate', 'MeterValues'])
      expect(await rig.command('CTL16', 'trigger_message', { message, extended: true })).toMatchObject({
        status: 'succeeded',
      });
    expect(calls.map((c) => [c.action, c.params.requestedMessage])).toEqual([
      ...core.map((m) => ['TriggerMessage', m]),
      ['ExtendedTriggerMessage', 'LogStatusNotification'],
      ['ExtendedTriggerMessage', 'SignChargePointCertificate'],
      ['ExtendedTriggerMessage', 'MeterValues'],
    ]);
    await cp.close({ force: true });
  });

  it("a bad value lists the allowed ones; one of the other version's lists this charger's", async () => {
    const bad = await rig.command('CTL16', 'trigger_message', { message: 'Coffee' });
    expect(bad).toMatchObject({ http: 400, error: { code: 'FP_VALIDATION', field: 'params.message' } });
    const message = (bad.error as { message: string }).message;
    expect(message).toMatch(/^CTL16: trigger_message: parameter "message" must be one of "BootNotification", /);
    for (const m of [...TRIGGERS['ocpp1.6'], ...TRIGGERS['ocpp2.0.1']]) expect(message).toContain(`"${m}"`);

    const { cp, calls } = await charger('CTL16', 'ocpp1.6', 'p16');
    const other = await rig.command('CTL16', 'trigger_message', { message: 'TransactionEvent' });
    expect(other).toMatchObject({ status: 'rejected' });
    expect(other.error).toBe(
      'not sent: TransactionEvent is not a message an ocpp1.6 charger can be asked for; it allows: ' +
        TRIGGERS['ocpp1.6'].join(', '),
    );
    expect(calls).toEqual([]);
    await cp.close({ force: true });
  });
});
