import { Type, type Static } from '../../collector/sdk/index.ts';

/**
 * The TC-200's settable parameters. The schema is what `set_parameters` declares (the command bus
 * validates against it); on the wire every value travels as a string (SET_PARAMS key/value pairs).
 */
export const TerminalParameters = Type.Object(
  {
    heartbeat_interval_s: Type.Optional(
      Type.Integer({ minimum: 1, maximum: 3600, description: 'Seconds between heartbeats' }),
    ),
    status_interval_s: Type.Optional(
      Type.Integer({ minimum: 1, maximum: 86_400, description: 'Seconds between status reports' }),
    ),
    receipt_header: Type.Optional(Type.String({ maxLength: 40, description: 'First line printed on receipts' })),
    beep_volume: Type.Optional(Type.Integer({ minimum: 0, maximum: 10, description: 'Keypad and card beep volume' })),
    idle_timeout_s: Type.Optional(
      Type.Integer({ minimum: 10, maximum: 3600, description: 'Seconds before the screen returns to idle' }),
    ),
    contactless_enabled: Type.Optional(Type.Boolean({ description: 'Accept contactless (NFC) cards' })),
    currency: Type.Optional(Type.String({ pattern: '^[A-Z]{3}$', description: 'ISO 4217 currency code' })),
  },
  { additionalProperties: false, minProperties: 1 },
);
export type TerminalParameters = Static<typeof TerminalParameters>;

export type DeviceParameters = Required<TerminalParameters>;

export const DEFAULT_DEVICE_PARAMETERS: DeviceParameters = {
  heartbeat_interval_s: 10,
  status_interval_s: 60,
  receipt_header: '',
  beep_volume: 5,
  idle_timeout_s: 60,
  contactless_enabled: true,
  currency: 'EUR',
};

/** Host side: parameters to SET_PARAMS pairs. */
export function parametersToWire(params: TerminalParameters): Record<string, string> {
  return Object.fromEntries(
    Object.entries(params)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => [k, String(v)]),
  );
}

/**
 * Device side: applies SET_PARAMS pairs to the current parameters, or says which one is wrong.
 * The terminal checks again what the host checked, because a host is not the only writer
 * (a service technician's tool is another).
 */
export function applyDeviceParameters(
  current: DeviceParameters,
  wire: Record<string, string>,
): DeviceParameters | string {
  const next: Record<string, unknown> = { ...current };
  for (const [key, raw] of Object.entries(wire)) {
    if (!Object.hasOwn(DEFAULT_DEVICE_PARAMETERS, key)) return `unknown parameter ${key}`;
    const schema = (
      TerminalParameters.properties as Record<
        string,
        { type?: string; minimum?: number; maximum?: number; maxLength?: number; pattern?: string }
      >
    )[key];
    if (schema.type === 'integer') {
      const n = Number(raw);
      if (!/^-?\d+$/.test(raw) || n < (schema.minimum ?? -Infinity) || n > (schema.maximum ?? Infinity))
        return `${key}: ${raw} is out of range`;
      next[key] = n;
    } else if (schema.type === 'boolean') {
      if (raw !== 'true' && raw !== 'false') return `${key}: ${raw} is not true or false`;
      next[key] = raw === 'true';
    } else {
      if (schema.maxLength !== undefined && raw.length > schema.maxLength)
        return `${key}: longer than ${schema.maxLength}`;
      if (schema.pattern && !new RegExp(schema.pattern).test(raw))
        return `${key}: ${raw} does not match ${schema.pattern}`;
      next[key] = raw;
    }
  }
  return next as DeviceParameters;
}
