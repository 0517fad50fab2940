import type { IncomingMessage } from 'node:http';
import proxyAddr from '@fastify/proxy-addr';

/** Whether an address lies in one of a list of networks; IPv4-mapped IPv6 (`::ffff:10.1.2.3`) counts as IPv4. */
export type NetworkList = (address: string) => boolean;

export class NetworkListError extends Error {
  override name = 'NetworkListError';
}

/**
 * A list of CIDRs (`10.0.0.0/8`, `2001:db8::/32`) or single addresses as a predicate. The matching
 * is @fastify/proxy-addr's, the same Fastify applies to `trustProxy`, so an address means the
 * same in every list. Throws NetworkListError naming the entry that is not a network.
 */
export function networkList(cidrs: readonly string[]): NetworkList {
  for (const cidr of cidrs) {
    try {
      proxyAddr.compile(cidr);
    } catch (err) {
      throw new NetworkListError(`'${cidr}' is not an IP address or CIDR network (${(err as Error).message})`);
    }
  }
  const matches = proxyAddr.compile([...cidrs]);
  return (address) => matches(address, 0);
}

/**
 * The address of the client behind a request: the peer's, unless the peer is a trusted proxy;
 * then X-Forwarded-For is read from the right, each hop believed only while it comes from a
 * trusted proxy. Fastify is given the same `trust` (`trustProxy`), so `request.ip` in the audit
 * log and the rate limiter and `clientAddress` on WebSocket upgrades always agree.
 */
export function trustedProxies(trusted: NetworkList): Proxies & { trust: (address: string, hop: number) => boolean } {
  const trust = (address: string) => trusted(address);
  return {
    trust,
    clientAddress: (request) => proxyAddr(request, trust),
    secure: (request) => {
      if (ownTls(request)) return true;
      if (!trusted(request.socket.remoteAddress ?? '')) return false;
      const proto = request.headers['x-forwarded-proto'];
      return (Array.isArray(proto) ? proto[0] : proto)?.split(',')[0].trim().toLowerCase() === 'https';
    },
  };
}

/** How a server reads requests that may come through proxies (see `trustedProxies`). */
export interface Proxies {
  clientAddress: (request: IncomingMessage) => string;
  /** Came over TLS: the server's own, or a trusted proxy's (X-Forwarded-Proto: https from it). */
  secure: (request: IncomingMessage) => boolean;
}

/** For servers that trust no proxy. */
export const NO_PROXIES: Proxies = { clientAddress: peerAddress, secure: ownTls };

function ownTls(request: IncomingMessage): boolean {
  return (request.socket as { encrypted?: boolean }).encrypted === true;
}

/** The peer's address, for servers that trust no proxy. */
export function peerAddress(request: IncomingMessage): string {
  return request.socket.remoteAddress ?? '';
}
