import { existsSync, statSync } from 'node:fs';
import { backupDatabase } from '../../collector/inventory/index.ts';
import { parseFlags, usageExit, stdio, type Io } from '../args.ts';
import { ConfigError } from '../config.ts';
import { defaultInventoryPath } from './keys.ts';

const USAGE = `usage: fleetpulse backup <file> [--db <file>] [--force]

Copies the inventory (customers, sites, devices, credentials, API keys, audit) into <file>
while \`fleetpulse serve\` keeps running: SQLite's online backup, taken as one consistent
snapshot, checked, then renamed into place.

Options:
  --db <file>       the inventory. Default: inventory.path of the configuration, else
                    <data_dir>/fleetpulse.db (./data/fleetpulse.db)
  --config <file>   the configuration those defaults come from (env FLEETPULSE_CONFIG)
  --force           overwrite <file> if it exists

The key that seals HMAC secrets (<db>.key, or FLEETPULSE_SECRET_KEY) is not in the copy, on
purpose: keep it apart from the backups.`;

export default async function backup(argv: string[], io: Io = stdio): Promise<number> {
  const flags = parseFlags(argv, USAGE, {
    db: { type: 'string' },
    config: { type: 'string', short: 'c' },
    force: { type: 'boolean' },
  });
  if (!flags) return usageExit(argv);
  const [target, ...rest] = flags.positionals;
  if (!target || rest.length) {
    io.err(
      `fleetpulse backup: ${target ? `unexpected argument '${rest[0]}'` : 'the backup file is required'}\n\n${USAGE}`,
    );
    return 2;
  }
  let dbPath: string;
  try {
    dbPath = flags.values.db ?? defaultInventoryPath(flags.values.config);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    io.err(`fleetpulse backup: invalid configuration: ${err.message}`);
    return 2;
  }
  if (!existsSync(dbPath)) {
    io.err(`fleetpulse backup: no inventory at ${dbPath}`);
    return 1;
  }
  if (existsSync(target) && !flags.values.force) {
    io.err(`fleetpulse backup: ${target} exists; pass --force to overwrite it`);
    return 1;
  }
  const started = performance.now();
  try {
    const { pages } = await backupDatabase(dbPath, target);
    const mib = (statSync(target).size / 1024 / 1024).toFixed(1);
    io.out(
      `backed up ${dbPath} to ${target}: ${pages} pages, ${mib} MiB, ${Math.round(performance.now() - started)} ms`,
    );
  } catch (err) {
    io.err(`fleetpulse backup: ${(err as Error).message}`);
    return 1;
  }
  if (existsSync(`${dbPath}.key`)) {
    io.err(`note: ${dbPath}.key (the key sealing HMAC secrets) is not in the backup; keep a copy of it elsewhere`);
  }
  return 0;
}
