import { createServer, type Server } from 'node:http';
import mqtt from 'mqtt';
import type { SimulatorProgress } from '../../collector/sdk/index.ts';

// The simulated plugs themselves (`simulator.ts` runs a fleet of them): tests drive the same ones.

/** A relay with a console behind it: draws `loadW` ± 20 % when on, 0.4 W standby, and counts energy. */
export class ConsolePlug {
  on = true;
  energyWh = Math.round(Math.random() * 50_000);
  private since = Date.now();
  readonly bootedAt = Date.now();

  constructor(private readonly loadW: number) {}

  power(): number {
    return this.on ? Math.round(this.loadW * (0.8 + 0.4 * Math.random()) * 10) / 10 : 0.4;
  }

  /** Adds the energy used since the last reading and returns a fresh reading. */
  read(): { power: number; energyWh: number; voltage: number; current: number } {
    const now = Date.now();
    const power = this.power();
    this.energyWh += (power * (now - this.since)) / 3_600_000;
    this.since = now;
    const voltage = Math.round((228 + 4 * Math.random()) * 10) / 10;
    return {
      power,
      energyWh: Math.round(this.energyWh * 1000) / 1000,
      voltage,
      current: Math.round((power / voltage) * 1000) / 1000,
    };
  }

  set(on: boolean): boolean {
    this.read();
    const was = this.on;
    this.on = on;
    return was;
  }
}

/** One Shelly Gen2 plug: Switch.GetStatus and Switch.Set over HTTP, as the device answers them. */
export function shellyServer(plug: ConsolePlug, onRequest: (method: string) => void = () => {}): Server {
  return createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://plug');
    const reply = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    onRequest(url.pathname);
    if (url.searchParams.get('id') !== '0')
      return reply(404, { code: -105, message: "Argument 'id', value not found!" });
    if (url.pathname === '/rpc/Switch.GetStatus') {
      const r = plug.read();
      return reply(200, {
        id: 0,
        source: 'init',
        output: plug.on,
        apower: r.power,
        voltage: r.voltage,
        freq: 50,
        current: r.current,
        pf: plug.on ? 0.93 : 0.2,
        aenergy: { total: r.energyWh, by_minute: [0, 0, 0], minute_ts: Math.floor(Date.now() / 1000) },
        temperature: { tC: 38.5, tF: 101.3 },
      });
    }
    if (url.pathname === '/rpc/Switch.Set') {
      const on = url.searchParams.get('on');
      if (on !== 'true' && on !== 'false') return reply(400, { code: -103, message: "Invalid argument 'on'" });
      return reply(200, { was_on: plug.set(on === 'true') });
    }
    reply(404, { code: 404, message: 'No handler for ' + url.pathname });
  });
}

export async function runShelly(
  plug: ConsolePlug,
  host: string,
  port: number,
  signal: AbortSignal,
  progress: SimulatorProgress,
  up: (now: boolean) => void,
) {
  const server = shellyServer(plug, (method) =>
    progress.count(method === '/rpc/Switch.Set' ? 'shelly_commands' : 'shelly_polls'),
  );
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  up(true);
  // The run may have ended while the server was starting: a listener added after abort never fires.
  if (!signal.aborted) await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
}

const RECONNECT_INITIAL_MS = 1000;
const RECONNECT_MAX_MS = 30_000;

/** One Tasmota plug: LWT, tele STATE/SENSOR every TelePeriod, and POWER commands with their results. */
export async function runTasmota(
  plug: ConsolePlug,
  topic: string,
  broker: string,
  teleS: number,
  signal: AbortSignal,
  progress: Pick<SimulatorProgress, 'count'>,
  up: (now: boolean) => void = () => {},
): Promise<void> {
  const client = mqtt.connect(broker, {
    clientId: `sim-${topic}`,
    will: { topic: `tele/${topic}/LWT`, payload: Buffer.from('Offline'), retain: true, qos: 1 },
    reconnectPeriod: RECONNECT_INITIAL_MS,
  });
  // Backoff: mqtt.js waits reconnectPeriod before each attempt, read when it schedules one.
  let ceiling = RECONNECT_INITIAL_MS;
  client.on('reconnect', () => {
    ceiling = Math.min(RECONNECT_MAX_MS, ceiling * 2);
    client.options.reconnectPeriod = Math.round(ceiling / 2 + (Math.random() * ceiling) / 2);
  });
  let connected = false;
  client.on('close', () => {
    if (connected) up(false);
    connected = false;
  });
  const publishState = () => {
    client.publish(
      `tele/${topic}/STATE`,
      JSON.stringify({
        Time: new Date().toISOString().slice(0, 19),
        UptimeSec: Math.floor((Date.now() - plug.bootedAt) / 1000),
        Heap: 25,
        POWER: plug.on ? 'ON' : 'OFF',
        Wifi: { AP: 1, SSId: 'venue', Channel: 6, RSSI: 80, Signal: -60 - Math.round(Math.random() * 15) },
      }),
    );
    const r = plug.read();
    client.publish(
      `tele/${topic}/SENSOR`,
      JSON.stringify({
        Time: new Date().toISOString().slice(0, 19),
        ENERGY: {
          Total: r.energyWh / 1000,
          Yesterday: 1.2,
          Today: 0.4,
          Power: r.power,
          Voltage: r.voltage,
          Current: r.current,
          Factor: plug.on ? 0.93 : 0.2,
        },
      }),
    );
    progress.count('tasmota_tele');
  };
  let timer: NodeJS.Timeout | undefined;
  client.on('connect', () => {
    client.publish(`tele/${topic}/LWT`, 'Online', { retain: true, qos: 1 });
    client.subscribe(`cmnd/${topic}/POWER`);
    publishState();
    clearInterval(timer);
    timer = setInterval(publishState, teleS * 1000);
    client.options.reconnectPeriod = ceiling = RECONNECT_INITIAL_MS;
    if (!connected) up(true);
    connected = true;
  });
  client.on('message', (_topic, payload) => {
    const asked = payload.toString().toUpperCase();
    if (asked === 'ON' || asked === '1') plug.set(true);
    else if (asked === 'OFF' || asked === '0') plug.set(false);
    else if (asked === 'TOGGLE' || asked === '2') plug.set(!plug.on);
    const state = plug.on ? 'ON' : 'OFF';
    client.publish(`stat/${topic}/RESULT`, JSON.stringify({ POWER: state }));
    client.publish(`stat/${topic}/POWER`, state);
    progress.count('tasmota_commands');
  });
  client.on('error', () => progress.count('tasmota_errors'));
  await new Promise((resolve) =>
    signal.aborted ? resolve(undefined) : signal.addEventListener('abort', resolve, { once: true }),
  );
  clearInterval(timer);
  // A plug switched off at the wall: its will (Offline) is what the broker would send; say it now.
  if (client.connected)
    await client.publishAsync(`tele/${topic}/LWT`, 'Offline', { retain: true, qos: 1 }).catch(() => {});
  await client.endAsync(true);
}
