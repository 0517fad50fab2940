import WebSocket from 'ws';
import { defineSimulator, messageText } from '../../collector/sdk/index.ts';

/**
 * Example sensors: each connects to `<server>/example/<id>`, sends a reading every
 * `interval_s` seconds and answers `ping` and `set_interval`. Options: `prefix` (device id
 * prefix, default `sensor-`), `interval_s` (default 10), `token` (one shared credential, used
 * without `--api-key`; with neither, the server must run with `accept_unknown: true`).
 * `simulate --api-key` registers each sensor and gives it an `example_token` of its own.
 */
export default defineSimulator({
  flag: 'example',
  description: "example WebSocket sensors (the plugin author's worked example)",
  devices: (count, options) =>
    sensorIds(count, options).map((id) => ({ id, kind: 'sensor', model: 'EX-1', credential: 'example_token' })),
  async run({ server, count, options, progress, signal, credentials }) {
    const base = server.replace(/^http/, 'ws') + (options.path ?? '/example/');
    let connected = 0;
    const sensors = sensorIds(count, options).map((id) => {
      const token = credentials?.get(id) ?? options.token;
      const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
      return runSensor(base + encodeURIComponent(id), headers, Number(options.interval_s ?? 10), signal, {
        connected: () => progress.update('connected', ++connected, count),
        disconnected: () => progress.update('connected', --connected, count),
        count: (e) => progress.count(e),
        refused: (status) => progress.refused?.(id, `HTTP ${status}`),
      });
    });
    await Promise.all(sensors);
  },
});

/** Sensor n is `<prefix><n, four digits>`. */
function sensorIds(count: number, options: Record<string, string>): string[] {
  return Array.from({ length: count }, (_, i) => `${options.prefix ?? 'sensor-'}${String(i + 1).padStart(4, '0')}`);
}

async function runSensor(
  url: string,
  headers: Record<string, string>,
  intervalS: number,
  signal: AbortSignal,
  report: { connected(): void; disconnected(): void; count(event: string): void; refused(status: number): void },
): Promise<void> {
  const booted = Date.now();
  while (!signal.aborted) {
    await new Promise<void>((resolve) => {
      const ws = new WebSocket(url, { headers });
      let opened = false;
      let timer: NodeJS.Timeout | undefined;
      const send = () => {
        const t = Date.now();
        const hour = (t / 3_600_000) % 24;
        ws.send(
          JSON.stringify({
            type: 'reading',
            t,
            temperature_c: Math.round((20 + 3 * Math.sin((hour / 24) * 2 * Math.PI) + Math.random()) * 10) / 10,
            humidity_pct: Math.round(40 + 10 * Math.random()),
            uptime_s: Math.floor((t - booted) / 1000),
          }),
        );
        report.count('readings');
        timer = setTimeout(send, intervalS * 1000);
      };
      const onAbort = () => ws.close(1000);
      signal.addEventListener('abort', onAbort, { once: true });
      ws.on('open', () => {
        opened = true;
        report.connected();
        send();
      });
      ws.on('message', (data) => {
        const msg = JSON.parse(messageText(data)) as {
          type: string;
          id?: string;
          name?: string;
          params?: { interval_s?: number };
        };
        if (msg.type !== 'command') return;
        report.count(`command_${msg.name}`);
        if (msg.name === 'set_interval' && msg.params?.interval_s) intervalS = msg.params.interval_s;
        ws.send(
          JSON.stringify({
            type: 'result',
            id: msg.id,
            ok: true,
            result: msg.name === 'ping' ? { pong: Date.now() } : { interval_s: intervalS },
          }),
        );
      });
      ws.on('unexpected-response', (_req, res) => {
        if (res.statusCode === 401 || res.statusCode === 403) report.refused(res.statusCode);
        ws.terminate(); // 'close' follows, and the sensor tries again later
      });
      ws.on('error', () => report.count('errors'));
      ws.on('close', () => {
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        if (opened) report.disconnected();
        resolve();
      });
    });
    if (!signal.aborted) await new Promise((r) => setTimeout(r, 1000 + Math.random() * 2000));
  }
}
