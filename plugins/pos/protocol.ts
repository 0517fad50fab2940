import { createHmac, timingSafeEqual } from 'node:crypto';
import { deviceIdProblem } from '../../collector/sdk/index.ts';

/**
 * The POS back-office webhook: signed JSON batches of events. Pure (hashing is computation, not
 * I/O), so every rule is tested with plain strings and buffers.
 *
 *   POST /ingest/pos
 *   X-Fleetpulse-Sender: <back-office device id>
 *   X-Fleetpulse-Signature: t=<unix s>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">[,v1=<hex>]
 *   {"events":[{"id":"evt-1","type":"order","device":"pos-7","time":"2025-05-01T12:03:04Z",...}]}
 */

export const EVENT_TYPES = ['heartbeat', 'order', 'payment', 'refund', 'error'] as const;
export type EventType = (typeof EVENT_TYPES)[number];
export const PRINTER_STATES = ['ok', 'paper_low', 'paper_out', 'error', 'offline'] as const;
export const NETWORKS = ['ethernet', 'wifi', 'cellular', 'offline'] as const;
export const PAYMENT_METHODS = ['card', 'cash', 'mobile', 'voucher', 'other'] as const;
export const ORDER_STATUSES = ['completed', 'cancelled', 'open'] as const;
export const SEVERITIES = ['info', 'warning', 'error', 'critical'] as const;

interface Base {
  id: string;
  /** The POS device the event concerns. */
  device: string;
  store: string;
  /** Epoch milliseconds at which the event happened on the device. */
  time: number;
}
export interface Heartbeat extends Base {
  type: 'heartbeat';
  app_version: string;
  printer: (typeof PRINTER_STATES)[number];
  network: (typeof NETWORKS)[number];
  signal_dbm?: number;
  battery_pct?: number;
  charging?: boolean;
}
export interface Order extends Base {
  type: 'order';
  order_id: string;
  total: number;
  currency: string;
  items: number;
  payment_method: (typeof PAYMENT_METHODS)[number];
  status: (typeof ORDER_STATUSES)[number];
}
export interface Payment extends Base {
  type: 'payment';
  order_id: string;
  amount: number;
  currency: string;
  method: (typeof PAYMENT_METHODS)[number];
  result: 'success' | 'failure';
  /** Required when `result` is `failure`: `card_declined`, `insufficient_funds`, `timeout`, ... */
  reason?: string;
}
export interface Refund extends Base {
  type: 'refund';
  order_id: string;
  amount: number;
  currency: string;
  reason?: string;
}
export interface PosError extends Base {
  type: 'error';
  code: string;
  severity: (typeof SEVERITIES)[number];
  message?: string;
}
export type PosEvent = Heartbeat | Order | Payment | Refund | PosError;

/** A field that is wrong, with its JSON path (`events[3].total`). */
export class ProtocolError extends Error {
  override name = 'ProtocolError';
  constructor(
    readonly field: string,
    reason: string,
  ) {
    super(`${field}: ${reason}`);
  }
}

export interface InvalidEvent {
  index: number;
  field: string;
  error: string;
}

export interface ParsedBatch {
  events: Array<{ index: number; event: PosEvent }>;
  invalid: InvalidEvent[];
}

/**
 * Splits a parsed body into valid and invalid events. Throws ProtocolError when the body itself
 * is wrong (not an object, no `events` list, too many events); an invalid event is reported by
 * index and does not spoil the others.
 */
export function parseBatch(body: unknown, maxEvents: number): ParsedBatch {
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw new ProtocolError('body', 'must be a JSON object');
  const events = (body as { events?: unknown }).events;
  if (!Array.isArray(events)) throw new ProtocolError('events', 'must be a list');
  if (events.length === 0) throw new ProtocolError('events', 'must hold at least one event');
  if (events.length > maxEvents)
    throw new ProtocolError('events', `holds ${events.length} events; at most ${maxEvents} per request`);
  const out: ParsedBatch = { events: [], invalid: [] };
  events.forEach((raw, index) => {
    try {
      out.events.push({ index, event: parseEvent(raw, `events[${index}]`) });
    } catch (err) {
      if (!(err instanceof ProtocolError)) throw err;
      out.invalid.push({ index, field: err.field, error: err.message });
    }
  });
  return out;
}

export function parseEvent(raw: unknown, at = 'event'): PosEvent {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new ProtocolError(at, 'must be an object');
  const r = new Reader(raw as Record<string, unknown>, at);
  const type = r.oneOf('type', EVENT_TYPES);
  const base: Base = { id: r.id('id'), device: r.device('device'), store: r.id('store'), time: r.time('time') };
  switch (type) {
    case 'heartbeat':
      return {
        ...base,
        type,
        app_version: r.text('app_version', 64),
        printer: r.oneOf('printer', PRINTER_STATES),
        network: r.oneOf('network', NETWORKS),
        signal_dbm: r.number('signal_dbm', -150, 0, true),
        battery_pct: r.number('battery_pct', 0, 100, true),
        charging: r.bool('charging', true),
      };
    case 'order':
      return {
        ...base,
        type,
        order_id: r.id('order_id'),
        total: r.number('total', 0, 1e9)!,
        currency: r.currency('currency'),
        items: r.integer('items', 0, 100_000),
        payment_method: r.oneOf('payment_method', PAYMENT_METHODS),
        status: r.oneOf('status', ORDER_STATUSES),
      };
    case 'payment': {
      const payment: Payment = {
        ...base,
        type,
        order_id: r.id('order_id'),
        amount: r.number('amount', 0, 1e9)!,
        currency: r.currency('currency'),
        method: r.oneOf('method', PAYMENT_METHODS),
        result: r.oneOf('result', ['success', 'failure'] as const),
        reason: r.optionalId('reason'),
      };
      if (payment.result === 'failure' && !payment.reason)
        throw new ProtocolError(`${at}.reason`, 'is required when result is failure');
      return payment;
    }
    case 'refund':
      return {
        ...base,
        type,
        order_id: r.id('order_id'),
        amount: r.number('amount', 0, 1e9)!,
        currency: r.currency('currency'),
        reason: r.optionalId('reason'),
      };
    case 'error':
      return {
        ...base,
        type,
        code: r.id('code'),
        severity: r.oneOf('severity', SEVERITIES),
        message: r.optionalText('message', 500),
      };
  }
}

// Ids become tag values and table keys: a conservative alphabet keeps them safe in both.
const ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;
const EARLIEST = Date.UTC(2000, 0, 1);

class Reader {
  constructor(
    private readonly o: Record<string, unknown>,
    private readonly at: string,
  ) {}
  private fail(key: string, reason: string): never {
    throw new ProtocolError(`${this.at}.${key}`, reason);
  }
  id(key: string): string {
    const v = this.o[key];
    if (typeof v !== 'string' || !ID.test(v))
      this.fail(key, 'must be an id of 1-128 letters, digits, ".", "_", ":" or "-"');
    return v;
  }
  /** A device id, by the rule every door applies (it becomes the `device` tag). */
  device(key: string): string {
    const v = this.o[key];
    if (typeof v !== 'string') this.fail(key, 'must be a device id');
    const problem = deviceIdProblem(v);
    if (problem) this.fail(key, problem);
    return v;
  }
  optionalId(key: string): string | undefined {
    return this.o[key] === undefined ? undefined : this.id(key);
  }
  text(key: string, max: number): string {
    const v = this.o[key];
    if (typeof v !== 'string' || v.length === 0 || v.length > max)
      this.fail(key, `must be a string of 1-${max} characters`);
    return v;
  }
  optionalText(key: string, max: number): string | undefined {
    return this.o[key] === undefined ? undefined : this.text(key, max);
  }
  oneOf<const T extends readonly string[]>(key: string, values: T): T[number] {
    const v = this.o[key];
    if (typeof v !== 'string' || !values.includes(v)) this.fail(key, `must be one of ${values.join(', ')}`);
    return v;
  }
  number(key: string, min: number, max: number, optional = false): number | undefined {
    const v = this.o[key];
    if (v === undefined && optional) return undefined;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max)
      this.fail(key, `must be a number from ${min} to ${max}`);
    return v;
  }
  integer(key: string, min: number, max: number): number {
    const v = this.number(key, min, max)!;
    if (!Number.isInteger(v)) this.fail(key, 'must be a whole number');
    return v;
  }
  bool(key: string, optional: boolean): boolean | undefined {
    const v = this.o[key];
    if (v === undefined && optional) return undefined;
    if (typeof v !== 'boolean') this.fail(key, 'must be true or false');
    return v;
  }
  currency(key: string): string {
    const v = this.o[key];
    if (typeof v !== 'string' || !/^[A-Z]{3}$/.test(v)) this.fail(key, 'must be an ISO 4217 code such as EUR');
    return v;
  }
  /** ISO 8601 with a zone (`2025-05-01T12:00:00Z`) or epoch milliseconds. */
  time(key: string): number {
    const v = this.o[key];
    let ms = NaN;
    if (typeof v === 'number' && Number.isInteger(v)) ms = v;
    else if (typeof v === 'string' && /(Z|[+-]\d\d:?\d\d)$/.test(v)) ms = Date.parse(v);
    if (!Number.isFinite(ms) || ms < EARLIEST || ms > 4102444800000) {
      this.fail(key, 'must be an ISO 8601 time with a zone or epoch milliseconds, after 2000');
    }
    return ms;
  }
}

// ---- signatures ----

export interface SignatureHeader {
  /** Unix seconds the sender signed at. */
  t: number;
  /** Candidate signatures (several during a secret rotation), as raw bytes. */
  v1: Buffer[];
}

/** Parses `t=<unix>,v1=<hex>[,v1=<hex>]`; unknown schemes (`v0=`) are ignored, as Stripe does. */
export function parseSignatureHeader(header: string | undefined): SignatureHeader | undefined {
  if (!header || header.length > 2048) return undefined;
  let t: number | undefined;
  const v1: Buffer[] = [];
  for (const part of header.split(',')) {
    const eq = part.indexOf('=');
    const key = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    if (key === 't' && /^\d{1,12}$/.test(value)) t = Number(value);
    else if (key === 'v1' && /^[0-9a-fA-F]{64}$/.test(value)) v1.push(Buffer.from(value, 'hex'));
  }
  return t === undefined || v1.length === 0 ? undefined : { t, v1 };
}

export function sign(secret: Buffer | string, t: number, rawBody: Buffer | string): Buffer {
  return createHmac('sha256', secret).update(`${t}.`).update(rawBody).digest();
}

/** The header a back office sends; `secrets` has two entries while a secret is being rotated. */
export function signatureHeader(secrets: Array<Buffer | string>, t: number, rawBody: Buffer | string): string {
  return [`t=${t}`, ...secrets.map((s) => `v1=${sign(s, t, rawBody).toString('hex')}`)].join(',');
}

/** Whether any candidate signature matches, compared in constant time. */
export function verifySignature(secret: Buffer, header: SignatureHeader, rawBody: Buffer): boolean {
  const expected = sign(secret, header.t, rawBody);
  let ok = false;
  // Check every candidate, not just up to the first match, so the time taken says nothing.
  for (const candidate of header.v1) ok = timingSafeEqual(expected, candidate) || ok;
  return ok;
}
