/**
 * TC-200 link framing (see PROTOCOL.md): CRC-16/CCITT-FALSE, the frame encoder and a streaming
 * decoder that survives line noise. Pure: no I/O, no timers, so every rule is tested with bytes.
 *
 *   STX | stuffed( LEN (u16 BE) | TYPE | SEQ | PAYLOAD | CRC (u16 BE over LEN..PAYLOAD) ) | ETX
 *
 * Byte stuffing: inside a frame, STX, ETX and DLE are sent as DLE, byte XOR 0x20. A raw STX
 * therefore always starts a frame and a raw ETX always ends one, so the decoder resynchronises at
 * the next start byte whatever the noise was, and a false start can never hold back a real frame.
 */
export * from './messages.ts';

export const STX = 0x02;
export const ETX = 0x03;
export const DLE = 0x10;
/** Largest payload a frame may carry, in bytes. Bounds the decoder's buffer. */
export const MAX_PAYLOAD = 1024;
/** LEN(2) + TYPE + SEQ + CRC(2): the body around the payload, before stuffing. */
const BODY_OVERHEAD = 6;

export interface Frame {
  type: number;
  seq: number;
  payload: Buffer;
}

/** CRC-16/CCITT-FALSE: poly 0x1021, init 0xFFFF, not reflected, xorout 0 ("123456789" → 0x29B1). */
export function crc16(bytes: Uint8Array, start = 0, end = bytes.length): number {
  let crc = 0xffff;
  for (let i = start; i < end; i++) {
    crc ^= bytes[i] << 8;
    for (let bit = 0; bit < 8; bit++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc;
}

export class FrameTooLarge extends Error {
  override name = 'FrameTooLarge';
}

export function encodeFrame(frame: Frame): Buffer {
  const { type, seq, payload } = frame;
  if (payload.length > MAX_PAYLOAD)
    throw new FrameTooLarge(`payload of ${payload.length} bytes exceeds ${MAX_PAYLOAD}`);
  if (!isByte(type) || !isByte(seq)) throw new RangeError(`type and seq must be bytes, got ${type}/${seq}`);
  const body = Buffer.alloc(payload.length + BODY_OVERHEAD);
  body.writeUInt16BE(payload.length, 0);
  body[2] = type;
  body[3] = seq;
  payload.copy(body, 4);
  body.writeUInt16BE(crc16(body, 0, 4 + payload.length), 4 + payload.length);
  let special = 0;
  for (const b of body) if (b === STX || b === ETX || b === DLE) special++;
  const out = Buffer.alloc(body.length + special + 2);
  let o = 0;
  out[o++] = STX;
  for (const b of body) {
    if (b === STX || b === ETX || b === DLE) {
      out[o++] = DLE;
      out[o++] = b ^ 0x20;
    } else out[o++] = b;
  }
  out[o] = ETX;
  return out;
}

/** What the decoder threw away, for link-quality metrics. Monotonic counters. */
export interface DecoderStats {
  frames: number;
  /** Frames whose CRC did not match: noise inside a frame. */
  bad_crc: number;
  /** Frames cut short by a new start byte, too long, with a bad escape or a length that disagrees. */
  framing_errors: number;
  /** Bytes thrown away: noise between frames and the bytes of every bad frame. */
  discarded_bytes: number;
}

/**
 * Streaming decoder. Feed it chunks as they arrive; it returns the complete, CRC-valid frames.
 * Never throws on input; holds at most one frame's worth of bytes.
 */
export class FrameDecoder {
  readonly stats: DecoderStats = { frames: 0, bad_crc: 0, framing_errors: 0, discarded_bytes: 0 };
  private readonly body = Buffer.alloc(MAX_PAYLOAD + BODY_OVERHEAD);
  private length = 0;
  /** Raw (stuffed) bytes of the frame being read, counted as discarded if it turns out bad. */
  private raw = 0;
  private inFrame = false;
  private escaped = false;

  push(chunk: Uint8Array): Frame[] {
    const frames: Frame[] = [];
    for (const byte of chunk) {
      if (byte === STX) {
        if (this.inFrame) this.abort('framing_errors');
        this.inFrame = true;
        this.raw = 1;
        this.length = 0;
        this.escaped = false;
        continue;
      }
      if (!this.inFrame) {
        this.stats.discarded_bytes++;
        continue;
      }
      this.raw++;
      if (byte === ETX) {
        const frame = this.finish();
        if (frame) frames.push(frame);
        continue;
      }
      if (byte === DLE && !this.escaped) {
        this.escaped = true;
        continue;
      }
      let value = byte;
      if (this.escaped) {
        this.escaped = false;
        value = byte ^ 0x20;
        if (value !== STX && value !== ETX && value !== DLE) {
          this.abort('framing_errors');
          continue;
        }
      }
      if (this.length === this.body.length) {
        this.abort('framing_errors');
        continue;
      }
      this.body[this.length++] = value;
    }
    return frames;
  }

  /** Bytes held for the frame being read. */
  get buffered(): number {
    return this.inFrame ? this.raw : 0;
  }

  private finish(): Frame | undefined {
    const n = this.length;
    if (this.escaped || n < BODY_OVERHEAD || this.body.readUInt16BE(0) !== n - BODY_OVERHEAD) {
      this.abort('framing_errors');
      return undefined;
    }
    if (crc16(this.body, 0, n - 2) !== this.body.readUInt16BE(n - 2)) {
      this.abort('bad_crc');
      return undefined;
    }
    this.inFrame = false;
    this.stats.frames++;
    return { type: this.body[2], seq: this.body[3], payload: Buffer.from(this.body.subarray(4, n - 2)) };
  }

  private abort(why: 'framing_errors' | 'bad_crc'): void {
    this.stats[why]++;
    this.stats.discarded_bytes += this.raw;
    this.inFrame = false;
    this.raw = 0;
  }
}

function isByte(n: number): boolean {
  return Number.isInteger(n) && n >= 0 && n <= 0xff;
}
