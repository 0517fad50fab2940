import { stat, statSync } from 'node:fs';

/**
 * Watches that an open serial port's device node is still the one we opened. Pulling a USB
 * terminal removes /dev/ttyUSBn (and its /dev/serial/by-id link); killing socat removes the pty
 * links. serialport usually reports that as a close, but not always (a pty whose other side went
 * away can stay readable-but-silent), so the node itself is checked. Calls `onGone` once, when
 * the path disappears or points to another device; the returned function stops watching.
 */
export function watchPresence(path: string, intervalMs: number, onGone: (why: string) => void): () => void {
  let opened: { ino: number; rdev: number };
  try {
    const s = statSync(path);
    opened = { ino: s.ino, rdev: s.rdev };
  } catch {
    queueMicrotask(() => onGone(`${path} vanished`));
    return () => {};
  }
  let done = false;
  const timer = setInterval(() => {
    stat(path, (err, s) => {
      if (done) return;
      if (err) return gone(`${path} vanished (${err.code ?? err.message})`);
      if (s.ino !== opened.ino || s.rdev !== opened.rdev) gone(`${path} now names another device`);
    });
  }, intervalMs);
  const stop = () => {
    done = true;
    clearInterval(timer);
  };
  const gone = (why: string) => {
    stop();
    onGone(why);
  };
  return stop;
}
