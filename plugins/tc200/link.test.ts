import { describe, expect, it } from 'vitest';
import { Link, LinkClosed, LinkRefused, LinkTimeout } from './link.ts';
import { FrameDecoder, MsgType, NakReason, type Frame } from './protocol.ts';

/**
 * Two link ends joined in memory by a line the test controls: `cut(frame)` decides, per frame
 * (decoded for the test's eyes only), whether it is lost on the way.
 */
function pair(
  options: { refuse?: (f: Frame) => number; cutAtoB?: (f: Frame) => boolean; cutBtoA?: (f: Frame) => boolean } = {},
) {
  const delivered: Frame[] = [];
  const peek = (bytes: Buffer) => new FrameDecoder().push(bytes)[0];
  const a: Link = new Link({
    write: (bytes) => void (options.cutAtoB?.(peek(bytes)) || setImmediate(() => b.receive(bytes))),
    deliver: () => 0,
    ack_timeout_ms: 15,
    max_retries: 3,
  });
  const b: Link = new Link({
    write: (bytes) => void (options.cutBtoA?.(peek(bytes)) || setImmediate(() => a.receive(bytes))),
    deliver: (f) => (delivered.push(f), options.refuse?.(f) ?? 0),
    ack_timeout_ms: 15,
    max_retries: 3,
  });
  return { a, b, delivered };
}

describe('acknowledged link', () => {
  it('delivers in order with sequence 0 first, then 1, 2, ...', async () => {
    const { a, delivered } = pair();
    await Promise.all([1, 2, 3].map((n) => a.send(MsgType.HEARTBEAT, Buffer.from([n]))));
    expect(delivered.map((f) => [f.seq, f.payload[0]])).toEqual([
      [0, 1],
      [1, 2],
      [2, 3],
    ]);
  });

  it('resends when an ACK is lost and delivers the resent frame only once', async () => {
    let acksLost = 0;
    const { a, b, delivered } = pair({ cutBtoA: (f) => f.type === MsgType.ACK && f.seq === 1 && acksLost++ < 2 });
    await a.send(MsgType.HEARTBEAT, Buffer.from([1]));
    await a.send(MsgType.STATUS, Buffer.from([2]));
    expect(delivered.map((f) => f.payload[0])).toEqual([1, 2]);
    // At least the two forced resends; a loaded machine may add late-ACK resends, never deliveries.
    expect(a.stats.retransmissions).toBeGreaterThanOrEqual(2);
    expect(b.stats.duplicates).toBeGreaterThanOrEqual(2);
  });

  it('gives a frame up after every retry, then carries on with the next', async () => {
    let silent = true;
    const { a, delivered } = pair({ cutAtoB: () => silent });
    await expect(a.send(MsgType.HEARTBEAT, Buffer.from([1]))).rejects.toThrow(LinkTimeout);
    expect(a.stats).toMatchObject({ sent: 1, retransmissions: 3, timeouts: 1 });
    silent = false;
    await a.send(MsgType.HEARTBEAT, Buffer.from([2]));
    expect(delivered.map((f) => f.payload[0])).toEqual([2]);
  });

  it('rejects with the reason when the peer refuses a frame, and answers a resend with the same NAK', async () => {
    let naksLost = 1;
    const { a, b, delivered } = pair({
      refuse: (f) => (f.type === 0x7f ? NakReason.UNKNOWN_TYPE : 0),
      cutBtoA: (f) => f.type === MsgType.NAK && naksLost-- > 0,
    });
    const refused = await a.send(0x7f, Buffer.alloc(0)).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(LinkRefused);
    expect((refused as LinkRefused).reason).toBe(NakReason.UNKNOWN_TYPE);
    expect(delivered).toHaveLength(1); // the resend was answered from memory, not delivered again
    expect(b.stats.duplicates).toBeGreaterThanOrEqual(1);
    expect(b.stats.naks_sent).toBe(b.stats.duplicates + 1);
    await a.send(MsgType.HEARTBEAT, Buffer.alloc(0));
    expect(a.stats.naks_received).toBe(1);
  });

  it('close() fails everything waiting with LinkClosed', async () => {
    const { a } = pair({ cutAtoB: () => true });
    const first = a.send(MsgType.HEARTBEAT, Buffer.alloc(0));
    const second = a.send(MsgType.HEARTBEAT, Buffer.alloc(0));
    a.close();
    await expect(first).rejects.toThrow(LinkClosed);
    await expect(second).rejects.toThrow(LinkClosed);
    await expect(a.send(MsgType.HEARTBEAT, Buffer.alloc(0))).rejects.toThrow(LinkClosed);
  });

  it('a resent SEQ 0 frame is delivered once', async () => {
    let acksLost = 2;
    const { a, b, delivered } = pair({ cutBtoA: (f) => f.type === MsgType.ACK && acksLost-- > 0 });
    await a.send(MsgType.HELLO, Buffer.from([7]));
    expect(delivered).toHaveLength(1);
    expect(b.stats.duplicates).toBeGreaterThanOrEqual(2);
  });

  it('a peer that restarts (SEQ 0 again) is not mistaken for a duplicate', async () => {
    const delivered: Frame[] = [];
    let peer: Link | undefined;
    const b = new Link({
      write: (bytes) => setImmediate(() => peer?.receive(bytes)),
      deliver: (f) => (delivered.push(f), 0),
    });
    const end = () =>
      new Link({ write: (bytes) => setImmediate(() => b.receive(bytes)), deliver: () => 0, ack_timeout_ms: 15 });
    peer = end();
    await peer.send(MsgType.HELLO, Buffer.from([1])); // seq 0
    await peer.send(MsgType.HEARTBEAT, Buffer.from([2])); // seq 1
    peer.close();
    peer = end(); // rebooted: its link starts again at seq 0
    await peer.send(MsgType.HELLO, Buffer.from([3]));
    await peer.send(MsgType.HEARTBEAT, Buffer.from([4]));
    expect(delivered.map((f) => [f.seq, f.payload[0]])).toEqual([
      [0, 1],
      [1, 2],
      [0, 3],
      [1, 4],
    ]);
    expect(b.stats.duplicates).toBe(0);
  });
});
