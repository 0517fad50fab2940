/* eslint-disable @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-assignment,
   @typescript-eslint/no-unsafe-argument -- handlers read OcppPayload, schema-checked by ocpp-rpc (station.ts) */
/**
 * Display messages kept in step with the chargers: NotifyDisplayMessages, the answers to the
 * display commands, and `GET /api/v1/chargers/:id/display-messages`.
 */
import { Type, type PluginContext } from '../../collector/sdk/index.ts';
import type { OcppConfig, OcppVersion } from './config.ts';
import type { DisplayMessages } from './display-message-store.ts';
import { FORMATS, ours, PRIORITIES, STATES, type SetDisplayParams } from './display-messages.ts';
import type { Charger, OcppPayload, On, Station } from './station.ts';

/** NotifyDisplayMessages: the charger's own account of what it shows (one part of a report each). */
export function registerDisplayMessages(station: Station, version: OcppVersion, on: On): void {
  if (version === 'ocpp1.6') return;
  on('NotifyDisplayMessages', (p, charger) => {
    const at = station.ctx.clock.now();
    for (const m of (p.messageInfo ?? []) as OcppPayload[])
      station.displayMessages.put(charger.identity, {
        id: m.id,
        priority: ours(PRIORITIES, m.priority) ?? m.priority,
        state: m.state ? (ours(STATES, m.state) ?? m.state) : null,
        format: ours(FORMATS, m.message.format) ?? m.message.format,
        language: m.message.language ?? null,
        content: m.message.content,
        start_at: m.startDateTime ?? null,
        end_at: m.endDateTime ?? null,
        transaction_id: m.transactionId ?? null,
        evse: m.display?.evse?.id ?? null,
        source: 'charger',
        updated_at: at,
      });
    return {};
  });
}

/** A display command the charger carried out: what it shows now. */
export function recordDisplayAnswer(station: Station, charger: Charger, name: string, params: unknown): void {
  const at = station.ctx.clock.now();
  if (name === 'clear_display_message')
    return station.displayMessages.remove(charger.identity, (params as { id: number }).id);
  if (name !== 'set_display_message') return;
  const p = params as SetDisplayParams;
  station.displayMessages.put(charger.identity, {
    id: p.id,
    priority: p.priority,
    state: p.state ?? null,
    format: p.message.format ?? 'utf8',
    language: p.message.language ?? null,
    content: p.message.content,
    start_at: p.start_at ?? null,
    end_at: p.end_at ?? null,
    transaction_id: p.transaction_id ?? null,
    evse: p.evse ?? null,
    source: 'operator',
    updated_at: at,
  });
}

const Nullable = <T extends ReturnType<typeof Type.String>>(t: T) => Type.Union([t, Type.Null()]);
const DisplayMessagesOut = Type.Object({
  charger: Type.String(),
  messages: Type.Array(
    Type.Object({
      id: Type.Integer(),
      priority: Type.String({ description: 'always_front, in_front or normal_cycle' }),
      state: Nullable(Type.String()),
      format: Type.String(),
      language: Nullable(Type.String()),
      content: Type.String(),
      start_at: Nullable(Type.String()),
      end_at: Nullable(Type.String()),
      transaction_id: Nullable(Type.String()),
      evse: Type.Union([Type.Integer(), Type.Null()]),
      source: Type.String({ description: 'operator (set_display_message) or charger (NotifyDisplayMessages)' }),
      updated_at: Type.String({ format: 'date-time' }),
    }),
  ),
});

export function registerDisplayRoutes(ctx: PluginContext<OcppConfig>, store: DisplayMessages): void {
  ctx.http.route({
    method: 'GET',
    url: '/api/v1/chargers/:id/display-messages',
    config: { minRole: 'viewer' },
    schema: {
      description:
        'The messages a 2.0.1 charger shows, as set by set_display_message and reported by the charger (get_display_messages)',
      params: Type.Object({ id: Type.String({ minLength: 1, maxLength: 128 }) }, { additionalProperties: false }),
      response: { 200: DisplayMessagesOut },
    },
    handler: async (request) => {
      const charger = (request.params as { id: string }).id;
      const messages = store.of(charger).map((m) => ({ ...m, updated_at: new Date(m.updated_at).toISOString() }));
      return { charger, messages };
    },
  });
}
