import type { IncomingMessage } from 'node:http';

/**
 * What of an upgrade request ocpp-rpc is given: the parts a handshake reads (method, url,
 * headers, socket), not the IncomingMessage. ocpp-rpc keeps the request it was given for as long
 * as the connection lives (`handshake.request`, and listeners on the socket that close over it),
 * and the IncomingMessage with its stream state and raw header list was ~0.8 KB of each
 * connection's heap (bench/ocpp.ts, heap snapshots at 2,000 chargers).
 */
export function upgradeRequest(request: IncomingMessage): IncomingMessage {
  const { method, url, headers, socket } = request;
  return { method, url, headers, socket } as IncomingMessage;
}
