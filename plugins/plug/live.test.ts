import { type AddressInfo } from 'node:net';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeviceUnreachable, MemoryDirectory } from '../../collector/sdk/index.ts';
import { startPluginRuntime, type PluginRuntime } from '../../test/helpers/plugin-runtime.ts';
import plugPlugin from './index.ts';
import { ConsolePlug, runTasmota, shellyServer } from './simulated-plug.ts';
import { TestBroker } from './testing.ts';

// Real components end to end: Mosquitto from Debian on a free loopback port, the simulator's
// Tasmota clients and a simulated Shelly HTTP server, the real runtime with its command bus.
let broker: TestBroker;
let brokerUrl: string;
let rt: PluginRuntime;
const shellyPlug = new ConsolePlug(120);
const shelly = shellyServer(shellyPlug);
const tasmotaPlug = new ConsolePlug(150);
const simStop = new AbortController();
let sim: Promise<void>;
const received: string[] = [];

beforeAll(async () => {
  broker = await TestBroker.start();
  brokerUrl = broker.url;

  await new Promise<void>((resolve) => shelly.listen(0, '127.0.0.1', resolve));
  const shellyAddress = `127.0.0.1:${(shelly.address() as AddressInfo).port}`;
  rt = await startPluginRuntime({
    plugins: [plugPlugin],
    pluginConfig: {
      plug: {
        allowed_networks: ['127.0.0.0/8'],
        shelly: { poll_interval_s: 3600, devices: [{ id: 'shelly-sim', address: shellyAddress }] },
        tasmota: { broker_url: brokerUrl, tele_period_s: 10 },
      },
    },
    directory: new MemoryDirectory(new Set(['plug'])),
  });
  sim = runTasmota(tasmotaPlug, 'tasmota_A1', brokerUrl, 1, simStop.signal, { count: (e) => void received.push(e) });
});

afterAll(async () => {
  simStop.abort();
  await sim;
  await rt?.stop();
  shelly.closeAllConnections();
  await new Promise((resolve) => shelly.close(resolve));
  await broker?.stop();
});

const linesOf = (measurement: string, device: string) =>
  rt.lines(measurement).filter((l) => l.includes(`device=${device},`) || l.includes(`device=${device} `));

describe('plug plugin, live', () => {
  it('writes Tasmota telemetry from tele/STATE and tele/SENSOR', async () => {
    await expect.poll(() => linesOf('plug_power', 'tasmota_A1').length, { timeout: 10_000 }).toBeGreaterThan(0);
    await expect
      .poll(() => linesOf('plug_state', 'tasmota_A1').some((l) => /rssi_dbm=-\d+/.test(l) && /uptime_s=\d+i/.test(l)))
      .toBe(true);
    expect(linesOf('plug_power', 'tasmota_A1')[0]).toMatch(
      /protocol=tasmota.* power_w=[\d.]+,energy_wh=[\d.]+,voltage_v=[\d.]+/,
    );
    expect(rt.collector.liveness.state('tasmota_A1')?.state).toBe('online');
  });

  it('switches a Tasmota plug through the command bus: power_off, power_cycle', async () => {
    await expect.poll(() => rt.collector.bus.isAttached('tasmota_A1')).toBe(true);
    const off = await rt.collector.bus.dispatch('tasmota_A1', { name: 'power_off' });
    expect(off).toMatchObject({ status: 'succeeded', result: { on: false } });
    expect(tasmotaPlug.on).toBe(false);
    const cycle = await rt.collector.bus.dispatch('tasmota_A1', { name: 'power_cycle', params: { off_s: 1 } });
    expect(cycle).toMatchObject({ status: 'succeeded', result: { on: true, off_s: 1 } });
    expect(tasmotaPlug.on).toBe(true);
    expect(linesOf('plug_state', 'tasmota_A1').some((l) => / on=0i/.test(l))).toBe(true);
  });

  it('counts malformed messages and a plug that never answers times out, without disturbing others', async () => {
    const rogue = await mqtt.connectAsync(brokerUrl, { clientId: 'rogue' });
    await rogue.publishAsync('tele/broken/STATE', 'not json');
    await rogue.publishAsync('tele/broken/LWT', 'Maybe');
    await expect.poll(() => rt.events('plug', 'tasmota_malformed')).toBe(2);
    await rogue.publishAsync('tele/mute_plug/LWT', 'Online');
    await expect.poll(() => rt.collector.bus.isAttached('mute_plug')).toBe(true);
    const mute = await rt.collector.bus.dispatch('mute_plug', { name: 'power_on', timeout_s: 1 });
    expect(mute.status).toBe('timed_out');
    expect((await rt.collector.bus.dispatch('tasmota_A1', { name: 'power_on' })).status).toBe('succeeded');
    await rogue.endAsync();
  });

  it('polls a simulated Shelly plug over real HTTP and switches it', async () => {
    await expect.poll(() => linesOf('plug_power', 'shelly-sim').length).toBeGreaterThan(0);
    expect(linesOf('plug_power', 'shelly-sim')[0]).toMatch(
      /protocol=shelly.* power_w=[\d.]+,energy_wh=[\d.]+,voltage_v=[\d.]+,current_a=[\d.]+,power_factor=0\.93,temperature_c=38\.5/,
    );
    const off = await rt.collector.bus.dispatch('shelly-sim', { name: 'power_off' });
    expect(off).toMatchObject({ status: 'succeeded', result: { on: false, was_on: true } });
    expect(shellyPlug.on).toBe(false);
  });

  // The simulator publishes Offline itself when switched off; the broker's will on a dropped line
  // is tested in tasmota-broker.test.ts.
  it('marks a Tasmota plug offline on an Offline LWT and stops routing commands to it', async () => {
    simStop.abort();
    await sim;
    await expect.poll(() => rt.collector.liveness.state('tasmota_A1')?.state).toBe('offline');
    await expect(rt.collector.bus.dispatch('tasmota_A1', { name: 'power_on' })).rejects.toThrow(DeviceUnreachable);
    expect(received).toContain('tasmota_commands');
  });
});
