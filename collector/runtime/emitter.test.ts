import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { encodeLine } from '../pipeline/line-protocol.ts';
import { MemoryDirectory, parseLineHead } from '../sdk/index.ts';
import { Emitter } from './emitter.ts';
import { SelfMetrics } from './self-metrics.ts';

function setUp() {
  const lines: string[] = [];
  const directory = new MemoryDirectory();
  directory.add({ id: 'pc 1', kind: 'pc', model: 'NUC, 12', customer: 'acme', site: 'lyon=3', gateway: 'agent-1' });
  const metrics = new SelfMetrics('test');
  const emitter = new Emitter({ append: (l) => void lines.push(l), committed: async () => {} }, directory, metrics, pino({ level: 'silent' }), { now: () => 0 });
  const invalid = async (measurement: string) =>
    (await metrics.pointsInvalid.get()).values.find((v) => v.labels.plugin === 'agent' && v.labels.measurement === measurement)?.value ?? 0;
  const emitted = async () => (await metrics.pointsEmitted.get()).values.find((v) => v.labels.plugin === 'agent')?.value ?? 0;
  return { lines, forward: emitter.forwarder('agent'), invalid, emitted };
}

describe('Emitter.forwarder (lines encoded at the edge, enriched here)', () => {
  it('writes the head exactly as encodeLine would, inventory tags added, fields and time as received', () => {
    const { lines, forward } = setUp();
    const received = 'host\\ cpu,device=pc\\ 1,mount=C:\\\\x usage_pct=12.5,note="a b" 1700000000000';
    const head = parseLineHead(received);
    forward(head);
    const expected = encodeLine({
      measurement: 'host cpu',
      tags: { device: 'pc 1', mount: 'C:\\\\x', kind: 'pc', model: 'NUC, 12', customer: 'acme', site: 'lyon=3', gateway: 'agent-1' },
      fields: { usage_pct: 12.5, note: 'a b' },
      time: 1_700_000_000_000,
    });
    expect(lines).toEqual([expected]);
  });

  it('refuses and counts a line without a timestamp or with a tag it cannot write, and keeps forwarding', async () => {
    const { lines, forward, invalid, emitted } = setUp();
    forward(parseLineHead('no_time,device=pc\\ 1 v=1'));
    forward({ measurement: 'bad_tag', tags: { device: 'pc 1', path: 'ends\\' }, rest: 'v=1 5', time: '5' });
    forward(parseLineHead('fine,device=other v=1 6'));
    expect(lines).toEqual(['fine,device=other v=1 6']);
    expect(await invalid('no_time')).toBe(1);
    expect(await invalid('bad_tag')).toBe(1);
    // Accepted points are counted once, however often the metrics are collected.
    expect(await emitted()).toBe(1);
    forward(parseLineHead('fine,device=other v=2 7'));
    expect(await emitted()).toBe(2);
    expect(await emitted()).toBe(2);
  });
});
