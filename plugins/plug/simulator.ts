import { defineSimulator } from '../../collector/sdk/index.ts';
import { ConsolePlug, runShelly, runTasmota } from './simulated-plug.ts';

/**
 * Smart plugs with a console behind each: Shelly Gen2 plugs as small HTTP servers on loopback
 * (one port each), Tasmota plugs as MQTT clients of a broker. The server polls / subscribes to
 * them exactly as to real plugs; the `server` URL is not used.
 *
 * Options (`--opt key=value`): `protocol` (`shelly`, `tasmota` or `both`, half each; default
 * `shelly`), `shelly_base_port` (plug n listens on base + n - 1, default 18100),
 * `shelly_host` (where the Shelly servers listen, default `127.0.0.1`), `shelly_address` (the
 * host serve reaches them at, default `shelly_host`, `127.0.0.1` when that is `0.0.0.0`),
 * `broker` (`mqtt://127.0.0.1:1883`), `prefix` (device id / Tasmota topic prefix, `plug-sim-`),
 * `tele_s` (Tasmota TelePeriod, s, default 10), `load_w` (console draw when on, W, default 150).
 *
 * With `simulate --api-key` the plugs are registered: Shelly plugs with the labels
 * `protocol: shelly` and `address: <shelly_address>:<port>`, which serve polls by default
 * (`plugins.plug.shelly.from_inventory`). Without it, list them in `plugins.plug.shelly.devices`.
 */
export default defineSimulator({
  flag: 'plug',
  description: 'smart plugs: Shelly Gen2 HTTP servers on loopback and Tasmota MQTT clients',
  devices: (count, options) =>
    plugsOf(count, options).map((p) => ({
      id: p.id,
      kind: 'plug',
      model: p.port === undefined ? 'Tasmota' : 'Shelly Plus Plug S',
      ...(p.port !== undefined && { labels: { protocol: 'shelly', address: `${p.address}:${p.port}` } }),
    })),
  async run({ count, options, progress, signal }) {
    const loadW = Number(options.load_w ?? 150);
    let up = 0;
    // Up now, not ever: a Tasmota plug whose broker went away counts down until it is back.
    const report = (now: boolean) => progress.update('up', now ? ++up : --up, count);
    await Promise.all(
      plugsOf(count, options).map((p) => {
        const plug = new ConsolePlug(loadW);
        return p.port !== undefined
          ? runShelly(plug, p.host, p.port, signal, progress, report)
          : runTasmota(
              plug,
              p.id,
              options.broker ?? 'mqtt://127.0.0.1:1883',
              Number(options.tele_s ?? 10),
              signal,
              progress,
              report,
            );
      }),
    );
  },
});

/** Plug n is `<prefix><n, four digits>`: the first ones Shelly (with their port), the rest Tasmota. */
function plugsOf(count: number, options: Record<string, string>) {
  const protocol = options.protocol ?? 'shelly';
  const shellies = protocol === 'shelly' ? count : protocol === 'both' ? Math.ceil(count / 2) : 0;
  const prefix = options.prefix ?? 'plug-sim-';
  const basePort = Number(options.shelly_base_port ?? 18100);
  const host = options.shelly_host ?? '127.0.0.1';
  const address = options.shelly_address ?? (host === '0.0.0.0' ? '127.0.0.1' : host);
  return Array.from({ length: count }, (_, i) => ({
    id: `${prefix}${String(i + 1).padStart(4, '0')}`,
    host,
    address,
    port: i < shellies ? basePort + i : undefined,
  }));
}
