/**
 * InfluxDB 1.x backup and restore through `influxd backup|restore -portable`, which talk to a
 * running server's RPC bind-address (the embedded influxd listens on loopback only). The portable
 * format is the one InfluxDB OSS 1.5+ and Enterprise read back; 2.x and 3.x have their own tools
 * (`influx backup`, object-store snapshots) and are not covered (docs/operations.md).
 */
import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import type { InfluxQuery } from './influx-query.ts';
import { INFLUXD_INSTALL_HINT } from './local-influxd.ts';
import { findExecutable } from './find-executable.ts';

export interface InfluxBackupTarget {
  /** `host:port` of the server's RPC bind-address (InfluxDB's default 127.0.0.1:8088). */
  rpc: string;
  database: string;
}

export class InfluxBackupError extends Error {
  override name = 'InfluxBackupError';
}

/** A backup or restore still running after this long is stopped: a year of data takes minutes. */
const LIMIT_MS = 3_600_000;

/** Writes a portable backup of one database into `dir` (created; must be empty or absent). */
export async function backupInflux(target: InfluxBackupTarget, dir: string): Promise<void> {
  await reachable(target.rpc);
  return influxd(['backup', '-portable', '-host', target.rpc, '-db', target.database, dir]);
}

/**
 * Restores the database of a portable backup in `dir`; the server must not have it yet. `influxd restore` returns while
 * the server is still importing the shards (queries touching them fail with "shard is disabled" or, while a shard
 * opens, "engine is closed" for a few seconds), and a server stopped then loses the shards not yet imported: this
 * resolves only once every shard answers through `query` (on the database).
 */
export async function restoreInflux(
  target: InfluxBackupTarget,
  dir: string,
  query: Pick<InfluxQuery, 'query'>,
  timeoutMs = 120_000,
): Promise<void> {
  await reachable(target.rpc);
  await influxd(['restore', '-portable', '-host', target.rpc, '-db', target.database, dir]);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await query.query('SELECT * FROM /.*/ LIMIT 1');
      return;
    } catch (err) {
      if (!/shard is disabled|engine is closed/.test((err as Error).message)) throw err;
      if (Date.now() > deadline)
        throw new InfluxBackupError(`the restored shards were not imported within ${timeoutMs / 1000} s`);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
}

/** `influxd backup` retries an unreachable server without end: fail at once instead. */
function reachable(rpc: string): Promise<void> {
  const colon = rpc.lastIndexOf(':');
  const host = rpc.slice(0, colon).replace(/^\[|\]$/g, '');
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port: Number(rpc.slice(colon + 1)), timeout: 5_000 });
    const fail = (why: string) => {
      socket.destroy();
      reject(
        new InfluxBackupError(
          `cannot reach InfluxDB's RPC bind-address ${rpc} (${why}); backups need it (backup.influx_rpc)`,
        ),
      );
    };
    socket.once('connect', () => (socket.end(), resolve()));
    socket.once('timeout', () => fail('no answer within 5 s'));
    socket.once('error', (err) => fail(err.message));
  });
}

/** Runs `influxd <args>`; rejects with its last output when it fails (it exits 0 on success). */
function influxd(args: string[]): Promise<void> {
  const binary = findExecutable('influxd');
  if (!binary) return Promise.reject(new InfluxBackupError(INFLUXD_INSTALL_HINT));
  return new Promise((resolve, reject) => {
    const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const keep = (chunk: Buffer) => (output = (output + chunk.toString('utf8')).slice(-4000));
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    child.once('error', (err) => reject(new InfluxBackupError(`influxd ${args[0]}: ${err.message}`)));
    const limit = setTimeout(() => child.kill('SIGKILL'), LIMIT_MS);
    child.once('exit', (code, signal) => {
      clearTimeout(limit);
      if (code === 0) return resolve();
      const last = output.trim().split('\n').slice(-3).join('; ');
      reject(
        new InfluxBackupError(
          `influxd ${args[0]} -host ${args[3]} failed (${signal ?? `exit ${code}`}): ${last || 'no output'}`,
        ),
      );
    });
  });
}
