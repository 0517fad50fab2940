import { join } from 'node:path';
import type { InfluxBackupTarget } from '../collector/pipeline/influx-backup.ts';
import { embeddedInfluxdAddresses } from '../collector/pipeline/local-influxd.ts';
import type { Config } from './config.ts';

export const V2_NOT_COVERED =
  "InfluxDB 2.x/3.x (influx.api v2) is backed up with its own tools: `influx backup` (2.x), the service's snapshots (3.x, Cloud); see docs/operations.md";

/**
 * Where `influxd backup` reads from, asked at each backup: the embedded influxd (its RPC port is
 * in its generated config while it runs), or that of the configured server.
 */
export function influxBackupSource(config: Config): () => Promise<InfluxBackupTarget | { skipped: string }> {
  const database = config.influx.database;
  return async () => {
    if (config.influx.api === 'v2') return { skipped: V2_NOT_COVERED };
    if (config.influx.url) return { rpc: configuredInfluxRpc(config), database };
    const embedded = await embeddedInfluxdAddresses(join(config.data_dir, 'influxdb'));
    if (!embedded) throw new Error('the embedded influxd is not running: nothing to back up InfluxDB from');
    return { rpc: embedded.rpc, database };
  };
}

/** The RPC address of a configured (not embedded) InfluxDB 1.x. */
export function configuredInfluxRpc(config: Config): string {
  return config.backup.influx_rpc || `${new URL(config.influx.url).hostname}:8088`;
}
