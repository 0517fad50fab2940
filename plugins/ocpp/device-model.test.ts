import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryDirectory } from '../../collector/sdk/index.ts';
import { rpcError } from './protocol.ts';
import { recordingCharger, startRig, token, type Rig } from './testing.ts';

/**
 * The 2.0.1 device model through `POST /api/v1/commands` to real strict-mode ocpp-rpc chargers:
 * base reports and reports with criteria, NotifyReport parts assembled per requestId and stored,
 * `GET /api/v1/devices/:id/variables`, get_config / set_config split to the charger's
 * ItemsPerMessage and BytesPerMessage, and set_network_profile.
 */
const chargers = ['DM201', 'REPORT201', 'SPLIT201', 'BYTES201', 'KNOWN201', 'NET201', 'DM16', 'KEYS16', 'NOMAX16'];
const directory = chargers.reduce(
  (d, id) => d.add({ id, kind: 'charger' }, { type: 'ocpp_password', value: `pw-${id}` }),
  new MemoryDirectory(),
);
let rig: Rig;
beforeAll(async () => {
  rig = await startRig(directory, {}, 5, { commands: true });
});
afterAll(() => rig?.stop());

const charger = (id: string, answer: (action: string, params: any) => unknown) =>
  recordingCharger(rig, id, id.endsWith('16') ? 'ocpp1.6' : 'ocpp2.0.1', `pw-${id}`, answer);
const variablesOf = async (id: string, query = '') => {
  const res = await fetch(`${rig.url}/api/v1/devices/${id}/variables${query}`, {
    headers: { authorization: token('viewer') },
  });
  return { status: res.status, body: (await res.json()) as { variables: any[]; monitors: any[] } };
};
const datum = (component: object, name: string, value: string, extra: object = {}) => ({
  component,
  variable: { name },
  variableAttribute: [{ type: 'Actual', value, mutability: 'ReadWrite' }],
  variableCharacteristics: { dataType: 'integer', supportsMonitoring: true },
  ...extra,
});

describe('device model reports', () => {
  it('get_base_report asks for each report base; get_config without keys still asks for the full inventory', async () => {
    const { calls } = await charger('DM201', () => ({ status: 'Accepted' }));
    for (const report_base of ['FullInventory', 'ConfigurationInventory', 'SummaryInventory'])
      expect(await rig.command('DM201', 'get_base_report', { report_base })).toMatchObject({ status: 'succeeded' });
    expect(await rig.command('DM201', 'get_config')).toMatchObject({ status: 'succeeded' });
    expect(calls.map((c) => c.params.reportBase)).toEqual([
      'FullInventory',
      'ConfigurationInventory',
      'SummaryInventory',
      'FullInventory',
    ]);
    expect(new Set(calls.map((c) => c.action))).toEqual(new Set(['GetBaseReport']));
    expect(calls.every((c) => Number.isInteger(c.params.requestId))).toBe(true);
  });

  it('a bad report base is refused naming the parameter, before anything is sent; 1.6 has no base report', async () => {
    const bad = await rig.command('DM201', 'get_base_report', { report_base: 'Everything' });
    expect(bad).toMatchObject({ http: 400, error: { code: 'FP_VALIDATION' } });
    expect(JSON.stringify(bad.error)).toContain('report_base');
    const criteria = await rig.command('DM201', 'get_report', { criteria: ['Broken'] });
    expect(criteria).toMatchObject({ http: 400, error: { code: 'FP_VALIDATION' } });
    expect(JSON.stringify(criteria.error)).toContain('criteria');
    const { calls } = await charger('DM16', () => ({ status: 'Accepted' }));
    expect(await rig.command('DM16', 'get_base_report', {})).toMatchObject({
      status: 'rejected',
      error: expect.stringContaining('2.0.1 only'),
    });
    expect(calls).toEqual([]);
  });

  it('get_report sends its criteria; NotifyReport parts are stored once all are in, whatever their order', async () => {
    const { cp, calls } = await charger('REPORT201', () => ({
      status: calls.length === 1 ? 'EmptyResultSet' : 'Accepted',
    }));
    // Nothing matches: an answer, not a refusal.
    expect(await rig.command('REPORT201', 'get_report', { criteria: ['Problem'] })).toMatchObject({
      status: 'succeeded',
    });
    const asked = await rig.command('REPORT201', 'get_report', {
      components: [{ component: 'EVSE', evse: 1, connector: 1, variable: 'Power' }, { component: 'OCPPCommCtrlr' }],
      criteria: ['Available', 'Enabled'],
    });
    expect(asked).toMatchObject({ status: 'succeeded' });
    expect(calls[0].params).toMatchObject({ componentCriteria: ['Problem'] });
    const { requestId } = calls[1].params;
    expect(calls[1].params).toEqual({
      requestId,
      componentVariable: [
        { component: { name: 'EVSE', evse: { id: 1, connectorId: 1 } }, variable: { name: 'Power' } },
        { component: { name: 'OCPPCommCtrlr' } },
      ],
      componentCriteria: ['Available', 'Enabled'],
    });

    const part = (seqNo: number, tbc: boolean, reportData: object[]) =>
      cp.call('NotifyReport', { requestId, generatedAt: new Date().toISOString(), seqNo, tbc, reportData });
    // The last part first, then the first: the middle one is still missing.
    await part(2, false, [datum({ name: 'OCPPCommCtrlr' }, 'HeartbeatInterval', '300')]);
    await part(0, true, [
      {
        component: { name: 'EVSE', evse: { id: 1 } },
        variable: { name: 'Power' },
        variableAttribute: [
          { type: 'Actual', value: '7400', mutability: 'ReadOnly', persistent: false, constant: false },
          { type: 'MaxSet', value: '22000', mutability: 'ReadWrite' },
        ],
        variableCharacteristics: { unit: 'W', dataType: 'decimal', maxLimit: 22000, supportsMonitoring: true },
      },
    ]);
    expect((await variablesOf('REPORT201')).body.variables).toEqual([]);
    await part(1, true, [
      datum({ name: 'OCPPCommCtrlr' }, 'MessageTimeout', '30', {
        variable: { name: 'MessageTimeout', instance: 'Default' },
      }),
    ]);
    const shown = await variablesOf('REPORT201');
    expect(shown.status).toBe(200);
    expect(
      shown.body.variables.map((v) => [v.component, v.evse, v.variable, v.variable_instance, v.attribute, v.value]),
    ).toEqual([
      ['EVSE', 1, 'Power', null, 'Actual', '7400'],
      ['EVSE', 1, 'Power', null, 'MaxSet', '22000'],
      ['OCPPCommCtrlr', null, 'HeartbeatInterval', null, 'Actual', '300'],
      ['OCPPCommCtrlr', null, 'MessageTimeout', 'Default', 'Actual', '30'],
    ]);
    expect(shown.body.variables[0]).toMatchObject({
      mutability: 'ReadOnly',
      persistent: false,
      constant: false,
      characteristics: { unit: 'W', dataType: 'decimal', maxLimit: 22000, supportsMonitoring: true },
    });
    // Filtered by component and variable, case-insensitively as OCPP names compare.
    const filtered = await variablesOf('REPORT201', '?component=ocppcommctrlr&variable=heartbeatinterval');
    expect(filtered.body.variables.map((v) => v.variable)).toEqual(['HeartbeatInterval']);
    expect(rig.db.prepare('SELECT COUNT(*) FROM ocpp_report_parts').pluck().get()).toBe(0);
    // Behind the API's key check like every route.
    expect((await fetch(`${rig.url}/api/v1/devices/REPORT201/variables`)).status).toBe(401);
  });
});

/**
 * A charger as the spec has it: it says its limits when asked, and answers a request with more
 * items (or bytes) than it takes with OccurrenceConstraintViolation.
 */
function limitedCharger(limits: { getItems: number; setItems: number; bytes?: number }, refuse: string[] = []) {
  const values = new Map<string, string>([
    ['ItemsPerMessage/GetVariables', String(limits.getItems)],
    ['ItemsPerMessage/SetVariables', String(limits.setItems)],
    ...(limits.bytes ? ([['BytesPerMessage/GetVariables', String(limits.bytes)]] as const) : []),
    ...(limits.bytes ? ([['BytesPerMessage/SetVariables', String(limits.bytes)]] as const) : []),
  ]);
  return (action: string, params: any) => {
    const items = params.getVariableData ?? params.setVariableData;
    const max = action === 'GetVariables' ? limits.getItems : limits.setItems;
    if (items.length > max) throw rpcError('OccurrenceConstraintViolation', `at most ${max} items`);
    const size = JSON.stringify([2, '00000000-0000-0000-0000-000000000000', action, params]).length;
    if (limits.bytes && size > limits.bytes) throw rpcError('OccurrenceConstraintViolation', `over ${limits.bytes}`);
    if (action === 'GetVariables')
      return {
        getVariableResult: items.map((d: any) => {
          const known = values.get(`${d.variable.name}/${d.variable.instance}`);
          const value = d.component.name === 'DeviceDataCtrlr' ? known : `value-of-${d.variable.name}`;
          return value === undefined
            ? { attributeStatus: 'UnknownVariable', component: d.component, variable: d.variable }
            : { attributeStatus: 'Accepted', component: d.component, variable: d.variable, attributeValue: value };
        }),
      };
    return {
      setVariableResult: items.map((d: any) => ({
        attributeStatus: refuse.includes(d.variable.name) ? 'Rejected' : 'Accepted',
        component: d.component,
        variable: d.variable,
      })),
    };
  };
}
const keys = (n: number) => Array.from({ length: n }, (_, i) => `SampledDataCtrlr.Var${i}`);
const sizes = (calls: Array<{ action: string; params: any }>, action: string) =>
  calls.filter((c) => c.action === action).map((c) => (c.params.getVariableData ?? c.params.setVariableData).length);

describe('get_config and set_config in as many requests as the charger takes', () => {
  it("learns the charger's ItemsPerMessage once, splits, and merges the answers into one outcome", async () => {
    const { calls } = await charger('SPLIT201', limitedCharger({ getItems: 4, setItems: 2 }));
    const read = await rig.command('SPLIT201', 'get_config', { keys: keys(9) });
    expect(read).toMatchObject({ status: 'succeeded' });
    expect(read.result.getVariableResult.map((r: any) => r.variable.name)).toEqual(keys(9).map((k) => k.split('.')[1]));
    // One request for the limits, then 4 + 4 + 1.
    expect(sizes(calls, 'GetVariables')).toEqual([4, 4, 4, 1]);

    const values = Object.fromEntries(keys(5).map((k, i) => [k, String(i)]));
    expect(await rig.command('SPLIT201', 'set_config', { values })).toMatchObject({
      status: 'succeeded',
      result: { setVariableResult: expect.arrayContaining([expect.objectContaining({ attributeStatus: 'Accepted' })]) },
    });
    expect(sizes(calls, 'SetVariables')).toEqual([2, 2, 1]);
    // The limits were learnt at the first use: no second GetVariables for them.
    expect(sizes(calls, 'GetVariables')).toEqual([4, 4, 4, 1]);
    // What the charger answered is what we know now.
    const known = await variablesOf('SPLIT201', '?component=SampledDataCtrlr&variable=Var4');
    expect(known.body.variables).toMatchObject([{ attribute: 'Actual', value: '4' }]);
  });

  it('one refused key of many: the command is rejected naming it, the rest are set', async () => {
    const { calls } = await charger('SPLIT201', limitedCharger({ getItems: 4, setItems: 2 }, ['Var3']));
    const values = Object.fromEntries(keys(4).map((k) => [k, 'x']));
    const set = await rig.command('SPLIT201', 'set_config', { values });
    expect(set).toMatchObject({
      status: 'rejected',
      error: expect.stringContaining('SampledDataCtrlr.Var3: Rejected'),
    });
    expect(set.error).not.toContain('Var2');
    expect(sizes(calls, 'SetVariables')).toEqual([2, 2]);
  });

  it('splits by BytesPerMessage too', async () => {
    const { calls } = await charger('BYTES201', limitedCharger({ getItems: 50, setItems: 50, bytes: 600 }));
    const long = Array.from({ length: 8 }, (_, i) => `SampledDataCtrlr.AQuiteLongVariableName${i}`);
    expect(await rig.command('BYTES201', 'get_config', { keys: long })).toMatchObject({ status: 'succeeded' });
    const parts = calls.filter((c) => c.action === 'GetVariables').slice(1);
    expect(parts.length).toBeGreaterThan(1);
    expect(parts.flatMap((c) => c.params.getVariableData).length).toBe(8);
  });

  it('limits the charger reported in its device model are used without asking', async () => {
    const { cp, calls } = await charger('KNOWN201', limitedCharger({ getItems: 3, setItems: 3 }));
    const limit = (instance: string) =>
      datum({ name: 'DeviceDataCtrlr' }, 'ItemsPerMessage', '3', {
        variable: { name: 'ItemsPerMessage', instance },
      });
    const bytes = (instance: string) =>
      datum({ name: 'DeviceDataCtrlr' }, 'BytesPerMessage', '8000', {
        variable: { name: 'BytesPerMessage', instance },
      });
    await cp.call('NotifyReport', {
      requestId: 9,
      generatedAt: new Date().toISOString(),
      seqNo: 0,
      reportData: ['GetVariables', 'SetVariables'].flatMap((i) => [limit(i), bytes(i)]),
    });
    expect(await rig.command('KNOWN201', 'get_config', { keys: keys(7) })).toMatchObject({ status: 'succeeded' });
    expect(sizes(calls, 'GetVariables')).toEqual([3, 3, 1]);
  });

  it('1.6: get_config of many keys in requests of GetConfigurationMaxKeys (8 when not said), merged', async () => {
    /** A 1.6 charger holding Key0… and GetConfigurationMaxKeys `max`; more keys at once than that: refused. */
    const keysCharger = (max?: number) => (_action: string, p: any) => {
      const asked: string[] = p.key;
      if (asked.length > (max ?? 8)) throw rpcError('OccurrenceConstraintViolation', `at most ${max} keys`);
      const value = (key: string) =>
        key === 'GetConfigurationMaxKeys'
          ? max === undefined
            ? undefined
            : String(max)
          : key.startsWith('Key')
            ? '1'
            : undefined;
      const known = asked.filter((k) => value(k) !== undefined);
      const unknownKey = asked.filter((k) => value(k) === undefined);
      return {
        configurationKey: known.map((key) => ({ key, readonly: true, value: value(key) })),
        ...(unknownKey.length ? { unknownKey } : {}),
      };
    };
    const counts = (calls: Array<{ params: any }>) => calls.map((c) => c.params.key.length);
    const wanted = [...Array.from({ length: 6 }, (_, i) => `Key${i}`), 'Nope'];
    const limited = await charger('KEYS16', keysCharger(3));
    const read = await rig.command('KEYS16', 'get_config', { keys: wanted });
    expect(read).toMatchObject({ status: 'succeeded', result: { unknownKey: ['Nope'] } });
    expect(read.result.configurationKey.map((k: any) => k.key)).toEqual(wanted.slice(0, 6));
    expect(limited.calls[0].params).toEqual({ key: ['GetConfigurationMaxKeys'] });
    expect(counts(limited.calls)).toEqual([1, 3, 3, 1]);
    // Learnt once per connection.
    expect(await rig.command('KEYS16', 'get_config', { keys: wanted.slice(0, 2) })).toMatchObject({
      status: 'succeeded',
    });
    expect(counts(limited.calls)).toEqual([1, 3, 3, 1, 2]);

    const silent = await charger('NOMAX16', keysCharger());
    const many = Array.from({ length: 10 }, (_, i) => `Key${i}`);
    expect(await rig.command('NOMAX16', 'get_config', { keys: many })).toMatchObject({ status: 'succeeded' });
    expect(counts(silent.calls)).toEqual([1, 8, 2]);
  });

  it('1.6: set_config with several values sends one ChangeConfiguration each and merges', async () => {
    const { calls } = await charger('DM16', (_action, p) => ({
      status: p.key === 'MeterValueSampleInterval' ? 'Rejected' : 'Accepted',
    }));
    const set = await rig.command('DM16', 'set_config', {
      values: { HeartbeatInterval: '60', MeterValueSampleInterval: '10', ConnectionTimeOut: '30' },
    });
    expect(set).toMatchObject({
      status: 'rejected',
      error: expect.stringContaining('MeterValueSampleInterval: Rejected'),
    });
    expect(calls.map((c) => c.params.key)).toEqual([
      'HeartbeatInterval',
      'MeterValueSampleInterval',
      'ConnectionTimeOut',
    ]);
    const guarded = await rig.command('DM16', 'set_config', {
      values: { HeartbeatInterval: '60', AuthorizationKey: 'ab' },
    });
    expect(guarded).toMatchObject({ status: 'rejected', error: expect.stringContaining('set_security_profile') });
    expect(calls).toHaveLength(3);
  });
});

describe('set_network_profile', () => {
  const profile = {
    slot: 1,
    csms_url: 'wss://csms.example.com/ocpp/',
    security_profile: 2,
    interface: 'Wired0',
    vpn: { server: 'vpn.example.com', user: 'cp', password: 'secret', key: 'k', type: 'IKEv2' },
  };

  it('stores a profile in a slot (2.0.1); a loopback CSMS URL, a bad interface and 1.6 are refused', async () => {
    const { calls } = await charger('NET201', () => ({ status: 'Accepted' }));
    expect(await rig.command('NET201', 'set_network_profile', profile)).toMatchObject({ status: 'succeeded' });
    expect(calls[0]).toEqual({
      action: 'SetNetworkProfile',
      params: {
        configurationSlot: 1,
        connectionData: {
          ocppVersion: 'OCPP20',
          ocppTransport: 'JSON',
          ocppCsmsUrl: 'wss://csms.example.com/ocpp/',
          messageTimeout: 30,
          securityProfile: 2,
          ocppInterface: 'Wired0',
          vpn: profile.vpn,
        },
      },
    });
    expect(
      await rig.command('NET201', 'set_network_profile', { ...profile, csms_url: 'ws://127.0.0.1:9000/ocpp/' }),
    ).toMatchObject({ status: 'rejected', error: expect.stringContaining('csms_url') });
    const bad = await rig.command('NET201', 'set_network_profile', { ...profile, interface: 'Carrier-Pigeon' });
    expect(bad).toMatchObject({ http: 400, error: { code: 'FP_VALIDATION' } });
    expect(JSON.stringify(bad.error)).toContain('interface');
    expect(calls).toHaveLength(1);
    const v16 = await charger('DM16', () => ({ status: 'Accepted' }));
    expect(await rig.command('DM16', 'set_network_profile', profile)).toMatchObject({ status: 'rejected' });
    expect(v16.calls).toEqual([]);
  });
});
