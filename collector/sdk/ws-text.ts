import type { RawData } from 'ws';

/**
 * A WebSocket message as text. `ws` hands over one Buffer unless a socket's binaryType asks for
 * fragments or an ArrayBuffer; `String(data)` on fragments would join them with commas.
 */
export function messageText(data: RawData): string {
  if (Buffer.isBuffer(data)) return data.toString('utf8');
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.from(data).toString('utf8');
}
