import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  crc16,
  decodeMessage,
  encodeFrame,
  encodeMessage,
  FrameDecoder,
  MAX_PAYLOAD,
  MessageError,
  MsgType,
  NakReason,
  type Frame,
} from './protocol.ts';

// Recorded from a TC-200 session (see PROTOCOL.md for the field layout).
const HELLO_HEX = '02002001000a5443322d3030303132330654432d32303005322e342e310000002a00000011637103';
const STATUS_HEX = '020015102305102201f4000004d20000000701019f0000c800253e50e45803'; // TYPE 03 and state 02 stuffed
const HEARTBEAT_HEX = '02000410220600000e103087102303';
const ACK5_HEX = '02000006057ec303';
const bytes = (hex: string) => Buffer.from(hex, 'hex');

describe('CRC-16/CCITT-FALSE', () => {
  it('gives the catalogue check value for "123456789"', () => {
    expect(crc16(Buffer.from('123456789'))).toBe(0x29b1);
  });
});

describe('recorded frames', () => {
  it('decode to hello, status, heartbeat and ACK', () => {
    const d = new FrameDecoder();
    const frames = d.push(bytes(HELLO_HEX + STATUS_HEX + HEARTBEAT_HEX + ACK5_HEX));
    expect(frames.map((f) => [f.type, f.seq])).toEqual([
      [MsgType.HELLO, 0],
      [MsgType.STATUS, 5],
      [MsgType.HEARTBEAT, 6],
      [MsgType.ACK, 5],
    ]);
    expect(decodeMessage(frames[0].type, frames[0].payload)).toEqual({
      type: 'hello',
      serial: 'TC2-000123',
      model: 'TC-200',
      firmware: '2.4.1',
      uptime_s: 42,
      boot_count: 17,
    });
    expect(decodeMessage(frames[1].type, frames[1].payload)).toEqual({
      type: 'status',
      state: 'error',
      error_code: 500,
      transactions: 1234,
      failed_transactions: 7,
      paper: 'low',
      temperature_c: 41.5,
      free_storage_kb: 51200,
      cpu_pct: 37,
      mem_pct: 62,
      disk_pct: 80,
    });
    expect(decodeMessage(frames[2].type, frames[2].payload)).toEqual({ type: 'heartbeat', uptime_s: 3600 });
    expect(d.stats).toEqual({ frames: 4, bad_crc: 0, framing_errors: 0, discarded_bytes: 0 });
  });

  it('the encoder reproduces the recorded bytes', () => {
    const e = encodeMessage({
      type: 'hello',
      serial: 'TC2-000123',
      model: 'TC-200',
      firmware: '2.4.1',
      uptime_s: 42,
      boot_count: 17,
    });
    expect(encodeFrame({ ...e, seq: 0 }).toString('hex')).toBe(HELLO_HEX);
  });

  it('reassembles a frame split at every byte', () => {
    const d = new FrameDecoder();
    const all = bytes(STATUS_HEX);
    const frames = [...all].flatMap((b) => d.push(Buffer.from([b])));
    expect(frames).toHaveLength(1);
    expect(d.buffered).toBe(0);
  });

  it('skips line noise, counts a bad CRC and still finds the next frame', () => {
    const corrupt = bytes(STATUS_HEX);
    corrupt[10] ^= 0x40; // one flipped bit inside the payload
    const d = new FrameDecoder();
    const frames = d.push(Buffer.concat([bytes('ff02ffaa55'), corrupt, bytes('00'), bytes(HEARTBEAT_HEX)]));
    expect(frames.map((f) => f.type)).toEqual([MsgType.HEARTBEAT]);
    expect(d.stats.bad_crc).toBe(1);
    expect(d.stats.discarded_bytes).toBeGreaterThan(corrupt.length);
  });

  it('a false start byte or a lost end byte costs only that frame', () => {
    const d = new FrameDecoder();
    const status = bytes(STATUS_HEX);
    const noEnd = status.subarray(0, status.length - 1);
    // Noise with a start byte and a huge length, then a frame that lost its end byte, then two good ones.
    const frames = d.push(
      Buffer.concat([bytes('0203ffff'), bytes('02ffff77'), noEnd, bytes(ACK5_HEX), bytes(HEARTBEAT_HEX)]),
    );
    expect(frames.map((f) => f.type)).toEqual([MsgType.ACK, MsgType.HEARTBEAT]);
    expect(d.stats.framing_errors).toBe(3); // '0203' (empty), '02ffff77' (cut short), the frame without its end
    expect(d.buffered).toBe(0);
  });

  it('refuses a bad escape and an over-long frame', () => {
    const d = new FrameDecoder();
    const long = Buffer.concat([bytes('02'), Buffer.alloc(MAX_PAYLOAD + 10, 0x41), bytes('03')]);
    expect(d.push(Buffer.concat([bytes('02001041'), long, bytes(ACK5_HEX)])).map((f) => f.type)).toEqual([MsgType.ACK]);
    expect(d.stats.framing_errors).toBe(2);
  });
});

describe('message codecs refuse malformed payloads with a specific error', () => {
  const cases: Array<[string, number, string, RegExp]> = [
    ['truncated hello', MsgType.HELLO, '0a5443', /ends inside/],
    ['trailing bytes', MsgType.HEARTBEAT, '00000e1099', /unexpected bytes/],
    ['state out of range', MsgType.STATUS, '0901f4000004d20000000701019f0000c800253e50', /status.state 9/],
    ['cpu over 100', MsgType.STATUS, '0201f4000004d20000000701019f0000c800653e50', /cpu_pct 101/],
    ['empty serial', MsgType.HELLO, '000654432d32303005322e342e310000002a00000001', /serial is empty/],
    ['bad UTF-8', MsgType.HELLO, '02c3280654432d32303005322e342e310000002a', /UTF-8/],
  ];
  for (const [name, type, hex, message] of cases) {
    it(name, () => {
      expect(() => decodeMessage(type, bytes(hex))).toThrow(MessageError);
      expect(() => decodeMessage(type, bytes(hex))).toThrow(message);
    });
  }
  it('an unknown frame type carries the UNKNOWN_TYPE NAK reason', () => {
    try {
      decodeMessage(0x7f, Buffer.alloc(0));
      expect.unreachable();
    } catch (err) {
      expect((err as MessageError).reason).toBe(NakReason.UNKNOWN_TYPE);
    }
  });
});

const frameArb: fc.Arbitrary<Frame> = fc.record({
  type: fc.integer({ min: 0, max: 255 }),
  seq: fc.integer({ min: 0, max: 255 }),
  payload: fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)),
});

/** Splits bytes into chunks at the given cut points. */
function chunk(all: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (all.length + 1)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let from = 0;
  for (const p of [...points, all.length]) {
    out.push(all.subarray(from, p));
    from = p;
  }
  return out;
}

const isSubsequence = (want: Frame[], got: Frame[]) => {
  let j = 0;
  for (const f of got)
    if (j < want.length && f.type === want[j].type && f.seq === want[j].seq && f.payload.equals(want[j].payload)) j++;
  return j === want.length;
};

describe('properties', () => {
  it('random frames round-trip through arbitrary chunking', () => {
    fc.assert(
      fc.property(fc.array(frameArb, { maxLength: 8 }), fc.array(fc.nat(), { maxLength: 20 }), (frames, cuts) => {
        const d = new FrameDecoder();
        const got = chunk(Buffer.concat(frames.map(encodeFrame)), cuts).flatMap((c) => d.push(c));
        expect(got).toEqual(frames);
        expect(d.stats.discarded_bytes).toBe(0);
      }),
    );
  });

  it('random garbage never throws and never yields a frame with a bad CRC', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2000 }), fc.array(fc.nat(), { maxLength: 10 }), (garbage, cuts) => {
        const d = new FrameDecoder();
        const got = chunk(Buffer.from(garbage), cuts).flatMap((c) => d.push(c));
        // Whatever comes out must re-encode to a frame whose CRC checks: the decoder only yields those.
        for (const f of got) expect(new FrameDecoder().push(encodeFrame(f))).toEqual([f]);
      }),
    );
  });

  it('garbage between frames loses no valid frame', () => {
    // Garbage rich in start and end bytes, the worst case for resynchronisation.
    const noise = fc.array(
      fc.oneof(fc.constant(0x02), fc.constant(0x03), fc.constant(0x00), fc.integer({ min: 0, max: 255 })),
      { maxLength: 60 },
    );
    fc.assert(
      fc.property(
        fc.array(fc.tuple(noise, frameArb), { maxLength: 6 }),
        noise,
        fc.array(fc.nat(), { maxLength: 12 }),
        (pairs, tail, cuts) => {
          const stream = Buffer.concat([
            ...pairs.flatMap(([g, f]) => [Buffer.from(g), encodeFrame(f)]),
            Buffer.from(tail),
          ]);
          const d = new FrameDecoder();
          const got = chunk(stream, cuts).flatMap((c) => d.push(c));
          // Stuffing makes this exact: only real frames come out, none is lost.
          expect(
            isSubsequence(
              pairs.map(([, f]) => f),
              got,
            ),
          ).toBe(true);
        },
      ),
    );
  });

  it('frames of the maximum size still pass', () => {
    // All start bytes: the stuffed frame is twice as long and must still decode.
    const f = { type: MsgType.FW_CHUNK, seq: 9, payload: Buffer.alloc(MAX_PAYLOAD, 0x02) };
    expect(new FrameDecoder().push(encodeFrame(f))).toEqual([f]);
    expect(() => encodeFrame({ ...f, payload: Buffer.alloc(MAX_PAYLOAD + 1) })).toThrow(/exceeds/);
  });

  it('keeps a parameter named __proto__ as a key instead of a prototype (fast-check found it)', () => {
    const m = { type: 'set_params' as const, req: 0, params: Object.fromEntries([['__proto__', 'x']]) };
    const decoded = decodeMessage(encodeMessage(m).type, encodeMessage(m).payload) as typeof m;
    expect(Object.hasOwn(decoded.params, '__proto__')).toBe(true);
    expect(Object.getPrototypeOf(decoded.params)).toBe(Object.prototype);
    expect(decoded).toEqual(m);
  });

  it('every message round-trips through its codec', () => {
    const str = fc.string({ minLength: 1, maxLength: 40 });
    const msgs = fc.oneof(
      fc.record({
        type: fc.constant('hello' as const),
        serial: str,
        model: str,
        firmware: str,
        uptime_s: fc.nat(),
        boot_count: fc.nat(),
      }),
      fc.record({
        type: fc.constant('set_params' as const),
        req: fc.integer({ min: 0, max: 65535 }),
        params: fc.dictionary(str, fc.string({ maxLength: 100 })),
      }),
      fc.record({
        type: fc.constant('result' as const),
        req: fc.integer({ min: 0, max: 65535 }),
        code: fc.constantFrom('ok' as const, 'rejected' as const, 'failed' as const),
        message: fc.string({ maxLength: 60 }),
        values: fc.dictionary(str, fc.string({ maxLength: 100 })),
      }),
      fc.record({
        type: fc.constant('fw_chunk' as const),
        req: fc.nat({ max: 65535 }),
        offset: fc.nat(),
        data: fc.uint8Array({ minLength: 1, maxLength: 512 }).map((a) => Buffer.from(a)),
      }),
    );
    fc.assert(
      fc.property(msgs, (m) => {
        const { type, payload } = encodeMessage(m);
        expect(decodeMessage(type, payload)).toEqual(m);
      }),
    );
  });
});
