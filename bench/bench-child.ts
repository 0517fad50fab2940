/**
 * The child processes of the seed-scale benches (bench/ocpp.ts, bench/agents.ts): a server or a
 * fleet of clients per process, so that each side's RSS and CPU are its own. A child gets its job
 * in a JSON file (10,000 credentials are more than one argument may hold: E2BIG) and answers with
 * JSON lines on stdout, `{"event": ..., ...}`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { createInterface } from 'node:readline';

const jobs = mkdtempSync(join(tmpdir(), 'fleetpulse-bench-jobs-'));
process.on('exit', () => rmSync(jobs, { recursive: true, force: true }));
let jobCount = 0;

/**
 * `node [--expose-gc] --import tsx <script> <role> <job file>`. With `fdLimit`, through `sh`
 * raising the soft open-file limit to the hard one first (node cannot): one socket per device.
 */
export function benchChild(script: string, role: string, job: object, o: { gc?: boolean; fdLimit?: boolean } = {}) {
  const file = join(jobs, `${basename(script, '.ts')}-${role}-${++jobCount}.json`);
  writeFileSync(file, JSON.stringify(job));
  // BENCH_CPU_PROF=<dir>: a CPU profile of every child, written there when it exits.
  const profile = process.env.BENCH_CPU_PROF ? ['--cpu-prof', '--cpu-prof-dir', process.env.BENCH_CPU_PROF] : [];
  const node = [process.execPath, ...(o.gc ? ['--expose-gc'] : []), ...profile, '--import', 'tsx', script, role, file];
  const [command, args] = o.fdLimit
    ? ['sh', ['-c', 'ulimit -n "$(ulimit -Hn)" && exec "$@"', 'sh', ...node]]
    : [node[0], node.slice(1)];
  const proc = spawn(command, args, { stdio: ['pipe', 'pipe', 'inherit'] });
  proc.setMaxListeners(0); // one 'exit' listener per event awaited (see `events`)
  return proc;
}

/**
 * Resolves with an event's message once the child has printed it: the last one of that name, or
 * with `next` the next one (the answer to a command written to its stdin).
 */
export function events(proc: ChildProcess): (name: string, next?: boolean) => Promise<Record<string, any>> {
  const waiting = new Map<string, (v: Record<string, any>) => void>();
  const seen = new Map<string, Record<string, any>>();
  createInterface({ input: proc.stdout! }).on('line', (line) => {
    let msg: Record<string, any>;
    try {
      msg = JSON.parse(line);
    } catch {
      return;
    }
    seen.set(msg.event, msg);
    waiting.get(msg.event)?.(msg);
  });
  return (name, next = false) =>
    new Promise((resolve, reject) => {
      if (!next && seen.has(name)) return resolve(seen.get(name)!);
      waiting.set(name, resolve);
      proc.once('exit', (code) => reject(new Error(`child exited (${code}) before "${name}"`)));
    });
}

/** Prints one event for the parent (see `events`). */
export const emit = (o: object): void => void process.stdout.write(JSON.stringify(o) + '\n');
