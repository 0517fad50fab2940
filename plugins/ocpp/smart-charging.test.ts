import type { RPCClient } from 'ocpp-rpc';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryDirectory } from '../../collector/sdk/index.ts';
import { eventually, startRig, token, type Rig } from './testing.ts';

/**
 * Smart charging with real ocpp-rpc chargers in strict mode (every frame both ways checked
 * against the version's schema) against the real runtime and API: the site power limit shared
 * across a site's sessions, the smart charging commands, and the limits 2.0.1 chargers report.
 */
const site = (id: string, s: string, pw: string) =>
  [
    { id, kind: 'charger', site: s },
    { type: 'ocpp_password', value: pw },
  ] as const;
const directory = new MemoryDirectory()
  .add(...site('SITE-A16', 'depot', 'pa'))
  .add(...site('SITE-B201', 'depot', 'pb'))
  .add(...site('SITE-C16', 'depot', 'pc'))
  .add(...site('OTHER16', 'elsewhere', 'po'))
  .add(...site('SC16', 'lab', 'p16'))
  .add(...site('SC201', 'lab', 'p201'))
  .add(...site('SCDEF', 'lab', 'pdef'));
let rig: Rig;
beforeAll(async () => {
  rig = await startRig(directory, {}, 5, { commands: true });
});
afterAll(() => rig?.stop());

type Call = { action: string; params: any };
/** A charger that records every call it gets and answers with `answer(action, params)`. */
async function charger(
  id: string,
  version: 'ocpp1.6' | 'ocpp2.0.1',
  password: string,
  answer: (action: string, params: any) => unknown = accept,
) {
  const cp = await rig.charger(id, version, { password });
  const calls: Call[] = [];
  cp.handle((async ({ method, params }: { method: string; params: any }) => {
    calls.push({ action: method, params });
    return answer(method, params);
  }) as never);
  return { cp, calls };
}
const accept = (): unknown => ({ status: 'Accepted' });

const api = async (method: string, path: string, role: 'viewer' | 'operator', body?: unknown) => {
  const res = await fetch(`${rig.url}/api/v1${path}`, {
    method,
    headers: { authorization: token(role), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: await res.json() };
};

/** The limit, W, of the last site share a charger received (1.6 or 2.0.1 shape). */
const lastShare = (calls: Call[]) => {
  const sets = calls.filter((c) => c.action === 'SetChargingProfile');
  const p = sets.at(-1)?.params;
  if (!p) return undefined;
  const profile = p.csChargingProfiles ?? p.chargingProfile;
  const schedule = Array.isArray(profile.chargingSchedule) ? profile.chargingSchedule[0] : profile.chargingSchedule;
  return schedule.chargingSchedulePeriod[0].limit as number;
};
const start16 = async (cp: RPCClient, connectorId: number) =>
  (
    (await cp.call('StartTransaction', {
      connectorId,
      idTag: 'ANY',
      meterStart: 0,
      timestamp: new Date().toISOString(),
    })) as {
      transactionId: number;
    }
  ).transactionId;
const started201 = (transactionId: string, evse: number) => ({
  eventType: 'Started',
  timestamp: new Date().toISOString(),
  triggerReason: 'CablePluggedIn',
  seqNo: 0,
  transactionInfo: { transactionId },
  evse: { id: evse, connectorId: 1 },
});

describe('the site power limit', () => {
  it('three sessions at a site each get a third of the limit; one ends, the other two get half', async () => {
    const a = await charger('SITE-A16', 'ocpp1.6', 'pa');
    const b = await charger('SITE-B201', 'ocpp2.0.1', 'pb');
    const c = await charger('SITE-C16', 'ocpp1.6', 'pc');
    const other = await charger('OTHER16', 'ocpp1.6', 'po');

    expect((await api('PUT', '/sites/depot/power-limit', 'viewer', { max_power_kw: 21 })).status).toBe(403);
    const bad = await api('PUT', '/sites/depot/power-limit', 'operator', { max_power_kw: -3 });
    expect(bad.status).toBe(400);
    const set = await api('PUT', '/sites/depot/power-limit', 'operator', { max_power_kw: 21 });
    expect(set).toMatchObject({ status: 200, body: { site: 'depot', max_power_kw: 21, active_sessions: 0 } });

    const txA = await start16(a.cp, 1);
    await b.cp.call('TransactionEvent', started201('TX-B', 2));
    const txC = await start16(c.cp, 2);
    await start16(other.cp, 1);
    const thirds = async () => [lastShare(a.calls), lastShare(b.calls), lastShare(c.calls)].every((w) => w === 7000);
    expect(await eventually(thirds)).toBe(true);
    // Each share is a TxProfile for the charger's own transaction, in its own version's words.
    const a16 = a.calls.filter((x) => x.action === 'SetChargingProfile').at(-1)!.params;
    expect(a16).toMatchObject({
      connectorId: 1,
      csChargingProfiles: {
        transactionId: txA,
        chargingProfilePurpose: 'TxProfile',
        chargingSchedule: { chargingRateUnit: 'W' },
      },
    });
    const b201 = b.calls.filter((x) => x.action === 'SetChargingProfile').at(-1)!.params;
    expect(b201).toMatchObject({
      evseId: 2,
      chargingProfile: { transactionId: 'TX-B', chargingProfilePurpose: 'TxProfile' },
    });
    expect(other.calls).toEqual([]);
    const shown = await api('GET', '/sites/depot/power-limit', 'viewer');
    expect(shown.body).toMatchObject({ max_power_kw: 21, active_sessions: 3 });
    expect(shown.body.allocations.map((x: any) => [x.charger, x.limit_w])).toEqual([
      ['SITE-A16', 7000],
      ['SITE-B201', 7000],
      ['SITE-C16', 7000],
    ]);

    const aBefore = a.calls.length;
    await a.cp.call('StopTransaction', { transactionId: txA, meterStop: 5000, timestamp: new Date().toISOString() });
    const halves = async () => lastShare(b.calls) === 10_500 && lastShare(c.calls) === 10_500;
    expect(await eventually(halves)).toBe(true);
    expect(a.calls.length).toBe(aBefore); // the ended session is sent nothing more
    const after = await api('GET', '/sites/depot/power-limit', 'viewer');
    expect(after.body.allocations.map((x: any) => [x.charger, x.limit_w])).toEqual([
      ['SITE-B201', 10_500],
      ['SITE-C16', 10_500],
    ]);
    const profilesOfC = await api('GET', '/chargers/SITE-C16/smart-charging', 'viewer');
    expect(profilesOfC.body.profiles).toMatchObject([
      {
        connector: 2,
        purpose: 'tx',
        source: 'site_limit',
        transaction_id: String(txC),
        profile: { schedule: { periods: [{ limit: 10_500 }] } },
      },
    ]);
    expect((await api('GET', '/chargers/SITE-A16/smart-charging', 'viewer')).body.profiles).toEqual([]);
    const audit = rig.db
      .prepare("SELECT role, result, target FROM audit WHERE action = 'sites.power_limit' ORDER BY id")
      .all();
    expect(audit).toEqual([
      { role: 'viewer', result: 'denied', target: 'depot' },
      { role: 'operator', result: 'failed', target: 'depot' },
      { role: 'operator', result: 'ok', target: 'depot' },
    ]);
  });
});

describe('smart charging commands through POST /api/v1/commands', () => {
  const run = (device: string, name: string, params: object) => rig.command(device, name, params);
  const profile = {
    id: 7,
    stack_level: 1,
    purpose: 'tx_default',
    kind: 'absolute',
    schedule: { unit: 'A', start: '2030-01-01T00:00:00Z', periods: [{ start_s: 0, limit: 16 }] },
  };

  it('1.6: set, composite schedule and clear reach the charger, and what it holds is stored', async () => {
    const { calls } = await charger('SC16', 'ocpp1.6', 'p16', (action) =>
      action === 'GetCompositeSchedule'
        ? {
            status: 'Accepted',
            connectorId: 1,
            scheduleStart: '2030-01-01T00:00:00Z',
            chargingSchedule: { chargingRateUnit: 'A', chargingSchedulePeriod: [{ startPeriod: 0, limit: 16 }] },
          }
        : { status: 'Accepted' },
    );
    expect(await run('SC16', 'set_charging_profile', { connector: 1, profile })).toMatchObject({ status: 'succeeded' });
    expect(await run('SC16', 'get_composite_schedule', { connector: 1, duration_s: 3600 })).toMatchObject({
      status: 'succeeded',
    });
    const held = await api('GET', '/chargers/SC16/smart-charging', 'viewer');
    expect(held.body.profiles).toMatchObject([
      { connector: 1, profile_id: 7, purpose: 'tx_default', source: 'operator' },
    ]);
    expect(held.body.composite_schedules).toMatchObject([
      { connector: 1, schedule: { chargingSchedule: { chargingSchedulePeriod: [{ limit: 16 }] } } },
    ]);
    expect(await run('SC16', 'clear_charging_profile', { purpose: 'tx_default', stack_level: 1 })).toMatchObject({
      status: 'succeeded',
    });
    expect((await api('GET', '/chargers/SC16/smart-charging', 'viewer')).body.profiles).toEqual([]);
    // A start carrying its profile; 1.6 has no GetChargingProfiles (refused, never sent).
    expect(
      await run('SC16', 'remote_start', { id_tag: 'TAG1', charging_profile: { ...profile, id: 8, purpose: 'tx' } }),
    ).toMatchObject({ status: 'succeeded' });
    expect(await run('SC16', 'get_charging_profiles', {})).toMatchObject({ status: 'rejected' });
    expect(calls.map((x) => x.action)).toEqual([
      'SetChargingProfile',
      'GetCompositeSchedule',
      'ClearChargingProfile',
      'RemoteStartTransaction',
    ]);
    expect(calls[0].params).toEqual({
      connectorId: 1,
      csChargingProfiles: {
        chargingProfileId: 7,
        stackLevel: 1,
        chargingProfilePurpose: 'TxDefaultProfile',
        chargingProfileKind: 'Absolute',
        chargingSchedule: {
          chargingRateUnit: 'A',
          startSchedule: '2030-01-01T00:00:00Z',
          chargingSchedulePeriod: [{ startPeriod: 0, limit: 16 }],
        },
      },
    });
    expect(calls[2].params).toEqual({ chargingProfilePurpose: 'TxDefaultProfile', stackLevel: 1 });
    expect(calls[3].params.chargingProfile).toMatchObject({
      chargingProfileId: 8,
      chargingProfilePurpose: 'TxProfile',
    });
  });

  it('2.0.1: set, get_charging_profiles with its report, and a remote start with a profile', async () => {
    const { cp, calls } = await charger('SC201', 'ocpp2.0.1', 'p201');
    expect(await run('SC201', 'set_charging_profile', { connector: 1, profile })).toMatchObject({
      status: 'succeeded',
    });
    expect(calls[0].params).toMatchObject({
      evseId: 1,
      chargingProfile: {
        id: 7,
        chargingProfilePurpose: 'TxDefaultProfile',
        chargingSchedule: [{ id: 7, chargingRateUnit: 'A' }],
      },
    });
    expect(await run('SC201', 'get_charging_profiles', { purpose: 'station_max' })).toMatchObject({
      status: 'succeeded',
    });
    const asked = calls[1].params;
    expect(asked).toMatchObject({ chargingProfile: { chargingProfilePurpose: 'ChargingStationMaxProfile' } });
    await cp.call('ReportChargingProfiles', {
      requestId: asked.requestId,
      chargingLimitSource: 'CSO',
      evseId: 0,
      chargingProfile: [
        {
          id: 3,
          stackLevel: 0,
          chargingProfilePurpose: 'ChargingStationMaxProfile',
          chargingProfileKind: 'Absolute',
          chargingSchedule: [
            { id: 1, chargingRateUnit: 'W', chargingSchedulePeriod: [{ startPeriod: 0, limit: 22000 }] },
          ],
        },
      ],
    });
    const held = await api('GET', '/chargers/SC201/smart-charging', 'viewer');
    expect(held.body.profiles).toMatchObject([
      { connector: 0, profile_id: 3, purpose: 'station_max', source: 'charger' },
      { connector: 1, profile_id: 7, purpose: 'tx_default', source: 'operator' },
    ]);
    expect(
      await run('SC201', 'remote_start', {
        id_tag: 'TAG2',
        connector: 1,
        charging_profile: { ...profile, purpose: 'tx' },
      }),
    ).toMatchObject({ status: 'succeeded' });
    expect(calls[2]).toMatchObject({
      action: 'RequestStartTransaction',
      params: { evseId: 1, chargingProfile: { chargingProfilePurpose: 'TxProfile' } },
    });
    expect(await run('SC201', 'get_composite_schedule', { connector: 1, duration_s: 600, unit: 'W' })).toMatchObject({
      status: 'succeeded',
    });
    expect(calls[3]).toEqual({
      action: 'GetCompositeSchedule',
      params: { evseId: 1, duration: 600, chargingRateUnit: 'W' },
    });
    expect(await run('SC201', 'clear_charging_profile', { id: 7 })).toMatchObject({ status: 'succeeded' });
    expect(calls[4]).toEqual({ action: 'ClearChargingProfile', params: { chargingProfileId: 7 } });
    expect(
      (await api('GET', '/chargers/SC201/smart-charging', 'viewer')).body.profiles.map((x: any) => x.profile_id),
    ).toEqual([3]);
  });

  it('a bad parameter is refused with what is allowed, before anything is sent', async () => {
    const { calls } = await charger('SC201', 'ocpp2.0.1', 'p201');
    const bad = (params: object) => run('SC201', 'set_charging_profile', params);
    expect(await bad({ connector: 1, profile: { ...profile, purpose: 'tx_max' } })).toMatchObject({
      http: 400,
      error: {
        field: 'params.profile.purpose',
        message: expect.stringContaining(
          'set_charging_profile: parameter "profile.purpose" must be one of "station_max", "tx_default", "tx"',
        ),
      },
    });
    expect(
      await bad({ connector: 1, profile: { ...profile, schedule: { ...profile.schedule, unit: 'kW' } } }),
    ).toMatchObject({
      http: 400,
      error: { message: expect.stringMatching(/parameter "profile.schedule.unit" must be one of "W", "A"/) },
    });
    expect(await run('SC201', 'get_charging_profiles', { purpose: 'external' })).toMatchObject({
      http: 400,
      error: { message: expect.stringContaining('must be one of "station_max", "tx_default", "tx"') },
    });
    // A transaction id on a profile that is not for a transaction: refused by us, not sent.
    expect(await bad({ connector: 1, profile: { ...profile, transaction_id: 'TX-1' } })).toMatchObject({
      status: 'rejected',
    });
    expect(calls).toEqual([]);
  });
});

describe('schema defaults of a charging profile', () => {
  const { stack_level: _omitted, ...unstacked } = {
    id: 9,
    stack_level: 0,
    purpose: 'tx_default',
    kind: 'relative',
    schedule: { unit: 'W', periods: [{ start_s: 0, limit: 11000 }] },
  };
  it('stack_level left out is 0 both through the API and dispatched straight through the bus', async () => {
    const { calls } = await charger('SCDEF', 'ocpp1.6', 'pdef');
    const params = { connector: 1, profile: unstacked };
    const queued = await rig.command('SCDEF', 'set_charging_profile', params);
    expect(queued).toMatchObject({ status: 'succeeded', params: { profile: { stack_level: 0 } } });
    // A plugin's own dispatch (the site limit's, say) passes the bus alone: the same default.
    const direct = await rig.collector.bus.dispatch('SCDEF', { name: 'set_charging_profile', params, timeout_s: 5 });
    expect(direct).toMatchObject({ status: 'succeeded' });
    expect(calls.map((c) => c.params.csChargingProfiles.stackLevel)).toEqual([0, 0]);
  });
});

describe('limits and needs a 2.0.1 charger reports', () => {
  it('NotifyChargingLimit, ClearedChargingLimit and NotifyEVChargingNeeds are stored and shown', async () => {
    const cp = await rig.charger('SC201', 'ocpp2.0.1', { password: 'p201' });
    const schedule = [{ id: 1, chargingRateUnit: 'W', chargingSchedulePeriod: [{ startPeriod: 0, limit: 6000 }] }];
    await cp.call('NotifyChargingLimit', {
      evseId: 1,
      chargingLimit: { chargingLimitSource: 'EMS', isGridCritical: true },
      chargingSchedule: schedule,
    });
    await cp.call('NotifyChargingLimit', { chargingLimit: { chargingLimitSource: 'SO' } });
    await cp.call('ClearedChargingLimit', { chargingLimitSource: 'SO' });
    const needs = {
      requestedEnergyTransfer: 'AC_three_phase',
      acChargingParameters: { energyAmount: 30000, evMinCurrent: 6, evMaxCurrent: 32, evMaxVoltage: 400 },
    };
    expect(await cp.call('NotifyEVChargingNeeds', { evseId: 1, chargingNeeds: needs })).toMatchObject({
      status: 'Rejected',
    });
    const shown = (await api('GET', '/chargers/SC201/smart-charging', 'viewer')).body;
    expect(shown.charging_limits).toMatchObject([
      { evse: 0, source: 'SO', grid_critical: null },
      { evse: 1, source: 'EMS', grid_critical: true, schedule, cleared_at: null },
    ]);
    expect(shown.charging_limits[0].cleared_at).not.toBeNull();
    expect(shown.ev_charging_needs).toMatchObject([{ evse: 1, needs }]);
  });
});
