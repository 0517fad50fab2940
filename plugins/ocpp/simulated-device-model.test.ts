import { afterAll, beforeAll, expect, it } from 'vitest';
import { MemoryDirectory } from '../../collector/sdk/index.ts';
import simulator from './simulator.ts';
import { eventually, startRig, token, type Rig } from './testing.ts';

/**
 * The 2.0.1 chargers of `fleetpulse simulate --ocpp` answer the device model and monitoring
 * commands as a charger would, through `POST /api/v1/commands`: a base report in several parts,
 * GetVariables refused above 4 items (so get_config must split), monitors it keeps, and
 * NotifyEvent when a monitored value crosses its threshold.
 */
const SIM = 'DMS-00002';
const directory = new MemoryDirectory().add({ id: 'DMS-00001', kind: 'charger' }).add({ id: SIM, kind: 'charger' });
let rig: Rig;
beforeAll(async () => {
  rig = await startRig(directory, { password_required: false }, 5, { commands: true });
});
afterAll(() => rig?.stop());

const known = async (query = '') => {
  const res = await fetch(`${rig.url}/api/v1/devices/${SIM}/variables${query}`, {
    headers: { authorization: token('viewer') },
  });
  return (await res.json()) as { variables: any[]; monitors: any[] };
};

it('a simulated 2.0.1 charger reports its device model in parts, takes split requests, keeps monitors and raises events', async () => {
  const stop = new AbortController();
  const run = simulator.run({
    server: rig.url,
    count: 2,
    options: { prefix: 'DMS-', meter_interval_s: '1', plug_in_chance: '0', connectors: '1' },
    progress: { update: () => {}, count: () => {} },
    signal: stop.signal,
  });
  try {
    const connected = async () => (await rig.command(SIM, 'get_base_report', {})).status === 'succeeded';
    expect(await eventually(connected, 200)).toBe(true);
    // More variables than one part holds: stored once every part is in.
    expect(await eventually(async () => (await known()).variables.length > 10)).toBe(true);
    const limits = await known('?component=DeviceDataCtrlr&variable=ItemsPerMessage');
    expect(limits.variables.map((v) => [v.variable_instance, v.value])).toContainEqual(['GetVariables', '4']);

    const keys = [
      'OCPPCommCtrlr.HeartbeatInterval',
      'OCPPCommCtrlr.NetworkConfigurationPriority',
      'SampledDataCtrlr.TxUpdatedInterval',
      'ChargingStation.Problem',
      'TempSensor.Temperature',
      'DeviceDataCtrlr.ItemsPerMessage.SetVariables',
    ];
    const read = await rig.command(SIM, 'get_config', { keys });
    expect(read).toMatchObject({ status: 'succeeded' });
    expect(read.result.getVariableResult.map((r: any) => r.attributeValue)).toEqual([
      '300',
      '0',
      '60',
      'false',
      '25',
      '4',
    ]);

    const monitor = {
      component: 'TempSensor',
      evse: 1,
      variable: 'Temperature',
      type: 'UpperThreshold',
      value: 50,
      severity: 2,
    };
    expect(await rig.command(SIM, 'set_variable_monitoring', { monitors: [monitor] })).toMatchObject({
      status: 'succeeded',
    });
    expect(await rig.command(SIM, 'set_config', { key: 'TempSensor.Temperature', value: '65' })).toMatchObject({
      status: 'succeeded',
    });
    const events = () => rig.lines('ocpp_event').filter((l) => l.includes(`device=${SIM}`));
    expect(await eventually(() => events().length === 1)).toBe(true);
    expect(events()[0]).toMatch(
      /severity=2i,alerting=true,trigger="Alerting",event_type="CustomMonitor",actual_value="65"/,
    );

    expect(await rig.command(SIM, 'get_monitoring_report', { criteria: ['ThresholdMonitoring'] })).toMatchObject({
      status: 'succeeded',
    });
    // Its factory monitor (id 1) beside ours, from the report.
    expect(await eventually(async () => (await known()).monitors.some((m) => m.id === 1))).toBe(true);
    const ours = (await known()).monitors.find((m) => m.id !== 1)!;
    expect(ours).toMatchObject({ variable: 'Temperature', value: 50, severity: 2 });
    expect(await rig.command(SIM, 'clear_variable_monitoring', { ids: [ours.id] })).toMatchObject({
      status: 'succeeded',
    });
    expect((await known()).monitors.map((m) => m.id)).toEqual([1]);
    expect(
      await rig.command(SIM, 'set_network_profile', {
        slot: 1,
        csms_url: 'wss://csms.example.com/ocpp/',
        security_profile: 2,
        interface: 'Wired0',
      }),
    ).toMatchObject({ status: 'succeeded' });
  } finally {
    stop.abort();
    await run;
  }
});
