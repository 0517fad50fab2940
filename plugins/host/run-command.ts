import { execFile } from 'node:child_process';

export interface CommandRun {
  exit_code: number;
  /** stdout then stderr, cut to `maxBytes`. */
  output: string;
  truncated: boolean;
}

/**
 * Runs a configured program (argv, never a shell string) with a deadline. Resolves with its exit
 * code and output; rejects only when it cannot be started or is killed by the deadline.
 */
export function runCommand(
  argv: readonly string[],
  options: { timeoutMs: number; maxBytes?: number; signal?: AbortSignal; env?: Record<string, string> },
): Promise<CommandRun> {
  const maxBytes = options.maxBytes ?? 64 * 1024;
  const [file, ...args] = argv;
  if (!file) return Promise.reject(new Error('no command configured'));
  return new Promise((resolve, reject) => {
    execFile(
      file,
      args,
      {
        timeout: options.timeoutMs,
        maxBuffer: 16 * maxBytes,
        signal: options.signal,
        env: { ...process.env, ...options.env },
        encoding: 'utf8',
      },
      (err, stdout, stderr) => {
        const text = `${stdout}${stderr}`;
        const truncated = text.length > maxBytes;
        const output = truncated ? text.slice(0, maxBytes) : text;
        if (err && typeof err.code !== 'number') {
          const why = err.killed ? `killed after ${options.timeoutMs / 1000} s` : err.message;
          return reject(new Error(`${file}: ${why}`));
        }
        resolve({ exit_code: err ? (err.code as number) : 0, output, truncated });
      },
    );
  });
}
