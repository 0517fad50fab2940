import { encodeFrame, FrameDecoder, MsgType, type Frame } from './protocol.ts';

/**
 * The acknowledged TC-200 link over any byte stream (a serial port, a pty, a test pipe): sequence
 * numbers, ACK/NAK, retransmission, duplicate suppression. Stop-and-wait: one unacknowledged
 * frame per direction, which a 115200-baud line and kilobyte frames keep fast enough and which
 * makes reordering impossible. Used by the plugin (host side) and the simulator (device side).
 */
export interface LinkOptions {
  /** Writes bytes to the line. */
  write(bytes: Buffer): void;
  /**
   * Receives each new data frame (duplicates are filtered out). Return 0 to ACK it, or a
   * NakReason to refuse it; the frame is then not delivered again if the peer resends it.
   */
  deliver(frame: Frame): number;
  /** How long to wait for an ACK before resending, ms. Default 300. */
  ack_timeout_ms?: number;
  /** Resends before a frame is given up, after the first send. Default 5. */
  max_retries?: number;
}

export interface LinkStats {
  sent: number;
  retransmissions: number;
  timeouts: number;
  duplicates: number;
  naks_received: number;
  naks_sent: number;
  stray_acks: number;
}

/** The peer did not acknowledge a frame after every retry. */
export class LinkTimeout extends Error {
  override name = 'LinkTimeout';
}
/** The peer received the frame intact and refused it (NAK). */
export class LinkRefused extends Error {
  override name = 'LinkRefused';
  constructor(
    message: string,
    readonly reason: number,
  ) {
    super(message);
  }
}
/** The link was closed while the frame waited. */
export class LinkClosed extends Error {
  override name = 'LinkClosed';
}

interface Outgoing {
  type: number;
  payload: Buffer;
  resolve(): void;
  reject(err: Error): void;
}

export class Link {
  readonly decoder = new FrameDecoder();
  readonly stats: LinkStats = {
    sent: 0,
    retransmissions: 0,
    timeouts: 0,
    duplicates: 0,
    naks_received: 0,
    naks_sent: 0,
    stray_acks: 0,
  };
  private readonly queue: Outgoing[] = [];
  private inFlight?: { out: Outgoing; seq: number; attempts: number; timer: NodeJS.Timeout };
  /** SEQ 0 marks the first frame after this side opened; then 1..255, wrapping. */
  private nextSeq = 0;
  private lastReceived?: { seq: number; type: number; payload: Buffer; reply: number };
  private closed = false;
  private readonly ackTimeout: number;
  private readonly maxRetries: number;

  constructor(private readonly options: LinkOptions) {
    this.ackTimeout = options.ack_timeout_ms ?? 300;
    this.maxRetries = options.max_retries ?? 5;
  }

  /** Queues a frame; resolves when the peer acknowledges it. */
  send(type: number, payload: Buffer): Promise<void> {
    if (this.closed) return Promise.reject(new LinkClosed('link is closed'));
    return new Promise((resolve, reject) => {
      this.queue.push({ type, payload, resolve, reject });
      this.pump();
    });
  }

  /** Feeds bytes read from the line. */
  receive(chunk: Uint8Array): void {
    if (this.closed) return;
    for (const frame of this.decoder.push(chunk)) this.handle(frame);
  }

  /** Rejects everything waiting with LinkClosed and stops the timers. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    const err = new LinkClosed('link closed');
    if (this.inFlight) {
      clearTimeout(this.inFlight.timer);
      this.inFlight.out.reject(err);
      this.inFlight = undefined;
    }
    for (const out of this.queue.splice(0)) out.reject(err);
  }

  get isClosed(): boolean {
    return this.closed;
  }

  private handle(frame: Frame): void {
    if (frame.type === MsgType.ACK || frame.type === MsgType.NAK) return this.onReply(frame);
    // A resend of the frame we last answered (our ACK was lost): answer again, deliver once.
    // SEQ 0 starts every link, so a restarted peer reuses it: there the content must match too.
    const last = this.lastReceived;
    if (
      last &&
      last.seq === frame.seq &&
      (frame.seq !== 0 || (last.type === frame.type && last.payload.equals(frame.payload)))
    ) {
      this.stats.duplicates++;
      this.reply(frame.seq, last.reply);
      return;
    }
    const reason = this.options.deliver(frame);
    this.lastReceived = { seq: frame.seq, type: frame.type, payload: frame.payload, reply: reason };
    this.reply(frame.seq, reason);
  }

  private reply(seq: number, reason: number): void {
    if (reason) this.stats.naks_sent++;
    this.write(
      encodeFrame(
        reason
          ? { type: MsgType.NAK, seq, payload: Buffer.from([reason]) }
          : { type: MsgType.ACK, seq, payload: Buffer.alloc(0) },
      ),
    );
  }

  private onReply(frame: Frame): void {
    const flight = this.inFlight;
    if (!flight || flight.seq !== frame.seq) {
      this.stats.stray_acks++;
      return;
    }
    clearTimeout(flight.timer);
    this.inFlight = undefined;
    if (frame.type === MsgType.ACK) flight.out.resolve();
    else {
      this.stats.naks_received++;
      const reason = frame.payload[0] ?? 0;
      flight.out.reject(
        new LinkRefused(`peer refused frame type 0x${flight.out.type.toString(16)} (reason ${reason})`, reason),
      );
    }
    this.pump();
  }

  private pump(): void {
    if (this.inFlight || this.closed) return;
    const out = this.queue.shift();
    if (!out) return;
    const seq = this.nextSeq;
    this.nextSeq = seq >= 255 ? 1 : seq + 1;
    const bytes = encodeFrame({ type: out.type, seq, payload: out.payload });
    const flight = { out, seq, attempts: 1, timer: undefined as unknown as NodeJS.Timeout };
    const attempt = () => {
      flight.timer = setTimeout(() => {
        if (flight.attempts > this.maxRetries) {
          this.stats.timeouts++;
          this.inFlight = undefined;
          out.reject(
            new LinkTimeout(
              `no ACK for frame type 0x${out.type.toString(16)} seq ${seq} after ${flight.attempts} sends`,
            ),
          );
          this.pump();
          return;
        }
        flight.attempts++;
        this.stats.retransmissions++;
        this.write(bytes);
        attempt();
      }, this.ackTimeout);
    };
    this.inFlight = flight;
    this.stats.sent++;
    this.write(bytes);
    attempt();
  }

  private write(bytes: Buffer): void {
    try {
      this.options.write(bytes);
    } catch {
      // A write to a vanished port: the retransmission timer or the port's close event takes over.
    }
  }
}
