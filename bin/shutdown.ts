import type { Logger } from 'pino';

/**
 * Runs `stop` once, on the first SIGTERM or SIGINT, and resolves with its exit code. A signal may
 * arrive twice (a wrapper such as tsx relays it, or the whole process group receives Ctrl-C):
 * the repeat is logged and ignored, so that the flush already under way is not cut short by
 * Node's default handler.
 */
export function untilShutdown(log: Logger, stop: (signal: string) => Promise<void>): Promise<number> {
  return new Promise<number>((resolve) => {
    let stopping = false;
    const onSignal = (signal: string) => {
      if (stopping) return log.info({ signal }, 'already stopping');
      stopping = true;
      stop(signal).then(
        () => resolve(0),
        (err) => {
          log.error({ err }, 'shutdown failed');
          resolve(1);
        },
      );
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
}
