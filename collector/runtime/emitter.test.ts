import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { encodeLine } from '../pipeline/line-protocol.ts';
import { defineMeasurement, MemoryDirectory, parseLineHead } from '../sdk/index.ts';
import { Emitter, type SinkRefusal } from './emitter.ts';
import { SelfMetrics } from './self-metrics.ts';

const hostCpu = defineMeasurement({
  name: 'host cpu',
  description: 'test',
  tags: {},
  fields: { usage_pct: { type: 'float', description: '' }, note: { type: 'string', description: '' } },
});
const meter = defineMeasurement({
  name: 'meter',
  description: 'test',
  tags: {},
  fields: {
    wh: { type: 'int', description: '' },
    ok: { type: 'bool', description: '' },
    w: { type: 'float', description: '' },
    n: { type: 'uint', description: '' },
    vendor: { type: 'string', description: '' },
  },
});
const v = defineMeasurement({
  name: 'fine',
  description: 'test',
  tags: {},
  fields: { v: { type: 'float', description: '' } },
});
const declared = (...names: string[]) =>
  new Map([hostCpu, meter, v].filter((m) => names.length === 0 || names.includes(m.name)).map((m) => [m.name, m]));

function setUp(opts: { full?: () => boolean } = {}) {
  const lines: string[] = [];
  const directory = new MemoryDirectory();
  directory.add({ id: 'pc 1', kind: 'pc', model: 'NUC, 12', customer: 'acme', site: 'lyon=3', gateway: 'agent-1' });
  directory.add({ id: 'new-1', kind: 'terminal', lifecycle: 'pending', gateway: 'agent-1' });
  const metrics = new SelfMetrics('test');
  const sink = {
    append: (l: string): SinkRefusal | undefined => {
      if (opts.full?.()) return 'spool_full';
      lines.push(l);
      return undefined;
    },
    committed: async () => {},
  };
  const emitter = new Emitter(sink, directory, metrics, pino({ level: 'silent' }), { now: () => 0 });
  const refusedFor = async (reason: string) =>
    (await metrics.pointsRefused.get()).values.find((x) => x.labels.plugin === 'agent' && x.labels.reason === reason)
      ?.value ?? 0;
  const emitted = async () =>
    (await metrics.pointsEmitted.get()).values.find((x) => x.labels.plugin === 'agent')?.value ?? 0;
  return { lines, forward: emitter.forwarder('agent', declared()), refusedFor, emitted, metrics, directory };
}

describe('Emitter.forwarder (lines encoded at the edge, enriched here)', () => {
  it('writes the head exactly as encodeLine would, inventory tags added, fields and time as received', () => {
    const { lines, forward } = setUp();
    const received = 'host\\ cpu,device=pc\\ 1,mount=C:\\\\x usage_pct=12.5,note="a b" 1700000000000';
    const head = parseLineHead(received);
    forward(head);
    const expected = encodeLine({
      measurement: 'host cpu',
      tags: {
        device: 'pc 1',
        mount: 'C:\\\\x',
        kind: 'pc',
        model: 'NUC, 12',
        customer: 'acme',
        site: 'lyon=3',
        gateway: 'agent-1',
      },
      fields: { usage_pct: 12.5, note: 'a b' },
      time: 1_700_000_000_000,
    });
    expect(lines).toEqual([expected]);
  });

  it('refuses and counts a line without a timestamp or with a tag it cannot write, and keeps forwarding', async () => {
    const { lines, forward, refusedFor, emitted } = setUp();
    expect(forward(parseLineHead('fine,device=pc\\ 1 v=1'))).toBe('no_timestamp');
    expect(forward({ measurement: 'fine', tags: { device: 'pc 1', path: 'ends\\' }, rest: 'v=1 5', time: '5' })).toBe(
      'malformed',
    );
    expect(forward(parseLineHead('fine,device=other v=1 6'))).toBeUndefined();
    expect(lines).toEqual(['fine,device=other v=1 6']);
    expect(await refusedFor('no_timestamp')).toBe(1);
    expect(await refusedFor('malformed')).toBe(1);
    // Accepted points are counted once, however often the metrics are collected.
    expect(await emitted()).toBe(1);
    forward(parseLineHead('fine,device=other v=2 7'));
    expect(await emitted()).toBe(2);
    expect(await emitted()).toBe(2);
  });
});

describe('Emitter.forwarder refuses what an edge may not write', () => {
  it("refuses a line whose identity tags are not the inventory's, and never rewrites them", async () => {
    const { lines, forward, refusedFor } = setUp();
    expect(forward(parseLineHead('fine,device=pc\\ 1,customer=victim v=1 1'))).toBe('identity');
    expect(forward(parseLineHead('fine,device=pc\\ 1,site=victim-hq v=1 2'))).toBe('identity');
    expect(forward(parseLineHead('fine,device=pc\\ 1,gateway=me v=1 3'))).toBe('identity');
    expect(forward(parseLineHead('fine,device=pc\\ 1,kind=charger v=1 4'))).toBe('identity');
    expect(forward(parseLineHead('fine,device=pc\\ 1,model=X v=1 5'))).toBe('identity');
    // A device the inventory does not know has no customer: a line saying it has one is forged.
    expect(forward(parseLineHead('fine,device=NEWDEV,customer=victim,kind=charger v=1 6'))).toBe('identity');
    // A pending device is written with its own identity, which has no customer or site.
    expect(forward(parseLineHead('fine,device=new-1,site=victim-hq v=1 7'))).toBe('identity');
    expect(lines).toEqual([]);
    expect(await refusedFor('identity')).toBe(7);
    // The inventory's own values are no conflict; a pending device's point carries no customer.
    expect(forward(parseLineHead('fine,device=pc\\ 1,customer=acme,kind=pc v=1 8'))).toBeUndefined();
    expect(forward(parseLineHead('fine,device=new-1 v=1 9'))).toBeUndefined();
    expect(lines).toEqual([
      'fine,customer=acme,device=pc\\ 1,gateway=agent-1,kind=pc,model=NUC\\,\\ 12,site=lyon\\=3 v=1 8',
      'fine,device=new-1,gateway=agent-1,kind=terminal v=1 9',
    ]);
  });

  it("refuses measurements not declared for the edge, and the runtime's own, counted `measurement`", async () => {
    const { lines, forward, refusedFor } = setUp();
    for (const name of ['rel_spoof', 'fleet_status', 'device_status', 'meter_hourly']) {
      expect(forward(parseLineHead(`${name},device=pc\\ 1 v=1 1`))).toBe('measurement');
    }
    expect(lines).toEqual([]);
    expect(await refusedFor('measurement')).toBe(4);
  });

  it('refuses a line with a field of another type than declared, or an undeclared field, counted `field_type`', async () => {
    const { lines, forward, refusedFor } = setUp();
    const bad = [
      'meter,device=pc\\ 1 wh="poison" 1', // string for int
      'meter,device=pc\\ 1 wh=5 1', // float for int
      'meter,device=pc\\ 1 wh=5u 1', // uint for int
      'meter,device=pc\\ 1 w=5i 1', // int for float
      'meter,device=pc\\ 1 ok=1i 1', // int for bool
      'meter,device=pc\\ 1 n=-1i 1', // int for uint
      'meter,device=pc\\ 1 vendor=true 1', // bool for string
      'meter,device=pc\\ 1 wh=5i,extra=1 1', // undeclared field after good ones
      'meter,device=pc\\ 1 constructor=1 1', // not declared by inheritance either
    ];
    for (const line of bad) expect(forward(parseLineHead(line)), line).toBe('field_type');
    expect(lines).toEqual([]);
    expect(await refusedFor('field_type')).toBe(bad.length);
    const good = 'meter,device=pc\\ 1 wh=5i,ok=T,w=-1.5e3,n=7u,vendor="a \\"b\\", c=d" 2';
    expect(forward(parseLineHead(good))).toBeUndefined();
    expect(forward(parseLineHead('meter,device=pc\\ 1 ok=false,w=5 3'))).toBeUndefined();
    expect(lines).toHaveLength(2);
  });

  it('checks every line again, also one like lines it has passed, with the inventory of now', () => {
    const { lines, forward, directory } = setUp();
    expect(forward(parseLineHead('meter,device=pc\\ 1 wh=5i,ok=T 1'))).toBeUndefined();
    // The same head and keys as the line passed, another type: still refused.
    expect(forward(parseLineHead('meter,device=pc\\ 1 wh=5,ok=T 2'))).toBe('field_type');
    expect(forward(parseLineHead('meter,device=pc\\ 1 wh=5i,ok=1i 3'))).toBe('field_type');
    // A key that begins like a passed one is not that one.
    expect(forward(parseLineHead('meter,device=pc\\ 1 whx=5i 4'))).toBe('field_type');
    expect(forward(parseLineHead('meter,device=pc\\ 1 w=5i 5'))).toBe('field_type');
    // The device moved to another customer: its next line says so, from the same text.
    directory.add({ id: 'pc 1', kind: 'pc', customer: 'globex', site: 'oslo', gateway: 'agent-1' });
    expect(forward(parseLineHead('meter,device=pc\\ 1 wh=6i,ok=T 6'))).toBeUndefined();
    expect(forward(parseLineHead('meter,device=pc\\ 1,customer=acme wh=6i 7'))).toBe('identity');
    // A head without `device` (a gateway adds its own) is the device's it is given for.
    const unnamed = (device: string) => {
      const head = parseLineHead('fine v=1 8');
      head.tags.device = device;
      return head;
    };
    expect(forward(unnamed('pc 1'))).toBeUndefined();
    expect(forward(unnamed('new-1'))).toBeUndefined();
    expect(lines).toEqual([
      'meter,customer=acme,device=pc\\ 1,gateway=agent-1,kind=pc,model=NUC\\,\\ 12,site=lyon\\=3 wh=5i,ok=T 1',
      'meter,customer=globex,device=pc\\ 1,gateway=agent-1,kind=pc,site=oslo wh=6i,ok=T 6',
      'fine,customer=globex,device=pc\\ 1,gateway=agent-1,kind=pc,site=oslo v=1 8',
      'fine,device=new-1,gateway=agent-1,kind=terminal v=1 8',
    ]);
  });

  it('answers `spool_full` when the sink refuses the line, and does not count it emitted', async () => {
    const { forward, emitted } = setUp({ full: () => true });
    expect(forward(parseLineHead('fine,device=pc\\ 1 v=1 1'))).toBe('spool_full');
    expect(await emitted()).toBe(0);
  });

  it("lets an edge forward its runtime's self-metrics, typed as the runtime writes them", () => {
    const lines: string[] = [];
    const metrics = new SelfMetrics('test');
    const emitter = new Emitter(
      { append: (l) => void lines.push(l), committed: async () => {} },
      new MemoryDirectory(),
      metrics,
      pino({ level: 'silent' }),
      { now: () => 0 },
    );
    const forward = emitter.forwarder('agent', new Map(metrics.specs().map((m) => [m.name, m])));
    expect(
      forward(parseLineHead('fleetpulse_points_dropped_total,device=a1,host=h,reason=spool_full value=3 1')),
    ).toBeUndefined();
    expect(
      forward(parseLineHead('fleetpulse_write_latency_seconds,device=a1,host=h sum=0.5,count=3 1')),
    ).toBeUndefined();
    expect(forward(parseLineHead('fleetpulse_points_dropped_total,device=a1 value="x" 1'))).toBe('field_type');
    expect(lines).toHaveLength(2);
  });
});
