import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';

/**
 * A virtual serial cable: `socat` joins two pseudo-terminals and names them with symlinks, so
 * the plugin opens `host` exactly as it would open /dev/ttyUSB0 and the simulator plays the
 * terminal on `device`. Killing socat removes both links, which is what an unplugged USB cable
 * looks like to the plugin; starting it again with the same names is plugging it back in.
 */
export interface PtyPair {
  /** The end the plugin (agent) opens. */
  readonly host: string;
  /** The end the simulated terminal opens. */
  readonly device: string;
  /** Kills socat (both links disappear) and waits for it to exit. */
  stop(): Promise<void>;
  /** Starts socat again with the same link names (the cable is plugged back in). */
  restart(): Promise<void>;
}

/** Creates `<dir>/<name>.host` and `<dir>/<name>.dev`. Rejects when socat is missing or does not start within 5 s. */
export async function startPtyPair(dir: string, name: string): Promise<PtyPair> {
  const host = join(dir, `${name}.host`);
  const device = join(dir, `${name}.dev`);
  let child: ChildProcess | undefined = await spawnSocat(host, device);
  const pair: PtyPair = {
    host,
    device,
    async stop() {
      const c = child;
      child = undefined;
      if (!c || c.exitCode !== null || c.signalCode !== null) return;
      await new Promise<void>((resolve) => {
        c.once('exit', () => resolve());
        c.kill('SIGTERM');
      });
    },
    async restart() {
      await pair.stop();
      child = await spawnSocat(host, device);
    },
  };
  return pair;
}

function spawnSocat(host: string, device: string): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn('socat', ['-d', '-d', `pty,raw,echo=0,link=${host}`, `pty,raw,echo=0,link=${device}`], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let log = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`socat did not start within 5 s: ${log.trim()}`));
    }, 5000);
    // With -d -d socat says when both ptys exist and it is copying bytes: the links are ready then.
    child.stderr.on('data', (d: Buffer) => {
      log += d.toString();
      if (log.includes('starting data transfer loop')) {
        clearTimeout(timer);
        child.stderr.removeAllListeners('data');
        child.stderr.resume();
        resolve(child);
      }
    });
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`cannot run socat (Debian/Ubuntu package "socat"): ${err.message}`));
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`socat exited with ${code} before it was ready: ${log.trim()}`));
    });
  });
}
