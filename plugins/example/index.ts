import { WebSocketServer, type WebSocket } from 'ws';
import {
  CommandRejected,
  DeviceUnreachable,
  definePlugin,
  Type,
  type Command,
  messageText,
  type PluginContext,
} from '../../collector/sdk/index.ts';
import { measurements, sensorReading } from './measurements.ts';
import { commandFrame, parseMessage, ProtocolError } from './protocol.ts';

/**
 * The plugin author's worked example: sensors that connect over WebSocket, send readings and
 * answer commands. Every part of the contract in a hundred lines; see plugins/README.md.
 */
const config = Type.Object(
  {
    path: Type.String({ default: '/example/', description: 'URL path prefix; a sensor connects to <path><device id>' }),
    report_interval_s: Type.Integer({ default: 10, minimum: 1, description: 'How often sensors send a reading, s' }),
    accept_unknown: Type.Boolean({
      default: false,
      description: 'Let sensors without a credential connect (they are registered as pending). For demos only.',
    }),
  },
  { additionalProperties: false },
);

export const CREDENTIAL = 'example_token';

export default definePlugin({
  name: 'example',
  description: 'Example sensors over WebSocket: the worked example of the plugin contract',
  kinds: ['sensor'],
  runs_in: ['serve'],
  config,
  measurements,
  commands: {
    ping: {
      description: 'Asks the sensor to answer; proves the command path',
      params: Type.Object({}, { additionalProperties: false }),
      timeout_s: 5,
    },
    set_interval: {
      description: 'Changes how often the sensor reports',
      params: Type.Object({ interval_s: Type.Integer({ minimum: 1, maximum: 3600 }) }, { additionalProperties: false }),
    },
  },
  reporting_interval_s: (c) => c.report_interval_s,

  async start(ctx) {
    const wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 });
    // Commands waiting for their result frame, per device and command id.
    const waiting = new Map<string, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
    // An async handler: if it rejects, the runtime answers 500 and logs it.
    ctx.http.upgrade(ctx.config.path, async (request, socket, head) => {
      const device = decodeURIComponent((request.url ?? '').slice(ctx.config.path.length).split('?')[0]);
      const token = /^Bearer (.+)$/.exec(request.headers.authorization ?? '')?.[1];
      const refusal = await authorize(ctx, device, token);
      if (refusal) {
        ctx.count(`refused_${refusal}`);
        socket.end(`HTTP/1.1 401 Unauthorized\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
        return;
      }
      wss.handleUpgrade(request, socket, head, (ws) => serve(ctx, device, ws, waiting));
    });
    return {
      async stop() {
        for (const ws of wss.clients) ws.close(1001, 'server stopping');
        wss.close();
      },
      async execute(device: string, command: Command) {
        const ws = ctx.connection<WebSocket>(device);
        if (!ws) throw new DeviceUnreachable(device);
        return new Promise((resolve, reject) => {
          const key = `${device}/${command.id}`;
          waiting.set(key, { resolve, reject });
          command.signal.addEventListener('abort', () => waiting.delete(key), { once: true });
          ws.send(commandFrame(command.id, command.name, command.params));
        });
      },
    };
  },
});

/** Why a sensor may not connect, or undefined when it may. */
async function authorize(ctx: PluginContext<{ accept_unknown: boolean }>, device: string, token: string | undefined) {
  if (!device) return 'no_device_id';
  if (token) {
    const auth = await ctx.devices.authenticate(device, { type: CREDENTIAL, secret: token });
    return auth.ok ? undefined : auth.reason;
  }
  const known = ctx.devices.lookup(device);
  if (ctx.config.accept_unknown && (!known || known.lifecycle === 'pending')) return undefined;
  return 'no_credential';
}

function serve(
  ctx: PluginContext,
  device: string,
  ws: WebSocket,
  waiting: Map<string, { resolve: (v: unknown) => void; reject: (e: Error) => void }>,
) {
  const attachment = ctx.attach(device, ws);
  ctx.seen(device, { kind: 'sensor' });
  ws.on('message', (data) => {
    try {
      const msg = parseMessage(messageText(data));
      if (msg.type === 'reading') {
        const { temperature_c, humidity_pct, uptime_s } = msg;
        ctx.emit(sensorReading.name, { temperature_c, humidity_pct, uptime_s }, { device }, msg.t);
        ctx.seen(device);
      } else {
        const pending = waiting.get(`${device}/${msg.id}`);
        waiting.delete(`${device}/${msg.id}`);
        if (msg.ok) pending?.resolve(msg.result);
        else pending?.reject(new CommandRejected(msg.error ?? 'rejected by the sensor'));
      }
    } catch (err) {
      if (!(err instanceof ProtocolError)) throw err;
      // A bad frame is this sensor's problem: count it, tell it, keep the connection.
      ctx.count('malformed_frame');
      ws.send(JSON.stringify({ type: 'error', error: err.message }));
    }
  });
  ws.on('close', () => {
    attachment.detach();
    if (!ctx.connection(device)) ctx.offline(device);
  });
}
