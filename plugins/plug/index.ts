import { randomBytes } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import {
  DeviceUnreachable,
  definePlugin,
  PluginConfigError,
  type OutboundPolicy,
  Type,
  type Attachment,
  type Command,
  type PluginContext,
  type Static,
} from '../../collector/sdk/index.ts';
import { DEFAULT_PLUG_NETWORKS, plugAddressLiteralRefusal, plugAddressRefusal, plugPolicy } from './address.ts';
import { measurements } from './measurements.ts';
import { ShellyPoller, type ShellyTarget } from './shelly.ts';
import { TasmotaLink } from './tasmota.ts';

/**
 * Smart plugs that power consoles: Shelly Gen2 polled over HTTP RPC, Tasmota over MQTT. Both
 * take `power_on`, `power_off` and `power_cycle`, the enforcement arm of gaming sessions.
 */
const config = Type.Object(
  {
    allowed_networks: Type.Array(Type.String({ description: 'A CIDR, e.g. 192.168.20.0/24' }), {
      default: DEFAULT_PLUG_NETWORKS,
      description:
        'Networks plug addresses may be in besides public ones (the venue LANs). Default the private ranges ' +
        '10/8, 172.16/12, 192.168/16, fc00::/7. Loopback only by an entry inside 127.0.0.0/8 (tests, the demo); ' +
        'link-local, metadata, multicast never',
    }),
    power_cycle_off_s: Type.Integer({
      default: 5,
      minimum: 1,
      maximum: 300,
      description: 'How long power_cycle keeps the plug off unless the command says, s',
    }),
    shelly: Type.Object(
      {
        poll_interval_s: Type.Integer({
          default: 10,
          minimum: 1,
          description: 'How often every Shelly plug is polled, s',
        }),
        timeout_ms: Type.Integer({
          default: 2000,
          minimum: 100,
          description: 'How long one plug may take to answer, ms',
        }),
        concurrency: Type.Integer({
          default: 50,
          minimum: 1,
          maximum: 1000,
          description: 'Plugs polled at the same time',
        }),
        from_inventory: Type.Boolean({
          default: true,
          description: 'Also poll inventory devices of kind plug labelled protocol=shelly with an address label',
        }),
        devices: Type.Array(
          Type.Object(
            {
              id: Type.String({ minLength: 1, description: 'Device id' }),
              address: Type.String({
                minLength: 1,
                description: 'host or host:port of the plug (nothing else: no path, scheme or user)',
              }),
              switch_id: Type.Integer({ default: 0, minimum: 0, description: 'Switch channel' }),
            },
            { additionalProperties: false },
          ),
          { default: [], description: 'Plugs to poll in addition to the inventory ones' },
        ),
      },
      { additionalProperties: false, default: {} },
    ),
    tasmota: Type.Object(
      {
        broker_url: Type.String({
          default: '',
          description: 'MQTT broker, e.g. mqtt://127.0.0.1:1883; empty: Tasmota off',
        }),
        username: Type.String({ default: '', description: 'MQTT user name; empty: anonymous' }),
        password_env: Type.String({ default: '', description: 'Environment variable holding the MQTT password' }),
        tele_period_s: Type.Integer({
          default: 300,
          minimum: 10,
          description: "The plugs' TelePeriod (Tasmota default 300), s",
        }),
      },
      { additionalProperties: false, default: {} },
    ),
  },
  { additionalProperties: false },
);
type Config = Static<typeof config>;

/** How a plug is reached, kept as its attachment for the command bus. */
type PlugLink = { protocol: 'shelly'; target: ShellyTarget } | { protocol: 'tasmota'; topic: string };

const OFF_S = Type.Integer({ minimum: 1, maximum: 300, description: 'Seconds off before switching back on' });
const NO_PARAMS = Type.Object({}, { additionalProperties: false });

export default definePlugin({
  name: 'plug',
  description: 'Smart plugs: Shelly Gen2 over HTTP RPC (polled), Tasmota over MQTT',
  kinds: ['plug'],
  runs_in: ['serve'],
  config,
  // Passive until a device talks to it (POS) or the inventory lists one (plugs): safe to run by default.
  enabled_by_default: true,
  measurements,
  commands: {
    power_on: { description: 'Closes the relay: the console gets power', params: NO_PARAMS, timeout_s: 10 },
    power_off: { description: 'Opens the relay: the console loses power', params: NO_PARAMS, timeout_s: 10 },
    power_cycle: {
      description: 'Off, wait, on again (restarts a hung console)',
      params: Type.Object({ off_s: Type.Optional(OFF_S) }, { additionalProperties: false }),
      timeout_s: 330,
    },
  },
  // One interval for every plug: the slower of the report rates in use (Tasmota's only with a broker).
  reporting_interval_s: (c) => Math.max(c.shelly.poll_interval_s, c.tasmota.broker_url ? c.tasmota.tele_period_s : 0),

  // A plug's labels.address is refused at registration (400 naming it), not only when polled.
  async checkDevice(device, config) {
    const address = device.labels.address;
    if (address === undefined) return undefined;
    const bad = await plugAddressRefusal(plugPolicy(config.allowed_networks), address);
    return bad ? { field: 'labels.address', message: bad } : undefined;
  },

  async start(ctx) {
    const policy = plugPolicy(ctx.config.allowed_networks);
    for (const [i, d] of ctx.config.shelly.devices.entries()) {
      const bad = plugAddressLiteralRefusal(policy, d.address);
      if (bad) throw new PluginConfigError('plug', `shelly.devices.${i}.address`, bad);
    }
    const attached = new Map<string, Attachment>();
    const attach = (id: string, link: PlugLink) => {
      if (!attached.has(id)) attached.set(id, ctx.attach(id, link));
    };
    const detach = (id: string) => {
      attached.get(id)?.detach();
      attached.delete(id);
    };

    const shelly = new ShellyPoller(ctx, { ...ctx.config.shelly, policy }, (target, outcome) => {
      if (outcome === 'ok') attach(target.id, { protocol: 'shelly', target });
      else detach(target.id);
    });
    const pollAll = () =>
      void shelly.round(shellyTargets(ctx, policy)).catch((err) => ctx.log.error({ err }, 'Shelly round failed'));
    pollAll();
    const poller = setInterval(pollAll, ctx.config.shelly.poll_interval_s * 1000);

    const t = ctx.config.tasmota;
    const tasmota = t.broker_url
      ? new TasmotaLink(
          ctx,
          {
            broker_url: t.broker_url,
            username: t.username,
            password: t.password_env ? process.env[t.password_env] : undefined,
            client_id: `fleetpulse-${ctx.instance.replace(/\W/g, '_')}-${randomBytes(4).toString('hex')}`,
          },
          { up: (topic) => attach(topic, { protocol: 'tasmota', topic }), down: detach },
        )
      : undefined;

    const setPower = async (link: PlugLink, on: boolean, signal: AbortSignal) => {
      if (link.protocol === 'shelly') return { on, was_on: (await shelly.set(link.target, on, signal)).was_on };
      await tasmota!.setPower(link.topic, on, signal);
      return { on };
    };

    return {
      async stop() {
        clearInterval(poller);
        shelly.stop();
        for (const id of [...attached.keys()]) detach(id);
        await tasmota?.stop();
      },
      async execute(device: string, command: Command) {
        const link = ctx.connection<PlugLink>(device);
        if (!link) throw new DeviceUnreachable(device);
        if (command.name === 'power_on') return setPower(link, true, command.signal);
        if (command.name === 'power_off') return setPower(link, false, command.signal);
        const offS = (command.params as { off_s?: number }).off_s ?? ctx.config.power_cycle_off_s;
        await setPower(link, false, command.signal);
        await delay(offS * 1000, undefined, { signal: command.signal });
        await setPower(link, true, command.signal);
        return { on: true, off_s: offS };
      },
    };
  },
});

/** The static list, then inventory plugs labelled `protocol: shelly` with an `address` label. */
function shellyTargets(ctx: PluginContext<Config>, policy: OutboundPolicy): ShellyTarget[] {
  const targets = new Map<string, ShellyTarget>();
  for (const d of ctx.config.shelly.devices) targets.set(d.id, d);
  if (ctx.config.shelly.from_inventory) {
    for (const d of ctx.devices.all()) {
      const labels = d.labels ?? {};
      if (d.kind !== 'plug' || labels.protocol !== 'shelly' || !labels.address || targets.has(d.id)) continue;
      // Stored before this check existed, or written around the API: never polled.
      const bad = plugAddressLiteralRefusal(policy, labels.address);
      if (bad) {
        ctx.count('shelly_refused_address');
        ctx.log.warn({ device: d.id, reason: bad }, 'plug address refused by the outbound policy: not polled');
        continue;
      }
      targets.set(d.id, { id: d.id, address: labels.address, switch_id: Number(labels.switch_id ?? 0) || 0 });
    }
  }
  return [...targets.values()];
}
