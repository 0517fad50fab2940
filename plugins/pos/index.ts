import type { FastifyReply, FastifyRequest } from 'fastify';
import {
  definePlugin,
  isDiskFull,
  PointsRefused,
  Type,
  type PluginContext,
  type Static,
} from '../../collector/sdk/index.ts';
import { measurements, posError, posHealth, posOrder, posPayment, posRefund } from './measurements.ts';
import { parseBatch, parseSignatureHeader, ProtocolError, verifySignature, type PosEvent } from './protocol.ts';
import { ReplayGuard } from './replay-guard.ts';

/**
 * POS devices through their back office: each store system (a device of kind `pos` holding a
 * `pos_hmac` secret) pushes signed batches of events to one webhook. See README.md.
 */
const config = Type.Object(
  {
    path: Type.String({ default: '/ingest/pos', description: 'URL path of the webhook' }),
    body_limit_bytes: Type.Integer({
      default: 1_048_576,
      minimum: 1024,
      description: 'Largest request body accepted, bytes (larger: 413)',
    }),
    max_events: Type.Integer({ default: 500, minimum: 1, maximum: 10_000, description: 'Most events in one request' }),
    tolerance_s: Type.Integer({
      default: 300,
      minimum: 1,
      description: 'Signature timestamps further than this from our clock are refused, s',
    }),
    replay_retention_h: Type.Number({
      default: 24,
      minimum: 0.1,
      description: 'How long delivered event ids are remembered, h',
    }),
    heartbeat_interval_s: Type.Integer({
      default: 60,
      minimum: 1,
      description: 'How often POS devices send a heartbeat, s (offline after two missed)',
    }),
    sender_header: Type.String({
      default: 'x-fleetpulse-sender',
      description: 'Header naming the back office (its device id)',
    }),
    signature_header: Type.String({
      default: 'x-fleetpulse-signature',
      description: 'Header carrying t=<unix>,v1=<hex>',
    }),
  },
  { additionalProperties: false },
);
type Config = Static<typeof config>;
type Ctx = PluginContext<Config>;

export const CREDENTIAL = 'pos_hmac';
const PRUNE_EVERY_MS = 10 * 60_000;

export default definePlugin({
  name: 'pos',
  description:
    'POS devices and their back office: signed webhook batches of heartbeats, orders, payments, refunds, errors',
  kinds: ['pos'],
  runs_in: ['serve'],
  config,
  // Passive until a device talks to it (POS) or the inventory lists one (plugs): safe to run by default.
  enabled_by_default: true,
  measurements,
  commands: {},
  reporting_interval_s: (c) => c.heartbeat_interval_s,

  async start(ctx) {
    const guard = new ReplayGuard(ctx.db, ctx.config.replay_retention_h * 3_600_000);
    guard.forgetOld(ctx.clock.now());
    const pruner = setInterval(() => guard.forgetOld(ctx.clock.now()), PRUNE_EVERY_MS);
    pruner.unref();

    ctx.http.route({
      method: 'POST',
      url: ctx.config.path,
      bodyLimit: ctx.config.body_limit_bytes,
      // Every sale is a request: successes are logged at debug (refusals stay at info).
      config: { quietLog: true },
      // Refusals raised before the handler runs (body too large, not JSON) are answered here.
      // Fastify awaits a promise an error handler returns; its route option type says void.
      // eslint-disable-next-line @typescript-eslint/no-misused-promises -- see above
      errorHandler: async (error, request, reply) => {
        const code = (error as { code?: string }).code;
        if (code === 'FST_ERR_CTP_BODY_TOO_LARGE')
          return refuse(ctx, reply, 413, 'body_too_large', `body exceeds ${ctx.config.body_limit_bytes} bytes`);
        if (code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE')
          return refuse(ctx, reply, 415, 'unsupported_media_type', 'send application/json');
        if ((error as { statusCode?: number }).statusCode === 400) {
          // Unsigned garbage is an authentication failure, not a client's formatting mistake.
          const who = await authenticate(ctx, request);
          if (typeof who === 'string') return refuse(ctx, reply, 401, `refused_${who}`, publicReason(who));
          return refuse(ctx, reply, 400, 'malformed_body', 'body is not valid JSON', { field: 'body' });
        }
        ctx.log.error({ err: error }, 'pos webhook failed');
        return reply.code(500).send({ error: 'internal_error' });
      },
      handler: async (request, reply) => {
        if (!request.rawBody) return refuse(ctx, reply, 415, 'unsupported_media_type', 'send application/json');
        const who = await authenticate(ctx, request);
        if (typeof who === 'string') return refuse(ctx, reply, 401, `refused_${who}`, publicReason(who));
        ctx.seen(who.sender);
        let batch;
        try {
          batch = parseBatch(request.body, ctx.config.max_events);
        } catch (err) {
          if (!(err instanceof ProtocolError)) throw err;
          return refuse(ctx, reply, 400, 'malformed_body', err.message, { field: err.field });
        }
        const invalid = [...batch.invalid];
        const valid: PosEvent[] = [];
        let notOwned = 0;
        for (const { index, event } of batch.events) {
          const refusal = ownership(ctx, who.sender, event.device);
          if (refusal === undefined) valid.push(event);
          else {
            notOwned++;
            invalid.push({ index, field: `events[${index}].device`, error: `events[${index}].device: ${refusal}` });
          }
        }
        invalid.sort((a, b) => a.index - b.index);
        let ingested;
        try {
          ingested = await ingest(ctx, guard, who.sender, valid);
        } catch (err) {
          // Not stored, or stored but not remembered as delivered (the replay table is on the same
          // full disk): either way the back office keeps the events and sends them again, and
          // stored points overwrite themselves.
          if (!(err instanceof PointsRefused) && !isDiskFull(err)) throw err;
          reply.header('retry-after', '30');
          return refuse(
            ctx,
            reply,
            503,
            'disk_full',
            'the server cannot store events now (its disk is full); send them again later',
          );
        }
        const { accepted, duplicates } = ingested;
        ctx.count('events_accepted', accepted);
        if (duplicates) ctx.count('events_duplicate', duplicates);
        if (notOwned) ctx.count('events_not_owned', notOwned);
        if (invalid.length === 0) return reply.code(200).send({ accepted, duplicates });
        ctx.count('events_invalid', invalid.length);
        const first = invalid[0];
        // The valid events are written: a retry of the corrected batch is harmless (replays).
        return reply.code(400).send({
          error: 'invalid_events',
          message: first.error,
          index: first.index,
          field: first.field,
          accepted,
          duplicates,
          rejected: invalid,
        });
      },
    });

    return {
      async stop() {
        clearInterval(pruner);
      },
    };
  },
});

type Refusal =
  | 'no_sender'
  | 'no_signature'
  | 'stale_timestamp'
  | 'bad_signature'
  | 'unknown_device'
  | 'pending'
  | 'retired'
  | 'no_credential';

/**
 * Why `sender` may not report for `device`, or undefined when it may. A back office reports only
 * for its own POS devices, those whose inventory `gateway` is the back office (docs/inventory.md).
 * A device the inventory does not know is taken and registered as pending behind the sender.
 * Refused: a device behind another gateway, and a known device without a gateway (another back
 * office, a device of another plugin, the sender itself), which would otherwise be marked seen.
 */
function ownership(ctx: Ctx, sender: string, device: string): string | undefined {
  const known = ctx.devices.lookup(device);
  if (known === undefined) return undefined;
  if (known.gateway === sender) return known.kind === 'pos' ? undefined : 'is not a POS device';
  if (known.gateway !== undefined) return 'belongs to another back office';
  if (device === sender) return 'is the back office itself; report the events of its POS devices';
  return 'is not a POS device of this back office (it has no gateway in the inventory)';
}

/** The back office that signed the request, or why it is refused. */
async function authenticate(ctx: Ctx, request: FastifyRequest): Promise<{ sender: string } | Refusal> {
  const sender = request.headers[ctx.config.sender_header];
  if (typeof sender !== 'string' || sender === '') return 'no_sender';
  const header = request.headers[ctx.config.signature_header];
  const signature = parseSignatureHeader(typeof header === 'string' ? header : undefined);
  if (!signature) return 'no_signature';
  if (Math.abs(ctx.clock.now() / 1000 - signature.t) > ctx.config.tolerance_s) return 'stale_timestamp';
  const raw = request.rawBody ?? Buffer.alloc(0);
  const auth = await ctx.devices.authenticate(sender, {
    type: CREDENTIAL,
    verify: (secret) => verifySignature(secret, signature, raw),
  });
  if (auth.ok) return { sender };
  return auth.reason === 'bad_secret' ? 'bad_signature' : auth.reason;
}

/** What the sender is told: enough to fix its clock or headers, nothing about which ids exist. */
function publicReason(refusal: Refusal): string {
  if (refusal === 'no_sender') return `missing sender header`;
  if (refusal === 'no_signature') return 'missing or malformed signature header (t=<unix>,v1=<hex>)';
  if (refusal === 'stale_timestamp') return 'signature timestamp outside the allowed window';
  return 'signature does not match';
}

function refuse(ctx: Ctx, reply: FastifyReply, status: number, event: string, message: string, extra: object = {}) {
  ctx.count(event);
  const error = status === 401 ? 'unauthorized' : event;
  return reply.code(status).send({ error, message, ...extra });
}

/** Emits the events not delivered before; resolves once they are durable. */
async function ingest(ctx: Ctx, guard: ReplayGuard, sender: string, events: PosEvent[]) {
  const fresh: PosEvent[] = [];
  const inBatch = new Set<string>();
  for (const e of events) {
    if (inBatch.has(e.id) || guard.seen(sender, e.id)) continue;
    inBatch.add(e.id);
    fresh.push(e);
  }
  const now = ctx.clock.now();
  for (const e of fresh) {
    emitEvent(ctx, e);
    register(ctx, sender, e, now);
  }
  await ctx.committed();
  guard.remember(sender, [...inBatch], now);
  return { accepted: fresh.length, duplicates: events.length - fresh.length };
}

function emitEvent(ctx: Ctx, e: PosEvent): void {
  const tags = { device: e.device, store: e.store };
  switch (e.type) {
    case 'order':
      return ctx.emit(
        posOrder.name,
        { total: e.total, items: e.items, order_id: e.order_id },
        { ...tags, currency: e.currency, status: e.status, payment_method: e.payment_method },
        e.time,
      );
    case 'payment':
      return ctx.emit(
        posPayment.name,
        { amount: e.amount, order_id: e.order_id },
        { ...tags, currency: e.currency, method: e.method, result: e.result, reason: e.reason },
        e.time,
      );
    case 'refund':
      return ctx.emit(
        posRefund.name,
        { amount: e.amount, order_id: e.order_id },
        { ...tags, currency: e.currency, reason: e.reason },
        e.time,
      );
    case 'error':
      return ctx.emit(
        posError.name,
        { message: e.message ?? '' },
        { ...tags, code: e.code, severity: e.severity },
        e.time,
      );
    case 'heartbeat':
      return ctx.emit(
        posHealth.name,
        {
          app_version: e.app_version,
          printer: e.printer,
          printer_ok: printerWorks(e.printer) ? 1 : 0,
          signal_dbm: e.signal_dbm,
          battery_pct: e.battery_pct,
          charging: e.charging,
        },
        { ...tags, network: e.network },
        e.time,
      );
  }
}

const printerWorks = (p: string) => p === 'ok' || p === 'paper_low';

/**
 * Liveness comes from heartbeats only, and only recent ones: a backlog flushed after an outage
 * must not mark devices online now. Unknown devices become pending behind this back office.
 */
function register(ctx: Ctx, sender: string, e: PosEvent, now: number): void {
  const known = ctx.devices.lookup(e.device);
  const gateway = known ? undefined : sender;
  if (e.type === 'heartbeat' && now - e.time <= 2 * ctx.config.heartbeat_interval_s * 1000) {
    const works = printerWorks(e.printer);
    ctx.seen(e.device, {
      kind: 'pos',
      gateway,
      firmware: e.app_version,
      state: works ? 'online' : 'error',
      reason: works ? undefined : `printer_${e.printer}`,
    });
  } else if (!known) {
    ctx.devices
      .discover(e.device, { kind: 'pos', gateway })
      .catch((err) => ctx.log.error({ device: e.device, err }, 'could not register POS device'));
  }
}
