/**
 * A real small filesystem for disk-full tests: a tmpfs of `sizeBytes`, mounted in a private mount
 * namespace held by a `sleep` child, so nothing outside the test sees it and it goes away with the
 * holder however the test ends. A process joins the namespace through `enter` (a command prefix:
 * `nsenter` joins and execs, so the pid and signals stay the child's own); the test reads the
 * filesystem through `/proc/<holder>/root`. Needs root and util-linux (`unshare`, `nsenter`).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export interface SmallDisk {
  /** The mount point, as processes inside the namespace see it. */
  readonly dir: string;
  /** Prepend to a command to run it inside the namespace. */
  readonly enter: string[];
  /** `p` (under `dir`) as this process sees it. */
  outside(p: string): string;
  freeBytes(): number;
  /** Writes a file of zeros (tmpfs stores them) leaving about `leaveBytes` free; removing it frees them. */
  fill(leaveBytes: number): { remove(): void };
  /** Ends the namespace; the tmpfs goes with it. */
  release(): Promise<void>;
}

/** Why this machine cannot mount a small disk in a private namespace, or undefined when it can. */
export function smallDiskUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root (mount in a private mount namespace)';
  for (const tool of ['unshare', 'nsenter']) {
    try {
      execFileSync(tool, ['--version'], { stdio: 'ignore' });
    } catch {
      return `needs ${tool} (util-linux)`;
    }
  }
  return undefined;
}

export async function mountSmallDisk(dir: string, sizeBytes: number): Promise<SmallDisk> {
  mkdirSync(dir, { recursive: true });
  const holder: ChildProcess = spawn(
    'unshare',
    [
      '--mount',
      '--propagation',
      'private',
      'sh',
      '-c',
      `mount -t tmpfs -o size=${sizeBytes} tmpfs "$0" && echo mounted && exec sleep 86400`,
      dir,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  holder.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  await new Promise<void>((resolve, reject) => {
    holder.stdout!.on('data', (d: Buffer) => d.toString().includes('mounted') && resolve());
    holder.once('exit', (code) => reject(new Error(`could not mount a tmpfs on ${dir} (exit ${code}): ${out}`)));
  });
  const pid = holder.pid!;
  let fillers = 0;
  const outside = (p: string) => `/proc/${pid}/root${path.resolve(dir, p)}`;
  const freeBytes = () => {
    const fs = statfsSync(outside(dir));
    return fs.bavail * fs.bsize;
  };
  return {
    dir,
    // --wd=.: the caller's working directory (nsenter opens it before it enters).
    enter: ['nsenter', `--target=${pid}`, '--mount', '--wd=.', '--'],
    outside,
    freeBytes,
    fill(leaveBytes) {
      const file = outside(path.join(dir, `filler-${++fillers}`));
      writeFileSync(file, Buffer.alloc(Math.max(0, freeBytes() - leaveBytes)));
      return { remove: () => rmSync(file) };
    },
    async release() {
      if (holder.exitCode !== null || holder.signalCode !== null) return;
      const gone = new Promise((r) => holder.once('exit', r));
      holder.kill('SIGKILL');
      await gone;
    },
  };
}
