import { WebSocketServer, type WebSocket } from 'ws';
import {
  CommandFailed,
  CommandRejected,
  definePlugin,
  DeviceUnreachable,
  Type,
  type Command,
  messageText,
  type PluginContext,
} from '../../collector/sdk/index.ts';
import { measurements } from './measurements.ts';
import { encode, parseAgentMessage, UplinkProtocolError } from './protocol.ts';
import { AgentSession, type EdgeErrors, type Waiting } from './session.ts';

/**
 * The server end of the edge agents' uplink: one WebSocket per agent at `<path><agent id>`,
 * authenticated with the agent's token. Batches of line protocol from the agent's outbox are
 * checked, enriched with the server's inventory tags and spooled; each batch is acknowledged
 * only once it is committed, so the agent can delete it. Commands for the agent's PC and for the
 * devices behind it go down the same socket.
 */
const config = Type.Object(
  {
    path: Type.String({ default: '/agent/', description: 'URL path prefix; an agent connects to <path><agent id>' }),
    report_interval_s: Type.Integer({
      default: 30,
      minimum: 1,
      description:
        'How often an agent sends at least one batch, s (its host metrics interval or less); offline after 2 missed',
    }),
    max_batch_lines: Type.Integer({
      default: 10_000,
      minimum: 1,
      description: 'Largest batch an agent may send, lines',
    }),
    max_frame_bytes: Type.Integer({
      default: 16 * 1024 * 1024,
      minimum: 1024,
      description: 'Largest WebSocket frame, bytes',
    }),
    unknown_devices: Type.Union([Type.Literal('pending'), Type.Literal('refuse')], {
      default: 'pending',
      description:
        'A device the inventory does not know, reported behind an agent: pending registers it (active at once if its kind is in inventory auto_accept; its points carry no customer or site until approved), refuse drops its lines (ack reason foreign_device)',
    }),
    ping_interval_s: Type.Integer({
      default: 30,
      minimum: 1,
      description: 'Idle connections are pinged this often; no pong by the next ping closes them, s',
    }),
  },
  { additionalProperties: false },
);

export const CREDENTIAL = 'agent_token';

export default definePlugin({
  name: 'agent',
  description: 'Uplink of the edge agents (fleetpulse agent): their points, their devices, commands to them',
  kinds: ['pc'],
  runs_in: ['serve'],
  config,
  enabled_by_default: true,
  measurements,
  reporting_interval_s: (c) => c.report_interval_s,

  async start(ctx) {
    const wss = new WebSocketServer({ noServer: true, maxPayload: ctx.config.max_frame_bytes });
    const sessions = new Map<string, AgentSession>();
    const waiting: Waiting = new Map();
    const edgeErrors: EdgeErrors = new Map();
    ctx.http.upgrade(ctx.config.path, async (request, socket, head) => {
      const agentId = decodeURIComponent((request.url ?? '').slice(ctx.config.path.length).split('?')[0]);
      const token = /^Bearer (.+)$/.exec(request.headers.authorization ?? '')?.[1];
      const reason = await refusal(ctx, agentId, token);
      if (reason) {
        ctx.count(`refused_${reason}`);
        ctx.log.warn({ agent: agentId, reason, remote: ctx.http.clientAddress(request) }, 'agent connection refused');
        socket.end(`HTTP/1.1 401 Unauthorized\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
        return;
      }
      wss.handleUpgrade(request, socket, head, (ws) => {
        // One agent, one live connection: the newer one wins (the older is probably half-dead).
        sessions.get(agentId)?.replace();
        const session = new AgentSession(ctx, agentId, ws, waiting, edgeErrors, ctx.config.unknown_devices);
        sessions.set(agentId, session);
        ctx.gauge('agents_connected', sessions.size);
        ws.on('close', () => {
          if (sessions.get(agentId) === session) sessions.delete(agentId);
          ctx.gauge('agents_connected', sessions.size);
        });
        ws.on('message', (data) => {
          let msg;
          try {
            msg = parseAgentMessage(messageText(data), ctx.config.max_batch_lines);
          } catch (err) {
            if (!(err instanceof UplinkProtocolError)) throw err;
            ctx.count('malformed_frame');
            ctx.log.warn({ agent: agentId, err: err.message }, 'malformed frame from agent');
            ws.send(JSON.stringify({ t: 'error', error: err.message }));
            return;
          }
          session.handle(msg);
        });
      });
    });
    const pinger = setInterval(() => {
      for (const s of sessions.values()) s.ping();
    }, ctx.config.ping_interval_s * 1000);
    pinger.unref();

    return {
      async stop() {
        clearInterval(pinger);
        for (const s of sessions.values()) s.close(1001, 'server stopping');
        wss.close();
      },
      async execute(device: string, command: Command) {
        const ws = ctx.connection<WebSocket>(device);
        if (!ws || ws.readyState !== ws.OPEN) throw new DeviceUnreachable(device);
        return new Promise((resolve, reject) => {
          waiting.set(command.id, {
            ws,
            settle: (r) => {
              if (r.status === 'succeeded') resolve(r.result);
              else if (r.status === 'rejected')
                reject(new CommandRejected(r.error ?? 'rejected at the edge', r.result));
              else reject(new CommandFailed(`${r.status} at the edge${r.error ? `: ${r.error}` : ''}`, r.result));
            },
            fail: reject,
          });
          command.signal.addEventListener('abort', () => waiting.delete(command.id), { once: true });
          ws.send(encode({ t: 'command', id: command.id, device, name: command.name, params: command.params }));
        });
      },
    };
  },
});

/** Why an agent may not connect, or undefined when it may. */
async function refusal(ctx: PluginContext, agentId: string, token: string | undefined): Promise<string | undefined> {
  if (!agentId || agentId.includes('/')) return 'no_agent_id';
  if (!token) return 'no_credential';
  const auth = await ctx.devices.authenticate(agentId, { type: CREDENTIAL, secret: token });
  return auth.ok ? undefined : auth.reason;
}
