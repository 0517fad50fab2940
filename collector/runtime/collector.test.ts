import Database from 'better-sqlite3';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import {
  definePlugin,
  defineMeasurement,
  MemoryDirectory,
  PluginConfigError,
  Type,
  type Plugin,
  type PluginContext,
} from '../sdk/index.ts';
import { Collector, type CollectorOptions } from './collector.ts';
import type { LineSink } from './emitter.ts';
import { SelfMetrics } from './self-metrics.ts';

const log = pino({ level: 'silent' });

/** Our own LineSink (the seam between emit and the spool): keeps the encoded lines. */
class LinesSink implements LineSink {
  readonly lines: string[] = [];
  append(line: string): undefined {
    this.lines.push(line);
    return undefined;
  }
  async committed(): Promise<void> {}
}

const reading = defineMeasurement({
  name: 'reading',
  description: 'test',
  tags: { channel: 'input channel' },
  fields: { value: { type: 'float', description: 'v' }, count: { type: 'int', description: 'n' } },
});

interface TestPluginOptions {
  name: string;
  started?: string[];
  /** Start fails this many times before it succeeds. */
  failures?: number;
  onStart?: (ctx: PluginContext<{ port: number }>) => void;
}

function testPlugin(o: TestPluginOptions): Plugin & { attempts: number } {
  const counter = { attempts: 0 };
  const plugin = definePlugin({
    name: o.name,
    description: 'test plugin',
    kinds: ['sensor'],
    runs_in: ['serve'],
    enabled_by_default: true,
    config: Type.Object({ port: Type.Integer({ default: 1000, minimum: 1 }) }, { additionalProperties: false }),
    measurements: [reading],
    reporting_interval_s: 10,
    async start(ctx) {
      counter.attempts++;
      if (counter.attempts <= (o.failures ?? 0)) throw new Error(`port ${ctx.config.port} is busy`);
      o.started?.push(ctx.instance);
      o.onStart?.(ctx);
      return { async stop() {} };
    },
  });
  return Object.defineProperty(plugin, 'attempts', { get: () => counter.attempts }) as typeof plugin & {
    attempts: number;
  };
}

const open: Array<{ collector: Collector; db: Database.Database }> = [];
afterEach(async () => {
  for (const { collector, db } of open.splice(0)) {
    await collector.stop(100);
    db.close();
  }
});

function collectorWith(plugins: Plugin[], extra: Partial<CollectorOptions> = {}) {
  const db = new Database(':memory:');
  const sink = new LinesSink();
  const metrics = new SelfMetrics('test-host');
  const directory = new MemoryDirectory();
  const collector = new Collector({
    place: 'serve',
    plugins,
    pluginConfig: {},
    sink,
    db,
    pluginDb: db,
    directory,
    metrics,
    log,
    ...extra,
  });
  open.push({ collector, db });
  return { collector, sink, metrics, directory };
}

async function until(done: () => boolean, what: string, limitMs = 10_000): Promise<void> {
  const end = Date.now() + limitMs;
  while (!done()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('Collector lifecycle', () => {
  it('starts plugins in the order of the plugin list, several instances of one in their order', async () => {
    const started: string[] = [];
    const { collector } = collectorWith([testPlugin({ name: 'b', started }), testPlugin({ name: 'a', started })], {
      pluginConfig: { b: [{ port: 1 }, { port: 2 }] },
    });
    expect(collector.planned).toEqual(['b#1', 'b#2', 'a']);
    await collector.start();
    expect(started).toEqual(['b#1', 'b#2', 'a']);
  });

  it('refuses bad plugin configuration before anything starts, naming plugin and key', () => {
    const make = (pluginConfig: Record<string, unknown>) => () =>
      collectorWith([testPlugin({ name: 'p' })], { pluginConfig });
    expect(make({ p: { port: 0 } })).toThrow(PluginConfigError);
    expect(make({ p: { port: 0 } })).toThrow(/^plugins\.p\.port: /);
    expect(make({ p: { port: 'x' } })).toThrow(/^plugins\.p\.port: /);
    expect(make({ p: { colour: 'red' } })).toThrow('plugins.p.colour: unknown option');
    expect(make({ p: { on_start_failure: 'sometimes' } })).toThrow(/plugins\.p\.on_start_failure/);
    expect(make({ q: {} })).toThrow(/plugins\.q: no such plugin; installed: p/);
  });

  it('stops the process start when a plugin fails and the policy is exit', async () => {
    const started: string[] = [];
    const { collector, metrics } = collectorWith(
      [
        testPlugin({ name: 'first', started }),
        testPlugin({ name: 'broken', failures: 1 }),
        testPlugin({ name: 'last', started }),
      ],
      { onStartFailure: 'exit' },
    );
    await expect(collector.start()).rejects.toThrow('plugin broken failed to start: port 1000 is busy');
    expect(started).toEqual(['first']);
    expect(await metrics.registry.metrics()).toMatch(
      /fleetpulse_plugin_events_total\{plugin="broken",event="start_failed"\} 1/,
    );
  });

  it('retries a plugin whose start fails with backoff while the others run (policy retry)', async () => {
    const started: string[] = [];
    const broken = testPlugin({ name: 'broken', failures: 2, started });
    const { collector, metrics } = collectorWith([broken, testPlugin({ name: 'other', started })], {
      onStartFailure: 'retry',
    });
    await collector.start();
    expect(started).toEqual(['other']);
    expect(collector.running).toEqual({ broken: false, other: true });
    await until(() => collector.running.broken === true, 'the third attempt');
    expect(broken.attempts).toBe(3);
    expect(started).toEqual(['other', 'broken']);
    expect(await metrics.registry.metrics()).toMatch(/fleetpulse_plugin_up\{plugin="broken"\} 1/);
  });

  it('lets a plugin choose its own start-failure policy', async () => {
    const { collector } = collectorWith([testPlugin({ name: 'p', failures: 1 })], {
      onStartFailure: 'retry',
      pluginConfig: { p: { on_start_failure: 'exit' } },
    });
    await expect(collector.start()).rejects.toThrow(/plugin p failed to start/);
  });
});

describe('Collector emit path', () => {
  it('enriches device points with kind, model, customer, site and gateway from the directory', async () => {
    let ctx!: PluginContext<{ port: number }>;
    const { collector, sink, directory } = collectorWith([testPlugin({ name: 'p', onStart: (c) => (ctx = c) })]);
    directory.add({
      id: 'dev-1',
      kind: 'sensor',
      model: 'TH-1',
      customer: 'acme',
      site: 'store-9',
      gateway: 'agent-3',
    });
    await collector.start();
    sink.lines.length = 0;
    ctx.emit('reading', { value: 1.5, count: 3 }, { device: 'dev-1', channel: 'a' }, 1_700_000_000_000);
    ctx.emit('reading', { value: 2 }, { device: 'unknown-device' }, 1_700_000_000_001);
    expect(sink.lines).toEqual([
      'reading,channel=a,customer=acme,device=dev-1,gateway=agent-3,kind=sensor,model=TH-1,site=store-9 value=1.5,count=3i 1700000000000',
      'reading,device=unknown-device value=2 1700000000001',
    ]);
    // A device moved to another site gets a new record; its next point carries the new site.
    directory.add({ id: 'dev-1', kind: 'sensor', model: 'TH-1', customer: 'acme', site: 'store-12' });
    ctx.emit('reading', { value: 3 }, { device: 'dev-1' }, 1_700_000_000_002);
    expect(sink.lines.at(-1)).toBe(
      'reading,customer=acme,device=dev-1,kind=sensor,model=TH-1,site=store-12 value=3 1700000000002',
    );
  });

  it('refuses and counts an undeclared measurement, an undeclared field and a wrong type, without throwing', async () => {
    let ctx!: PluginContext<{ port: number }>;
    const { collector, sink, metrics } = collectorWith([testPlugin({ name: 'p', onStart: (c) => (ctx = c) })]);
    await collector.start();
    sink.lines.length = 0;
    expect(() => ctx.emit('nope', { value: 1 }, { device: 'd' })).not.toThrow();
    expect(() => ctx.emit('reading', { value: 1, extra: 2 }, { device: 'd' })).not.toThrow();
    expect(() => ctx.emit('reading', { count: 1.5 }, { device: 'd' })).not.toThrow();
    expect(() => ctx.emit('reading', { value: Number.NaN }, { device: 'd' })).not.toThrow();
    ctx.emit('reading', { value: 1 }, { device: 'd' }, 5);
    expect(sink.lines).toEqual(['reading,device=d value=1 5']);
    const text = await metrics.registry.metrics();
    expect(text).toMatch(/fleetpulse_points_invalid_total\{plugin="p",measurement="nope"\} 1/);
    expect(text).toMatch(/fleetpulse_points_invalid_total\{plugin="p",measurement="reading"\} 3/);
    expect(text).toMatch(/fleetpulse_points_emitted_total\{plugin="p"\} 1/);
  });

  it("writes the per-group fleet counts in serve only (an agent's would count its devices twice)", async () => {
    for (const place of ['serve', 'agent'] as const) {
      const { collector, sink, directory } = collectorWith([], { place });
      directory.add({ id: 'dev-1', kind: 'sensor', model: 'TH-1', customer: 'acme', site: 'store-12' });
      await collector.start();
      collector.liveness.tick(Date.now() + 120_000);
      expect(
        sink.lines.some((l) => l.startsWith('device_status,')),
        place,
      ).toBe(true);
      const groups = sink.lines.filter((l) => l.startsWith('fleet_status,') || l.startsWith('fleet_firmware,'));
      expect(groups.length > 0, place).toBe(place === 'serve');
    }
  });

  it('writes its self-metrics as fleetpulse_* points every interval, the same values as /metrics', async () => {
    let ctx!: PluginContext<{ port: number }>;
    const { collector, sink, metrics } = collectorWith([testPlugin({ name: 'p', onStart: (c) => (ctx = c) })], {
      selfMetricsIntervalS: 0.05,
    });
    await collector.start();
    ctx.emit('reading', { value: 1 }, { device: 'd' });
    ctx.count('malformed_frame', 2);
    ctx.gauge('connections', 7);
    await until(() => sink.lines.some((l) => l.startsWith('fleetpulse_points_emitted_total,')), 'self-metric points');
    const points = sink.lines.filter((l) => l.startsWith('fleetpulse_'));
    expect(points.some((l) => /^fleetpulse_points_emitted_total,host=test-host,plugin=p value=1 \d+$/.test(l))).toBe(
      true,
    );
    expect(
      points.some((l) =>
        /^fleetpulse_plugin_events_total,event=malformed_frame,host=test-host,plugin=p value=2 \d+$/.test(l),
      ),
    ).toBe(true);
    expect(
      points.some((l) => /^fleetpulse_plugin_gauge,host=test-host,name=connections,plugin=p value=7 \d+$/.test(l)),
    ).toBe(true);
    expect(points.some((l) => /^fleetpulse_plugin_up,host=test-host,plugin=p value=1 \d+$/.test(l))).toBe(true);
    const text = await metrics.registry.metrics();
    expect(text).toMatch(/fleetpulse_plugin_events_total\{plugin="p",event="malformed_frame"\} 2/);
    expect(text).toMatch(/fleetpulse_plugin_gauge\{plugin="p",name="connections"\} 7/);
  });
});
