import Database from 'better-sqlite3';
import pino from 'pino';
import type { Inventory } from '../inventory/index.ts';
import { Collector } from '../runtime/collector.ts';
import type { LineSink } from '../runtime/emitter.ts';
import type { MaintenanceCalendar } from '../runtime/liveness.ts';
import { SelfMetrics } from '../runtime/self-metrics.ts';
import {
  definePlugin,
  Type,
  type Attachment,
  type Command,
  type CommandSpec,
  type Plugin,
  type PluginContext,
} from '../sdk/index.ts';

/**
 * A fleet of in-test devices behind a real Collector: a small plugin (kind `widget`) registered
 * the way every plugin is, whose devices the test connects, disconnects and answers for. Used by
 * the operations tests (durable commands, rollouts, recovery); it is our SDK used as intended.
 */
export const WIDGET_COMMANDS: Record<string, CommandSpec> = {
  reboot: { description: 'restart', params: Type.Object({}, { additionalProperties: false }) },
  set_volume: {
    description: 'volume',
    params: Type.Object({ level: Type.Integer({ minimum: 0, maximum: 10 }) }, { additionalProperties: false }),
  },
  update_firmware: {
    description: 'install firmware',
    params: Type.Object(
      { version: Type.String(), url: Type.String(), sha256: Type.String() },
      { additionalProperties: false },
    ),
    timeout_s: 5,
  },
};

export type Answer = (device: string, command: Command) => Promise<unknown>;

class LinesSink implements LineSink {
  readonly lines: string[] = [];
  append(line: string): undefined {
    this.lines.push(line);
    return undefined;
  }
  async committed(): Promise<void> {}
}

export interface Fleet {
  collector: Collector;
  plugin: Plugin;
  sink: LinesSink;
  /** Every command each device received, across restarts when the map is shared. */
  received: Map<string, Command[]>;
  /** How devices answer. Default: `ok`; update_firmware reconnects the device with the version. */
  answer: Answer;
  connect(device: string, attrs?: { firmware?: string; state?: 'online' | 'error' }): void;
  disconnect(device: string): void;
  stop: () => Promise<void>;
}

/** A plugin definition for one fleet (it closes over the fleet, so fleets never share state). */
export function widgetPlugin(onStart: (ctx: PluginContext) => void, execute: Answer): Plugin {
  return definePlugin({
    name: 'widgets',
    description: 'in-test devices the test controls',
    kinds: ['widget'],
    runs_in: ['serve'],
    enabled_by_default: true,
    config: Type.Object({}, { additionalProperties: false }),
    measurements: [],
    reporting_interval_s: 3600,
    commands: WIDGET_COMMANDS,
    async start(ctx) {
      onStart(ctx);
      return { async stop() {}, execute };
    },
  });
}

/** Starts a Collector with the widget plugin over the inventory's directory. */
export async function startFleet(
  inventory: Inventory,
  opts: { received?: Map<string, Command[]>; maintenance?: MaintenanceCalendar } = {},
): Promise<Fleet> {
  const db = new Database(':memory:');
  let ctx: PluginContext | undefined;
  const attachments = new Map<string, Attachment>();
  const received = opts.received ?? new Map<string, Command[]>();
  const plugin = widgetPlugin(
    (c) => (ctx = c),
    (device, command) => {
      received.set(device, [...(received.get(device) ?? []), command]);
      return fleet.answer(device, command);
    },
  );
  const fleet: Fleet = {
    collector: undefined as unknown as Collector,
    plugin,
    sink: new LinesSink(),
    received,
    answer: async (device, command) => {
      if (command.name === 'update_firmware') {
        const version = (command.params as { version: string }).version;
        // The device reboots into the new version and says so when it reconnects.
        setTimeout(() => fleet.connect(device, { firmware: version }), 5);
        return { installing: version };
      }
      return 'ok';
    },
    connect(device, attrs = {}) {
      ctx!.seen(device, { kind: 'widget', ...attrs });
      attachments.get(device)?.detach();
      attachments.set(device, ctx!.attach(device, { device }));
    },
    disconnect(device) {
      attachments.get(device)?.detach();
      attachments.delete(device);
      ctx!.offline(device);
    },
    async stop() {
      for (const a of attachments.values()) a.detach();
      await fleet.collector.stop(100);
      db.close();
    },
  };
  fleet.collector = new Collector({
    place: 'serve',
    plugins: [plugin],
    pluginConfig: {},
    sink: fleet.sink,
    db,
    pluginDb: inventory.db,
    directory: inventory.directory,
    metrics: new SelfMetrics('test'),
    log: pino({ level: 'silent' }),
    ...(opts.maintenance ? { liveness: { maintenance: opts.maintenance } } : {}),
  });
  await fleet.collector.start();
  return fleet;
}

/** Waits for a condition, polling every 10 ms; fails naming what it waited for. */
export async function until(done: () => boolean, what: string, limitMs = 15_000): Promise<void> {
  const end = Date.now() + limitMs;
  while (!done()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
