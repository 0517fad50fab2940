import { createServer, connect, type AddressInfo, type Socket } from 'node:net';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryDirectory } from '../../collector/sdk/index.ts';
import { startPluginRuntime, type PluginRuntime } from '../../test/helpers/plugin-runtime.ts';
import plugPlugin from './index.ts';
import { ConsolePlug, runTasmota } from './simulated-plug.ts';
import { TestBroker } from './testing.ts';

// The broker's side of Tasmota failures, all real: Mosquitto, the simulator's Tasmota clients,
// the runtime. A plug that loses power says nothing; the broker publishes its will. A broker that
// restarts loses every session; the plugin reconnects, subscribes again and hears the plugs.

/** A TCP relay between a plug and the broker: `cut()` drops the line as a power loss does. */
class Line {
  private readonly sockets = new Set<Socket>();
  private readonly server = createServer((plugSide) => {
    const brokerSide = connect(this.brokerPort, '127.0.0.1');
    for (const s of [plugSide, brokerSide]) {
      this.sockets.add(s);
      s.on('error', () => {});
      s.on('close', () => this.sockets.delete(s));
    }
    plugSide.pipe(brokerSide).pipe(plugSide);
  });

  constructor(private readonly brokerPort: number) {}

  async open(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `mqtt://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** No DISCONNECT packet, no more connections: the plug is gone until the test ends. */
  cut(): void {
    this.server.close();
    for (const s of this.sockets) s.destroy();
  }
}

let broker: TestBroker;
let rt: PluginRuntime;
let line: Line;
const simStop = new AbortController();
const sims: Promise<void>[] = [];
const cutPlug = new ConsolePlug(150);
const steadyPlug = new ConsolePlug(150);
/** What the simulator says about tasmota_C1 (its status line's `up` count): up now or not. */
const steadyUp: boolean[] = [];

beforeAll(async () => {
  broker = await TestBroker.start();
  rt = await startPluginRuntime({
    plugins: [plugPlugin],
    // Shelly polled hourly: liveness would wait two hours of silence, so offline here comes only from an LWT.
    pluginConfig: {
      plug: { shelly: { poll_interval_s: 3600 }, tasmota: { broker_url: broker.url, tele_period_s: 10 } },
    },
    directory: new MemoryDirectory(new Set(['plug'])),
  });
  line = new Line(broker.port);
  const throughLine = await line.open();
  sims.push(runTasmota(cutPlug, 'tasmota_B1', throughLine, 1, simStop.signal, { count: () => {} }));
  sims.push(
    runTasmota(steadyPlug, 'tasmota_C1', broker.url, 1, simStop.signal, { count: () => {} }, (now) =>
      steadyUp.push(now),
    ),
  );
});

afterAll(async () => {
  simStop.abort();
  await Promise.all(sims);
  await rt?.stop();
  await broker?.stop();
});

const linesOf = (measurement: string, device: string) =>
  rt.lines(measurement).filter((l) => l.includes(`device=${device},`));
const mqttConnected = async () =>
  (await rt.metrics.pluginGauge.get()).values.find(
    (v) => v.labels.plugin === 'plug' && v.labels.name === 'mqtt_connected',
  )?.value;

describe('plug plugin: Tasmota when the line or the broker goes away', () => {
  it('a plug whose connection drops without a word goes offline on the will the broker publishes', async () => {
    await expect.poll(() => rt.collector.bus.isAttached('tasmota_B1'), { timeout: 10_000 }).toBe(true);
    expect(rt.collector.liveness.state('tasmota_B1')?.state).toBe('online');
    const watcher = await mqtt.connectAsync(broker.url, { clientId: 'lwt-watcher' });
    const lwt: string[] = [];
    watcher.on('message', (_t, payload) => void lwt.push(payload.toString()));
    await watcher.subscribeAsync('tele/tasmota_B1/LWT', { qos: 1 });
    await expect.poll(() => lwt).toEqual(['Online']); // the retained birth message

    line.cut(); // the simulator is still running: it never says Offline itself
    await expect.poll(() => lwt, { timeout: 10_000 }).toEqual(['Online', 'Offline']);
    await expect.poll(() => rt.collector.liveness.state('tasmota_B1')?.state).toBe('offline');
    expect(rt.collector.bus.isAttached('tasmota_B1')).toBe(false);
    expect(simStop.signal.aborted).toBe(false);
    // The other plug on the same broker is untouched.
    expect(rt.collector.liveness.state('tasmota_C1')?.state).toBe('online');
    await watcher.endAsync();
  });

  it('reconnects after the broker restarts on the same port, then hears telemetry and switches plugs again', async () => {
    await expect.poll(() => linesOf('plug_power', 'tasmota_C1').length, { timeout: 10_000 }).toBeGreaterThan(0);
    await broker.pause();
    await expect.poll(mqttConnected, { timeout: 10_000 }).toBe(0);
    await expect.poll(() => steadyUp, { timeout: 10_000 }).toEqual([true, false]);
    const before = linesOf('plug_power', 'tasmota_C1').length;

    await broker.resume();
    // The plugin retries every 5 s; the restarted broker has no sessions, so it must subscribe anew.
    await expect.poll(mqttConnected, { timeout: 20_000 }).toBe(1);
    // The simulated plug reconnects too, with backoff (up to 30 s between attempts).
    await expect.poll(() => steadyUp, { timeout: 40_000 }).toEqual([true, false, true]);
    await expect.poll(() => linesOf('plug_power', 'tasmota_C1').length, { timeout: 20_000 }).toBeGreaterThan(before);
    await expect.poll(() => rt.collector.bus.isAttached('tasmota_C1')).toBe(true);
    const off = await rt.collector.bus.dispatch('tasmota_C1', { name: 'power_off' });
    expect(off).toMatchObject({ status: 'succeeded', result: { on: false } });
    expect(steadyPlug.on).toBe(false);
  });
});
