import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Database } from 'better-sqlite3';
import type { Logger } from 'pino';
import { backupDatabase } from '../inventory/backup.ts';
import { backupInflux, type InfluxBackupTarget } from '../pipeline/influx-backup.ts';

/** A backup generation's files, beside its `manifest.json`. */
export const INVENTORY_FILE = 'inventory.db';
export const INFLUX_DIR = 'influx';
const MANIFEST = 'manifest.json';
const PREFIX = 'fleetpulse-';

export interface Manifest {
  format: 1;
  /** Epoch ms the backup started. */
  at: number;
  inventory: string;
  /** The InfluxDB part: its database and folder, or why it is not there. */
  influx: { database: string; dir: string } | { skipped: string };
}

export interface Generation extends Manifest {
  name: string;
  path: string;
}

export interface BackupsOptions {
  /** Where generations are written, one folder each. */
  dir: string;
  /** Generations kept; older ones are deleted after each successful backup. */
  keep: number;
  /** The live inventory (SQLite online backup: writers are not blocked). */
  inventory: Database;
  /**
   * Where InfluxDB is backed up from, asked at each backup (the embedded influxd's ports are
   * known only while it runs), or why it is not backed up (a 2.x/3.x target).
   */
  influx: () => Promise<InfluxBackupTarget | { skipped: string }>;
  log: Logger;
  clock?: { now(): number };
  /** Told of every backup's outcome (self-metrics). */
  onResult?: (result: 'ok' | 'failed') => void;
}

/**
 * Consistent backups of a node: the inventory (audit, commands, incidents, sessions, credentials
 * sealed by a key that is NOT copied: keep `<db>.key` apart) and the InfluxDB database, into
 * `<dir>/fleetpulse-<UTC time>/`. Written under a `.partial` name and renamed when complete, so a
 * folder without that suffix is always a whole generation. One backup runs at a time.
 */
export class Backups {
  private running: Promise<Generation> | undefined;
  private readonly clock: { now(): number };

  constructor(private readonly o: BackupsOptions) {
    this.clock = o.clock ?? { now: () => Date.now() };
  }

  /** Takes a backup now (or joins the one running). */
  take(): Promise<Generation> {
    this.running ??= this.run().finally(() => (this.running = undefined));
    return this.running;
  }

  /** The complete generations, newest first. */
  list(): Generation[] {
    if (!existsSync(this.o.dir)) return [];
    const out: Generation[] = [];
    for (const name of readdirSync(this.o.dir)) {
      if (!name.startsWith(PREFIX) || name.endsWith('.partial')) continue;
      const manifest = readManifest(path.join(this.o.dir, name));
      if (manifest) out.push({ ...manifest, name, path: path.join(this.o.dir, name) });
    }
    return out.sort((a, b) => b.at - a.at);
  }

  private async run(): Promise<Generation> {
    const at = this.clock.now();
    const name =
      PREFIX +
      new Date(at)
        .toISOString()
        .replace(/[-:]/g, '')
        .replace(/\.\d+Z$/, 'Z');
    const final = path.join(this.o.dir, name);
    const partial = `${final}.partial`;
    try {
      rmSync(partial, { recursive: true, force: true });
      mkdirSync(partial, { recursive: true });
      await backupDatabase(this.o.inventory, path.join(partial, INVENTORY_FILE));
      const target = await this.o.influx();
      let influx: Manifest['influx'];
      if ('skipped' in target) influx = target;
      else {
        await backupInflux(target, path.join(partial, INFLUX_DIR));
        influx = { database: target.database, dir: INFLUX_DIR };
      }
      const manifest: Manifest = { format: 1, at, inventory: INVENTORY_FILE, influx };
      writeFileSync(path.join(partial, MANIFEST), JSON.stringify(manifest, null, 2) + '\n');
      rmSync(final, { recursive: true, force: true });
      renameSync(partial, final);
      this.o.onResult?.('ok');
      this.o.log.info({ backup: final, influx: 'skipped' in influx ? influx.skipped : 'included' }, 'backup written');
      this.prune();
      return { ...manifest, name, path: final };
    } catch (err) {
      rmSync(partial, { recursive: true, force: true });
      this.o.onResult?.('failed');
      this.o.log.error({ err: (err as Error).message, backup: final }, 'backup failed');
      throw err;
    }
  }

  private prune(): void {
    for (const old of this.list().slice(this.o.keep)) {
      rmSync(old.path, { recursive: true, force: true });
      this.o.log.info({ backup: old.path }, 'old backup deleted (backup.keep)');
    }
  }
}

/** The manifest of a generation folder, or undefined when it is not one. */
export function readManifest(dir: string): Manifest | undefined {
  try {
    const m = JSON.parse(readFileSync(path.join(dir, MANIFEST), 'utf8')) as Manifest;
    return m.format === 1 ? m : undefined;
  } catch {
    return undefined;
  }
}
