import type { IncomingMessage } from 'node:http';

/**
 * The address a device's request comes from, as every door sees it (the bounds on new pending
 * devices per address key on it). One function, so that a proxy-aware rule replaces it once.
 */
export function sourceAddress(request: IncomingMessage): string {
  return request.socket.remoteAddress ?? 'unknown';
}
