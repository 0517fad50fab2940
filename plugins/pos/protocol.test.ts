import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  parseBatch,
  parseEvent,
  parseSignatureHeader,
  ProtocolError,
  sign,
  signatureHeader,
  verifySignature,
} from './protocol.ts';

const heartbeat = {
  id: 'e1',
  type: 'heartbeat',
  device: 'pos-1',
  store: 's1',
  time: '2025-05-01T12:00:00+02:00',
  app_version: '4.2',
  printer: 'ok',
  network: 'wifi',
};

describe('pos protocol: events', () => {
  it('reads ISO times with a zone and epoch milliseconds; refuses zoneless and absurd times', () => {
    expect(parseEvent(heartbeat).time).toBe(Date.parse('2025-05-01T10:00:00Z'));
    expect(parseEvent({ ...heartbeat, time: 1746093600000 }).time).toBe(1746093600000);
    for (const time of ['2025-05-01T12:00:00', 17460936, 'yesterday', 1.5e12 + 0.5, null]) {
      expect(() => parseEvent({ ...heartbeat, time }), String(time)).toThrow(/event\.time/);
    }
  });

  it('names the first bad field of each event type', () => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ ...heartbeat, type: 'sale' }, 'event.type'],
      [{ ...heartbeat, id: '' }, 'event.id'],
      [{ ...heartbeat, device: 'pos 1' }, 'event.device'],
      [{ ...heartbeat, printer: 'jammed' }, 'event.printer'],
      [{ ...heartbeat, battery_pct: 101 }, 'event.battery_pct'],
      [
        {
          ...heartbeat,
          type: 'order',
          order_id: 'o',
          total: -1,
          currency: 'EUR',
          items: 1,
          payment_method: 'card',
          status: 'completed',
        },
        'event.total',
      ],
      [
        {
          ...heartbeat,
          type: 'order',
          order_id: 'o',
          total: 1,
          currency: 'EUR',
          items: 1.5,
          payment_method: 'card',
          status: 'completed',
        },
        'event.items',
      ],
      [
        { ...heartbeat, type: 'payment', order_id: 'o', amount: 1, currency: 'EUR', method: 'card', result: 'failure' },
        'event.reason',
      ],
      [{ ...heartbeat, type: 'refund', order_id: 'o', amount: 1, currency: 'eur' }, 'event.currency'],
      [{ ...heartbeat, type: 'error', code: 'E1', severity: 'fatal' }, 'event.severity'],
    ];
    for (const [event, field] of cases) {
      try {
        parseEvent(event);
        expect.fail(`accepted ${JSON.stringify(event)}`);
      } catch (err) {
        expect(err).toBeInstanceOf(ProtocolError);
        expect((err as ProtocolError).field).toBe(field);
      }
    }
  });

  it('holds the event device to the device id rule every door applies', () => {
    // 65 characters pass the event-id pattern (up to 128); '@' and '+' pass only the device rule.
    expect(() => parseEvent({ ...heartbeat, device: 'p'.repeat(65) })).toThrow(/event\.device.*longer than 64/);
    expect(parseEvent({ ...heartbeat, device: 'POS@7+a' }).device).toBe('POS@7+a');
  });

  it('splits a batch into valid events and invalid ones by index', () => {
    const batch = parseBatch({ events: [heartbeat, { ...heartbeat, network: '5g' }, 'x', heartbeat] }, 10);
    expect(batch.events.map((e) => e.index)).toEqual([0, 3]);
    expect(batch.invalid).toEqual([
      { index: 1, field: 'events[1].network', error: expect.stringMatching(/^events\[1\]\.network: must be one of/) },
      { index: 2, field: 'events[2]', error: 'events[2]: must be an object' },
    ]);
  });

  it('never throws anything but ProtocolError on arbitrary JSON', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (body) => {
        try {
          parseBatch(body, 500);
          parseBatch({ events: [body] }, 500);
        } catch (err) {
          if (!(err instanceof ProtocolError)) throw err;
        }
      }),
      { numRuns: 500 },
    );
  });
});

describe('pos protocol: signatures', () => {
  const body = Buffer.from('{"events":[]}');
  it('parses t and every v1, ignores other schemes, refuses incomplete headers', () => {
    const header = signatureHeader(['a', 'b'], 1700000000, body) + ',v0=deadbeef';
    const parsed = parseSignatureHeader(header)!;
    expect(parsed.t).toBe(1700000000);
    expect(parsed.v1).toHaveLength(2);
    for (const bad of [undefined, '', 't=1', `v1=${'0'.repeat(64)}`, `t=x,v1=${'0'.repeat(64)}`, 't=1,v1=abc']) {
      expect(parseSignatureHeader(bad), String(bad)).toBeUndefined();
    }
  });

  it('verifies against any candidate, and only over the exact bytes and timestamp', () => {
    const header = parseSignatureHeader(signatureHeader(['old', 'new'], 1700000000, body))!;
    expect(verifySignature(Buffer.from('new'), header, body)).toBe(true);
    expect(verifySignature(Buffer.from('old'), header, body)).toBe(true);
    expect(verifySignature(Buffer.from('other'), header, body)).toBe(false);
    expect(verifySignature(Buffer.from('new'), header, Buffer.from('{"events":[] }'))).toBe(false);
    expect(verifySignature(Buffer.from('new'), { ...header, t: header.t + 1 }, body)).toBe(false);
    // the reference value from `printf '1.x' | openssl dgst -sha256 -hmac k`
    expect(sign('k', 1, 'x').toString('hex')).toBe('976cb87e4f568d1c0f03f32859e90af8597cf00b978ba37c229c97d3a15b8449');
  });
});
