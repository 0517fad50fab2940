import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify, { type FastifyBaseLogger } from 'fastify';
import pino from 'pino';
import { openStateDb, Spool } from '../../collector/pipeline/spool.ts';
import { Collector } from '../../collector/runtime/collector.ts';
import { SelfMetrics } from '../../collector/runtime/self-metrics.ts';
import { SharedServer } from '../../collector/runtime/shared-server.ts';
import type { DeviceDirectory, Plugin } from '../../collector/sdk/index.ts';

export interface PluginRuntime {
  /** `http://127.0.0.1:<port>` of the shared server. */
  url: string;
  collector: Collector;
  metrics: SelfMetrics;
  spool: Spool;
  /** Committed spool lines, optionally only those of one measurement. */
  lines(measurement?: string): string[];
  /** The value of `fleetpulse_plugin_events_total{plugin, event}` (0 when never counted). */
  events(plugin: string, event: string): Promise<number>;
  stop(): Promise<void>;
}

/**
 * The real runtime for plugin tests: a Collector with a SharedServer (Fastify on 127.0.0.1, a
 * free port) and a Spool on a temporary SQLite file as its sink. Nothing is mocked; `stop()`
 * closes everything and removes the files.
 */
export async function startPluginRuntime(options: {
  plugins: readonly Plugin[];
  pluginConfig: Record<string, unknown>;
  directory: DeviceDirectory;
}): Promise<PluginRuntime> {
  const dir = mkdtempSync(join(tmpdir(), 'fleetpulse-plugin-'));
  const db = openStateDb(join(dir, 'state.db'));
  // Commit at once so that a test reading the spool table right after `committed()` sees the lines.
  const spool = new Spool({ db, commitIntervalMs: 5 });
  const metrics = new SelfMetrics('test');
  const log = pino({ level: process.env.LOG_LEVEL ?? 'silent' });
  const app = Fastify({ loggerInstance: log as FastifyBaseLogger });
  const server = new SharedServer(app);
  const collector = new Collector({ place: 'serve', ...options, sink: spool, db, pluginDb: db, metrics, log, server });
  await collector.start();
  await app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = app.server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    collector,
    metrics,
    spool,
    lines(measurement) {
      spool.commit();
      const all = spool.read(0, Number.MAX_SAFE_INTEGER)?.lines() ?? [];
      return measurement === undefined ? all : all.filter((l) => l.startsWith(`${measurement},`) || l.startsWith(`${measurement} `));
    },
    async events(plugin, event) {
      const sample = (await metrics.pluginEvents.get()).values.find((v) => v.labels.plugin === plugin && v.labels.event === event);
      return sample?.value ?? 0;
    },
    async stop() {
      await collector.stop(2000);
      await app.close();
      // Plugins close their devices' sockets in stop() without waiting for the close handshake;
      // the late 'close' events still report liveness. Let them land before the spool closes.
      await new Promise((resolve) => setTimeout(resolve, 100));
      spool.close();
      db.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
