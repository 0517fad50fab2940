/**
 * Display messages on a 2.0.1 charger's screen (SetDisplayMessage, GetDisplayMessages answered
 * by NotifyDisplayMessages, ClearDisplayMessage), in the plugin's naming. Pure: no I/O.
 */
import { Type, type CommandSpec, type Static } from '../../collector/sdk/index.ts';

const closed = { additionalProperties: false } as const;
const choice = (values: readonly string[]) => Type.Union(values.map((v) => Type.Literal(v)));

/** Ours → the spec's names. */
export const PRIORITIES = { always_front: 'AlwaysFront', in_front: 'InFront', normal_cycle: 'NormalCycle' } as const;
export const STATES = { charging: 'Charging', faulted: 'Faulted', idle: 'Idle', unavailable: 'Unavailable' } as const;
export const FORMATS = { ascii: 'ASCII', html: 'HTML', uri: 'URI', utf8: 'UTF8' } as const;
const keys = <T extends object>(o: T) => Object.keys(o) as Array<keyof T & string>;
const priority = choice(keys(PRIORITIES));
const state = choice(keys(STATES));

export const displayMessageSpecs = {
  set_display_message: {
    description: "Shows a message on a 2.0.1 charger's display (SetDisplayMessage); kept in what the API lists",
    params: Type.Object(
      {
        id: Type.Integer({ minimum: 0, description: 'Message id; one already shown with it is replaced' }),
        priority,
        message: Type.Object(
          {
            content: Type.String({ minLength: 1, maxLength: 512 }),
            format: Type.Optional(choice(keys(FORMATS))),
            language: Type.Optional(
              Type.String({ minLength: 2, maxLength: 8, description: 'RFC 5646, e.g. en, de-CH' }),
            ),
          },
          closed,
        ),
        state: Type.Optional(state),
        start_at: Type.Optional(Type.String({ format: 'date-time' })),
        end_at: Type.Optional(Type.String({ format: 'date-time' })),
        transaction_id: Type.Optional(Type.String({ minLength: 1, maxLength: 36 })),
        evse: Type.Optional(Type.Integer({ minimum: 1, description: 'The display of this EVSE; default the station' })),
      },
      closed,
    ),
  },
  get_display_messages: {
    description:
      'Asks a 2.0.1 charger for the messages it shows (GetDisplayMessages), all or by ids, priority or state; they arrive as NotifyDisplayMessages',
    params: Type.Object(
      {
        ids: Type.Optional(Type.Array(Type.Integer({ minimum: 0 }), { minItems: 1, maxItems: 100 })),
        priority: Type.Optional(priority),
        state: Type.Optional(state),
      },
      closed,
    ),
  },
  clear_display_message: {
    description: 'Removes a message from a 2.0.1 charger display (ClearDisplayMessage)',
    params: Type.Object({ id: Type.Integer({ minimum: 0 }) }, closed),
  },
} satisfies Record<string, CommandSpec>;

type Specs = typeof displayMessageSpecs;
export type SetDisplayParams = Static<Specs['set_display_message']['params']>;
type Params<N extends keyof Specs> = Static<Specs[N]['params']>;

/** The call, or why not (1.6 has no display messages). */
export function displayCall(
  v16: boolean,
  name: keyof Specs,
  params: unknown,
  requestId: number,
): { action: string; payload: Record<string, unknown> } | string {
  if (v16) return 'display messages are OCPP 2.0.1 only (1.6 has no SetDisplayMessage)';
  switch (name) {
    case 'set_display_message':
      return { action: 'SetDisplayMessage', payload: { message: messageInfo(params as SetDisplayParams) } };
    case 'get_display_messages': {
      const p = params as Params<'get_display_messages'>;
      return {
        action: 'GetDisplayMessages',
        payload: {
          requestId,
          ...(p.ids ? { id: p.ids } : {}),
          ...(p.priority ? { priority: PRIORITIES[p.priority] } : {}),
          ...(p.state ? { state: STATES[p.state] } : {}),
        },
      };
    }
    case 'clear_display_message':
      return { action: 'ClearDisplayMessage', payload: { id: (params as Params<'clear_display_message'>).id } };
  }
}

/** The 2.0.1 MessageInfoType of set_display_message's params. */
function messageInfo(p: SetDisplayParams): Record<string, unknown> {
  const { content, format = 'utf8', language } = p.message;
  return {
    id: p.id,
    priority: PRIORITIES[p.priority],
    message: { format: FORMATS[format], content, ...(language ? { language } : {}) },
    ...(p.state ? { state: STATES[p.state] } : {}),
    ...(p.start_at ? { startDateTime: p.start_at } : {}),
    ...(p.end_at ? { endDateTime: p.end_at } : {}),
    ...(p.transaction_id ? { transactionId: p.transaction_id } : {}),
    ...(p.evse ? { display: { name: 'Display', evse: { id: p.evse } } } : {}),
  };
}

/** Back from the spec's names to ours, for what a charger reports. */
export function ours<T extends Record<string, string>>(table: T, spec: string | undefined): keyof T | undefined {
  return (Object.keys(table) as Array<keyof T>).find((k) => table[k] === spec);
}
