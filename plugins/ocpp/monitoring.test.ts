import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { load } from 'js-yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { evaluateRule } from '../../alerting/evaluate.ts';
import { MemoryDirectory } from '../../collector/sdk/index.ts';
import { REPO_ROOT } from '../../dashboards/build.ts';
import { PROVISIONING_DIR } from '../../dashboards/provisioning.ts';
import { useInfluxd } from '../../test/helpers/influxd.ts';
import { eventually, intoInfluxd, recordingCharger, startRig, token, type Rig } from './testing.ts';

/**
 * 2.0.1 monitoring through `POST /api/v1/commands` to real strict-mode ocpp-rpc chargers: monitors
 * set, cleared and reported (stored as the charger holds them), the monitoring base and level,
 * and NotifyEvent written as ocpp_event with its monitor's severity, which the alert rule
 * fp-charger-severe-event pages for at the configured level (here 4) and not one above, read
 * from the generated rules file and evaluated on a real influxd.
 */
const chargers = ['MON201', 'SPLITMON201', 'REP201', 'EVT-AT', 'EVT-ABOVE', 'MON16'];
const directory = chargers.reduce(
  (d, id) => d.add({ id, kind: 'charger', site: 'lab' }, { type: 'ocpp_password', value: `pw-${id}` }),
  new MemoryDirectory(),
);
const influx = useInfluxd();
let rig: Rig;
beforeAll(async () => {
  rig = await startRig(directory, { event_alert_severity: 4 }, 5, { commands: true });
});
afterAll(() => rig?.stop());

const charger = (id: string, answer: (action: string, params: any) => unknown) =>
  recordingCharger(rig, id, id.endsWith('16') ? 'ocpp1.6' : 'ocpp2.0.1', `pw-${id}`, answer);
const monitorsOf = async (id: string, query = '') => {
  const res = await fetch(`${rig.url}/api/v1/devices/${id}/variables${query}`, {
    headers: { authorization: token('viewer') },
  });
  return ((await res.json()) as { monitors: any[] }).monitors;
};
const temperature = { component: { name: 'TempSensor', evse: { id: 1 } }, variable: { name: 'Temperature' } };
const setAnswer = (params: any) => ({
  setMonitoringResult: params.setMonitoringData.map((d: any, i: number) => ({
    ...(d.variable.name === 'Temperature' ? { id: 11 + i, status: 'Accepted' } : { status: 'UnknownVariable' }),
    type: d.type,
    severity: d.severity,
    component: d.component,
    variable: d.variable,
  })),
});

/** A GetVariables answer with the MonitoringCtrlr limits given (`ItemsPerMessage/SetVariableMonitoring`). */
const limitsAnswer = (params: any, known: Record<string, string>) => ({
  getVariableResult: params.getVariableData.map((d: any) => {
    const value = known[`${d.variable.name}/${d.variable.instance}`];
    return value === undefined
      ? { attributeStatus: 'UnknownVariable', component: d.component, variable: d.variable }
      : { attributeStatus: 'Accepted', component: d.component, variable: d.variable, attributeValue: value };
  }),
});

describe('monitors', () => {
  it('set_variable_monitoring installs monitors; those the charger accepted are stored, the rest named', async () => {
    const { calls } = await charger('MON201', (action, p) => {
      if (action === 'GetVariables') return limitsAnswer(p, {});
      if (action === 'SetVariableMonitoring') return setAnswer(p);
      if (action === 'ClearVariableMonitoring')
        return {
          clearMonitoringResult: p.id.map((id: number) => ({ id, status: id === 11 ? 'Accepted' : 'NotFound' })),
        };
      return { status: 'Accepted' };
    });
    const monitors = [
      { component: 'TempSensor', evse: 1, variable: 'Temperature', type: 'UpperThreshold', value: 70, severity: 2 },
      { component: 'TempSensor', evse: 1, variable: 'Humidity', type: 'Delta', value: 5, severity: 6 },
    ];
    const set = await rig.command('MON201', 'set_variable_monitoring', { monitors });
    expect(set).toMatchObject({ status: 'rejected', error: expect.stringContaining('Humidity: UnknownVariable') });
    // First the charger's MonitoringCtrlr limits (none said: the default, both in one request).
    expect(calls.shift()!.params.getVariableData[0].component).toEqual({ name: 'MonitoringCtrlr' });
    expect(calls[0]).toEqual({
      action: 'SetVariableMonitoring',
      params: {
        setMonitoringData: [
          { value: 70, type: 'UpperThreshold', severity: 2, ...temperature },
          {
            value: 5,
            type: 'Delta',
            severity: 6,
            component: temperature.component,
            variable: { name: 'Humidity' },
          },
        ],
      },
    });
    expect(await monitorsOf('MON201')).toMatchObject([
      {
        id: 11,
        component: 'TempSensor',
        evse: 1,
        variable: 'Temperature',
        type: 'UpperThreshold',
        value: 70,
        severity: 2,
        source: 'set',
      },
    ]);

    expect(await rig.command('MON201', 'clear_variable_monitoring', { ids: [11, 12] })).toMatchObject({
      status: 'succeeded',
    });
    expect(calls[1]).toEqual({ action: 'ClearVariableMonitoring', params: { id: [11, 12] } });
    expect(await monitorsOf('MON201')).toEqual([]);

    expect(await rig.command('MON201', 'set_monitoring_base', { base: 'FactoryDefault' })).toMatchObject({
      status: 'succeeded',
    });
    expect(await rig.command('MON201', 'set_monitoring_level', { severity: 3 })).toMatchObject({ status: 'succeeded' });
    expect(calls.slice(2)).toEqual([
      { action: 'SetMonitoringBase', params: { monitoringBase: 'FactoryDefault' } },
      { action: 'SetMonitoringLevel', params: { severity: 3 } },
    ]);
  });

  it("many monitors are set and cleared in as many requests as the charger's ItemsPerMessage takes", async () => {
    let nextId = 100;
    const { calls } = await charger('SPLITMON201', (action, p) => {
      if (action === 'GetVariables')
        return limitsAnswer(p, {
          'ItemsPerMessage/SetVariableMonitoring': '2',
          'ItemsPerMessage/ClearVariableMonitoring': '2',
        });
      if ((p.setMonitoringData ?? p.id).length > 2) throw new Error('OccurrenceConstraintViolation');
      if (action === 'ClearVariableMonitoring')
        return { clearMonitoringResult: p.id.map((id: number) => ({ id, status: 'Accepted' })) };
      return { setMonitoringResult: setAnswer(p).setMonitoringResult.map((r: any) => ({ ...r, id: nextId++ })) };
    });
    const monitors = [70, 75, 80, 85, 90].map((value) => ({
      component: 'TempSensor',
      evse: 1,
      variable: 'Temperature',
      type: 'UpperThreshold',
      value,
      severity: 2,
    }));
    expect(await rig.command('SPLITMON201', 'set_variable_monitoring', { monitors })).toMatchObject({
      status: 'succeeded',
      result: { setMonitoringResult: monitors.map(() => expect.objectContaining({ status: 'Accepted' })) },
    });
    expect(calls.map((c) => c.action)).toEqual(['GetVariables', ...Array(3).fill('SetVariableMonitoring')]);
    expect(calls.slice(1).map((c) => c.params.setMonitoringData.map((d: any) => d.value))).toEqual([
      [70, 75],
      [80, 85],
      [90],
    ]);
    // Each part's answer stored against its own monitors: every id with the value it was set to.
    const stored = await monitorsOf('SPLITMON201');
    expect(stored.map((m) => [m.id, m.value])).toEqual(monitors.map((m, i) => [100 + i, m.value]));

    // Cleared the same way, by MonitoringCtrlr ItemsPerMessage instance ClearVariableMonitoring.
    const ids = stored.map((m) => m.id as number);
    expect(await rig.command('SPLITMON201', 'clear_variable_monitoring', { ids })).toMatchObject({
      status: 'succeeded',
    });
    const clears = calls.filter((c) => c.action === 'ClearVariableMonitoring').map((c) => c.params.id);
    expect(clears).toEqual([ids.slice(0, 2), ids.slice(2, 4), ids.slice(4)]);
    expect(calls.filter((c) => c.action === 'GetVariables')).toHaveLength(1);
    expect(await monitorsOf('SPLITMON201')).toEqual([]);
  });

  it('bad parameters are refused naming them, before anything is sent; 1.6 has no monitoring', async () => {
    const { calls } = await charger('MON201', () => ({ status: 'Accepted' }));
    const cases: Array<[string, object, string]> = [
      ['set_monitoring_base', { base: 'Everything' }, 'base'],
      ['set_monitoring_level', { severity: 10 }, 'severity'],
      ['get_monitoring_report', { criteria: ['LoudMonitoring'] }, 'criteria'],
      [
        'set_variable_monitoring',
        { monitors: [{ component: 'EVSE', variable: 'Power', type: 'Sometimes', value: 1, severity: 1 }] },
        'type',
      ],
      ['clear_variable_monitoring', { ids: [] }, 'ids'],
    ];
    for (const [name, params, field] of cases) {
      const bad = await rig.command('MON201', name, params);
      expect(bad, name).toMatchObject({ http: 400, error: { code: 'FP_VALIDATION' } });
      expect(JSON.stringify(bad.error), name).toContain(field);
    }
    expect(calls).toEqual([]);
    const v16 = await charger('MON16', () => ({ status: 'Accepted' }));
    for (const [name, params] of [
      ['set_monitoring_level', { severity: 3 }],
      ['get_monitoring_report', {}],
    ] as const)
      expect(await rig.command('MON16', name, params), name).toMatchObject({
        status: 'rejected',
        error: expect.stringContaining('2.0.1 only'),
      });
    expect(v16.calls).toEqual([]);
  });

  it('get_monitoring_report: the NotifyMonitoringReport parts are stored once the last is in', async () => {
    const { cp, calls } = await charger('REP201', () => ({ status: 'Accepted' }));
    expect(
      await rig.command('REP201', 'get_monitoring_report', {
        criteria: ['ThresholdMonitoring', 'DeltaMonitoring'],
        components: [{ component: 'TempSensor' }],
      }),
    ).toMatchObject({ status: 'succeeded' });
    const { requestId } = calls[0].params;
    expect(calls[0].params).toEqual({
      requestId,
      componentVariable: [{ component: { name: 'TempSensor' } }],
      monitoringCriteria: ['ThresholdMonitoring', 'DeltaMonitoring'],
    });
    const part = (seqNo: number, tbc: boolean, id: number, type: string) =>
      cp.call('NotifyMonitoringReport', {
        requestId,
        seqNo,
        tbc,
        generatedAt: new Date().toISOString(),
        monitor: [{ ...temperature, variableMonitoring: [{ id, transaction: false, value: 80, type, severity: 3 }] }],
      });
    await part(0, true, 1, 'UpperThreshold');
    expect(await monitorsOf('REP201')).toEqual([]);
    await part(1, false, 2, 'Delta');
    expect((await monitorsOf('REP201', '?variable=temperature')).map((m) => [m.id, m.type, m.source])).toEqual([
      [1, 'UpperThreshold', 'report'],
      [2, 'Delta', 'report'],
    ]);
  });
});

describe('NotifyEvent', () => {
  it('is written as ocpp_event with its monitor severity; the alert rule fires at the configured level, not one above', async () => {
    const report = (cp: any, severity: number) =>
      cp.call('NotifyMonitoringReport', {
        requestId: 1,
        seqNo: 0,
        generatedAt: new Date().toISOString(),
        monitor: [
          {
            ...temperature,
            variableMonitoring: [{ id: 5, transaction: false, value: 80, type: 'UpperThreshold', severity }],
          },
        ],
      });
    const event = (cp: any, extra: object = {}) =>
      cp.call('NotifyEvent', {
        generatedAt: new Date().toISOString(),
        seqNo: 0,
        eventData: [
          {
            eventId: 1,
            timestamp: new Date().toISOString(),
            trigger: 'Alerting',
            actualValue: '85',
            techCode: 'T-HOT',
            variableMonitoringId: 5,
            eventNotificationType: 'CustomMonitor',
            ...temperature,
            ...extra,
          },
        ],
      });
    const at = await rig.charger('EVT-AT', 'ocpp2.0.1', { password: 'pw-EVT-AT' });
    const above = await rig.charger('EVT-ABOVE', 'ocpp2.0.1', { password: 'pw-EVT-ABOVE' });
    await report(at, 4);
    await report(above, 5);
    await event(at);
    await event(above);
    // An event of a monitor we know nothing of: no severity, never alerting.
    await event(above, { eventId: 2, variableMonitoringId: 99, trigger: 'Delta' });

    const lines = () => rig.lines('ocpp_event');
    expect(await eventually(() => lines().length === 3)).toBe(true);
    const of = (device: string) => lines().filter((l) => l.includes(`device=${device}`));
    expect(of('EVT-AT')[0]).toMatch(/component=TempSensor,.*evse=1,.*variable=Temperature/);
    expect(of('EVT-AT')[0]).toMatch(
      /severity=4i,alerting=true,trigger="Alerting",event_type="CustomMonitor",actual_value="85"/,
    );
    expect(of('EVT-ABOVE')).toEqual([
      expect.stringMatching(/severity=5i,alerting=false/),
      expect.stringMatching(/ alerting=false,trigger="Delta"/),
    ]);
    // An Alerting event is still a charger error, as before.
    expect(rig.lines('ocpp_error').filter((l) => l.includes('code="TempSensor.Temperature"'))).toHaveLength(2);

    const rules = (
      load(await readFile(path.join(REPO_ROOT, PROVISIONING_DIR, 'alerting/rules.yaml'), 'utf8')) as {
        groups: { rules: Array<{ uid: string }> }[];
      }
    ).groups.flatMap((g) => g.rules);
    const rule = rules.find((r) => r.uid === 'fp-charger-severe-event');
    expect(rule).toBeDefined();
    const db = await intoInfluxd(influx, rig.lines());
    const evaluation = await evaluateRule(rule as never, influx.client(db), Date.now() + 1000);
    expect(evaluation.firing.map((f) => f.device)).toEqual(['EVT-AT']);
  });
});
