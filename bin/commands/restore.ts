import { chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { INFLUX_DIR, readManifest } from '../../collector/operations/backups.ts';
import { restoreInflux } from '../../collector/pipeline/influx-backup.ts';
import { InfluxQuery } from '../../collector/pipeline/influx-query.ts';
import { startInfluxd } from '../../collector/pipeline/local-influxd.ts';
import { freePort } from '../../collector/pipeline/ports.ts';
import { parseFlags, stdio, usageExit, type Io } from '../args.ts';
import { configuredInfluxRpc, V2_NOT_COVERED } from '../backup-source.ts';
import { ConfigError, inventoryPath, loadConfig, type Config } from '../config.ts';

const USAGE = `usage: fleetpulse restore <backup> [--data-dir <dir>] [--key-file <file>] [--config <file>]

Restores a backup that serve wrote (backup.dir, one folder per backup: fleetpulse-<time>/) into
an empty data dir: the inventory, and the InfluxDB database into the embedded influxd (started
for the restore, then stopped) or into the configured InfluxDB 1.x server (backup.influx_rpc,
which must not have the database yet). Start serve on the data dir afterwards.

Options:
  --data-dir <dir>  where to restore; default data_dir of the configuration (./data)
  --key-file <file> the key that sealed the HMAC secrets (the old <db>.key, kept apart from the
                    backups); without it, or FLEETPULSE_SECRET_KEY when serve starts, POS and
                    other sealed credentials cannot be verified
  --config <file>   the configuration (env FLEETPULSE_CONFIG)`;

export default async function restore(argv: string[], io: Io = stdio): Promise<number> {
  const flags = parseFlags(argv, USAGE, {
    'data-dir': { type: 'string' },
    'key-file': { type: 'string' },
    config: { type: 'string', short: 'c' },
  });
  if (!flags) return usageExit(argv);
  const fail = (message: string, code = 1) => (io.err(`fleetpulse restore: ${message}`), code);
  const [from, ...rest] = flags.positionals;
  if (!from || rest.length)
    return fail(`${from ? `unexpected argument '${rest[0]}'` : 'the backup folder is required'}\n\n${USAGE}`, 2);
  let config: Config;
  try {
    config = loadConfig(flags.values.config ?? process.env.FLEETPULSE_CONFIG);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    return fail(`invalid configuration: ${err.message}`, 2);
  }
  if (flags.values['data-dir']) config = { ...config, data_dir: flags.values['data-dir'] };
  const manifest = readManifest(from);
  if (!manifest) return fail(`${from} is not a Fleetpulse backup (no manifest.json)`);
  const keyFile = flags.values['key-file'];
  if (keyFile && !existsSync(keyFile)) return fail(`no key file at ${keyFile}`);

  const db = inventoryPath(config);
  const influxDir = join(config.data_dir, 'influxdb');
  const embedded = !config.influx.url;
  // Never over live data: a restore merges nothing, it recreates.
  for (const taken of [db, `${db}.key`, ...(embedded ? [join(influxDir, 'meta')] : [])]) {
    if (existsSync(taken) && (!taken.endsWith('meta') || readdirSync(taken).length > 0)) {
      return fail(`${taken} exists: restore only into an empty data dir (move the old one away first)`);
    }
  }

  mkdirSync(dirname(db), { recursive: true });
  copyFileSync(join(from, manifest.inventory), db);
  const copy = new BetterSqlite3(db);
  try {
    const check = copy.pragma('quick_check', { simple: true });
    if (check !== 'ok') return fail(`the backup's inventory fails its integrity check: ${String(check)}`);
  } finally {
    copy.close();
  }
  if (keyFile) {
    copyFileSync(keyFile, `${db}.key`);
    chmodSync(`${db}.key`, 0o600);
  }
  io.out(`restored the inventory to ${db}${keyFile ? ` with its key ${db}.key` : ''}`);
  if (!keyFile && !process.env.FLEETPULSE_SECRET_KEY) {
    io.err(
      'note: no --key-file: sealed credentials (POS HMAC secrets) need the old key (or FLEETPULSE_SECRET_KEY) to work again',
    );
  }

  if ('skipped' in manifest.influx) {
    io.err(`note: this backup has no InfluxDB part (${manifest.influx.skipped})`);
    return 0;
  }
  if (config.influx.api === 'v2') return fail(`the inventory is restored; InfluxDB is not: ${V2_NOT_COVERED}`);
  const target = { database: manifest.influx.database, dir: join(from, manifest.influx.dir ?? INFLUX_DIR) };
  try {
    if (embedded) {
      const bindPort = await freePort();
      const influxd = await startInfluxd({ dataDir: influxDir, bindPort });
      try {
        await restoreInflux(
          { rpc: `127.0.0.1:${bindPort}`, database: target.database },
          target.dir,
          new InfluxQuery({ url: influxd.url, database: target.database }),
        );
      } finally {
        await influxd.stop();
      }
    } else {
      const { url, username, password } = config.influx;
      const query = new InfluxQuery({
        url,
        database: target.database,
        username: username || undefined,
        password: password || undefined,
      });
      await restoreInflux({ rpc: configuredInfluxRpc(config), database: target.database }, target.dir, query);
    }
  } catch (err) {
    return fail(`the inventory is restored; InfluxDB is not: ${(err as Error).message}`);
  }
  io.out(`restored InfluxDB database ${target.database}${embedded ? ` into ${influxDir}` : ''}`);
  return 0;
}
