/**
 * TC-200 message codecs: what the payload of each frame type means (see PROTOCOL.md). Pure.
 * Integers are big-endian; `str8` is a u8 length then UTF-8, `str16` a u16 length then UTF-8.
 */
export const MsgType = {
  HELLO: 0x01,
  HEARTBEAT: 0x02,
  STATUS: 0x03,
  IDENTIFY: 0x04,
  ACK: 0x06,
  NAK: 0x15,
  REBOOT: 0x20,
  SET_PARAMS: 0x21,
  GET_DIAGNOSTICS: 0x22,
  FW_BEGIN: 0x30,
  FW_CHUNK: 0x31,
  FW_VERIFY: 0x32,
  FW_APPLY: 0x33,
  FW_ABORT: 0x34,
  RESULT: 0x40,
} as const;

/** Why a receiver refused an intact frame (NAK payload). */
export const NakReason = { UNKNOWN_TYPE: 1, MALFORMED: 2, BUSY: 3 } as const;

export const TERMINAL_STATES = ['idle', 'in_transaction', 'error', 'updating', 'maintenance'] as const;
export type TerminalState = (typeof TERMINAL_STATES)[number];
export const PAPER_STATES = ['ok', 'low', 'out'] as const;
export type PaperState = (typeof PAPER_STATES)[number];
export const RESULT_CODES = ['ok', 'rejected', 'failed'] as const;
export type ResultCode = (typeof RESULT_CODES)[number];

export interface Hello {
  type: 'hello';
  serial: string;
  model: string;
  firmware: string;
  uptime_s: number;
  /** Boots since manufacture, kept in flash: a new value means the terminal restarted. */
  boot_count: number;
}
export interface Heartbeat {
  type: 'heartbeat';
  uptime_s: number;
}
export interface Status {
  type: 'status';
  state: TerminalState;
  error_code: number;
  transactions: number;
  failed_transactions: number;
  paper: PaperState;
  /** Resolution 0.1 °C on the wire (signed tenths). */
  temperature_c: number;
  free_storage_kb: number;
  cpu_pct: number;
  mem_pct: number;
  disk_pct: number;
}
export interface Identify {
  type: 'identify';
}
export interface Reboot {
  type: 'reboot';
  req: number;
}
export interface SetParams {
  type: 'set_params';
  req: number;
  params: Record<string, string>;
}
export interface GetDiagnostics {
  type: 'get_diagnostics';
  req: number;
}
export interface FwBegin {
  type: 'fw_begin';
  req: number;
  version: string;
  size: number;
  sha256: Buffer;
}
export interface FwChunk {
  type: 'fw_chunk';
  req: number;
  offset: number;
  data: Buffer;
}
export interface FwVerify {
  type: 'fw_verify';
  req: number;
}
export interface FwApply {
  type: 'fw_apply';
  req: number;
}
export interface FwAbort {
  type: 'fw_abort';
  req: number;
}
export interface Result {
  type: 'result';
  req: number;
  code: ResultCode;
  message: string;
  values: Record<string, string>;
}

export type DeviceMessage = Hello | Heartbeat | Status | Result;
export type HostMessage =
  Identify | Reboot | SetParams | GetDiagnostics | FwBegin | FwChunk | FwVerify | FwApply | FwAbort;
export type Message = DeviceMessage | HostMessage;

/** An intact frame whose payload does not decode: answered with NAK and counted. */
export class MessageError extends Error {
  override name = 'MessageError';
  constructor(
    message: string,
    readonly reason: number = NakReason.MALFORMED,
  ) {
    super(message);
  }
}

/** Header bytes of FW_CHUNK before the data: req u16 + offset u32. */
export const FW_CHUNK_HEADER = 6;

export function encodeMessage(msg: Message): { type: number; payload: Buffer } {
  const w = new Writer();
  switch (msg.type) {
    case 'hello':
      w.str8(msg.serial).str8(msg.model).str8(msg.firmware).u32(msg.uptime_s).u32(msg.boot_count);
      return { type: MsgType.HELLO, payload: w.done() };
    case 'heartbeat':
      return { type: MsgType.HEARTBEAT, payload: w.u32(msg.uptime_s).done() };
    case 'status':
      w.u8(TERMINAL_STATES.indexOf(msg.state)).u16(msg.error_code).u32(msg.transactions).u32(msg.failed_transactions);
      w.u8(PAPER_STATES.indexOf(msg.paper))
        .i16(Math.round(msg.temperature_c * 10))
        .u32(msg.free_storage_kb);
      w.u8(msg.cpu_pct).u8(msg.mem_pct).u8(msg.disk_pct);
      return { type: MsgType.STATUS, payload: w.done() };
    case 'identify':
      return { type: MsgType.IDENTIFY, payload: w.done() };
    case 'reboot':
      return { type: MsgType.REBOOT, payload: w.u16(msg.req).done() };
    case 'set_params':
      w.u16(msg.req).pairs(msg.params);
      return { type: MsgType.SET_PARAMS, payload: w.done() };
    case 'get_diagnostics':
      return { type: MsgType.GET_DIAGNOSTICS, payload: w.u16(msg.req).done() };
    case 'fw_begin':
      if (msg.sha256.length !== 32) throw new RangeError('fw_begin.sha256 must be 32 bytes');
      w.u16(msg.req).str8(msg.version).u32(msg.size).bytes(msg.sha256);
      return { type: MsgType.FW_BEGIN, payload: w.done() };
    case 'fw_chunk':
      return { type: MsgType.FW_CHUNK, payload: w.u16(msg.req).u32(msg.offset).bytes(msg.data).done() };
    case 'fw_verify':
      return { type: MsgType.FW_VERIFY, payload: w.u16(msg.req).done() };
    case 'fw_apply':
      return { type: MsgType.FW_APPLY, payload: w.u16(msg.req).done() };
    case 'fw_abort':
      return { type: MsgType.FW_ABORT, payload: w.u16(msg.req).done() };
    case 'result':
      w.u16(msg.req).u8(RESULT_CODES.indexOf(msg.code)).str8(msg.message).pairs(msg.values);
      return { type: MsgType.RESULT, payload: w.done() };
  }
}

/** Decodes the payload of a frame of `type`; throws MessageError saying what is wrong. */
export function decodeMessage(type: number, payload: Buffer): Message {
  const r = new Reader(payload);
  let msg: Message;
  switch (type) {
    case MsgType.HELLO:
      msg = {
        type: 'hello',
        serial: r.str8(),
        model: r.str8(),
        firmware: r.str8(),
        uptime_s: r.u32(),
        boot_count: r.u32(),
      };
      if (!msg.serial) throw new MessageError('hello.serial is empty');
      break;
    case MsgType.HEARTBEAT:
      msg = { type: 'heartbeat', uptime_s: r.u32() };
      break;
    case MsgType.STATUS:
      msg = {
        type: 'status',
        state: r.oneOf('status.state', TERMINAL_STATES),
        error_code: r.u16(),
        transactions: r.u32(),
        failed_transactions: r.u32(),
        paper: r.oneOf('status.paper', PAPER_STATES),
        temperature_c: r.i16() / 10,
        free_storage_kb: r.u32(),
        cpu_pct: r.pct('status.cpu_pct'),
        mem_pct: r.pct('status.mem_pct'),
        disk_pct: r.pct('status.disk_pct'),
      };
      break;
    case MsgType.IDENTIFY:
      msg = { type: 'identify' };
      break;
    case MsgType.REBOOT:
      msg = { type: 'reboot', req: r.u16() };
      break;
    case MsgType.SET_PARAMS:
      msg = { type: 'set_params', req: r.u16(), params: r.pairs() };
      break;
    case MsgType.GET_DIAGNOSTICS:
      msg = { type: 'get_diagnostics', req: r.u16() };
      break;
    case MsgType.FW_BEGIN:
      msg = { type: 'fw_begin', req: r.u16(), version: r.str8(), size: r.u32(), sha256: r.bytes(32) };
      break;
    case MsgType.FW_CHUNK:
      msg = { type: 'fw_chunk', req: r.u16(), offset: r.u32(), data: r.rest() };
      if (msg.data.length === 0) throw new MessageError('fw_chunk carries no data');
      break;
    case MsgType.FW_VERIFY:
      msg = { type: 'fw_verify', req: r.u16() };
      break;
    case MsgType.FW_APPLY:
      msg = { type: 'fw_apply', req: r.u16() };
      break;
    case MsgType.FW_ABORT:
      msg = { type: 'fw_abort', req: r.u16() };
      break;
    case MsgType.RESULT:
      msg = {
        type: 'result',
        req: r.u16(),
        code: r.oneOf('result.code', RESULT_CODES),
        message: r.str8(),
        values: r.pairs(),
      };
      break;
    default:
      throw new MessageError(`unknown frame type 0x${type.toString(16).padStart(2, '0')}`, NakReason.UNKNOWN_TYPE);
  }
  r.end(msg.type);
  return msg;
}

class Writer {
  private readonly parts: Buffer[] = [];
  u8(n: number) {
    const b = Buffer.alloc(1);
    b.writeUInt8(n);
    return this.push(b);
  }
  u16(n: number) {
    const b = Buffer.alloc(2);
    b.writeUInt16BE(n);
    return this.push(b);
  }
  i16(n: number) {
    const b = Buffer.alloc(2);
    b.writeInt16BE(n);
    return this.push(b);
  }
  u32(n: number) {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(n);
    return this.push(b);
  }
  bytes(b: Uint8Array) {
    return this.push(Buffer.from(b));
  }
  str8(s: string) {
    const b = Buffer.from(s, 'utf8');
    if (b.length > 0xff) throw new RangeError(`string of ${b.length} bytes does not fit str8`);
    return this.u8(b.length).push(b);
  }
  str16(s: string) {
    const b = Buffer.from(s, 'utf8');
    if (b.length > 0xffff) throw new RangeError(`string of ${b.length} bytes does not fit str16`);
    return this.u16(b.length).push(b);
  }
  /** count u8, then (key str8, value str16) pairs. */
  pairs(values: Record<string, string>) {
    const entries = Object.entries(values);
    if (entries.length > 0xff) throw new RangeError('at most 255 key/value pairs');
    this.u8(entries.length);
    for (const [k, v] of entries) this.str8(k).str16(v);
    return this;
  }
  done(): Buffer {
    return Buffer.concat(this.parts);
  }
  private push(b: Buffer) {
    this.parts.push(b);
    return this;
  }
}

class Reader {
  private at = 0;
  constructor(private readonly buf: Buffer) {}
  private need(n: number, what: string) {
    if (this.at + n > this.buf.length)
      throw new MessageError(`payload ends inside ${what} (byte ${this.at} of ${this.buf.length})`);
  }
  u8() {
    this.need(1, 'u8');
    return this.buf.readUInt8(this.at++);
  }
  u16() {
    this.need(2, 'u16');
    const v = this.buf.readUInt16BE(this.at);
    this.at += 2;
    return v;
  }
  i16() {
    this.need(2, 'i16');
    const v = this.buf.readInt16BE(this.at);
    this.at += 2;
    return v;
  }
  u32() {
    this.need(4, 'u32');
    const v = this.buf.readUInt32BE(this.at);
    this.at += 4;
    return v;
  }
  bytes(n: number) {
    this.need(n, `${n} bytes`);
    const b = Buffer.from(this.buf.subarray(this.at, this.at + n));
    this.at += n;
    return b;
  }
  rest() {
    return this.bytes(this.buf.length - this.at);
  }
  str8() {
    return this.utf8(this.u8());
  }
  str16() {
    return this.utf8(this.u16());
  }
  pairs(): Record<string, string> {
    // fromEntries defines own properties: a key a terminal sends as `__proto__` stays a key
    // (and is refused later as an unknown parameter) instead of replacing the object's prototype.
    const entries: [string, string][] = [];
    for (let n = this.u8(); n > 0; n--) entries.push([this.str8(), this.str16()]);
    return Object.fromEntries(entries);
  }
  oneOf<T extends string>(what: string, values: readonly T[]): T {
    const i = this.u8();
    if (i >= values.length) throw new MessageError(`${what} ${i} is not one of 0..${values.length - 1}`);
    return values[i];
  }
  pct(what: string) {
    const v = this.u8();
    if (v > 100) throw new MessageError(`${what} ${v} is over 100`);
    return v;
  }
  end(what: string) {
    if (this.at !== this.buf.length)
      throw new MessageError(`${what}: ${this.buf.length - this.at} unexpected bytes after the message`);
  }
  private utf8(n: number) {
    const b = this.bytes(n);
    const s = new TextDecoder('utf-8', { fatal: true });
    try {
      return s.decode(b);
    } catch {
      throw new MessageError('string is not valid UTF-8');
    }
  }
}
