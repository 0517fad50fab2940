import { lookup as dnsLookup } from 'node:dns/promises';
import type { LookupAddress, LookupOptions } from 'node:dns';
import { isIP } from 'node:net';
import { classify, formatIp, inCidr, nameRefusal, normalizeHost, parseCidr, type Cidr } from './outbound-address.ts';

/** Every address a DNS name resolves to, as the system resolver answers (all families). */
export type Resolve = (name: string) => Promise<string[]>;

const systemResolve: Resolve = async (name) =>
  (await dnsLookup(name, { all: true, verbatim: true })).map((a) => a.address);

export interface OutboundPolicyOptions {
  /**
   * The config key that sets `allowedNetworks`, named in refusals so an operator knows what to
   * change (`plugins.plug.allowed_networks`).
   */
  setting: string;
  /**
   * CIDRs where private addresses (10/8, 172.16/12, 192.168/16, 100.64/10, fc00::/7) may be
   * reached. A loopback or link-local address is allowed only by an entry that lies inside the
   * loopback or link-local range itself (`127.0.0.0/8`), so `0.0.0.0/0` never opens them.
   * Metadata, unspecified, multicast, broadcast and reserved addresses are refused whatever
   * this says. Default none.
   */
  allowedNetworks?: readonly string[];
  /** How names are resolved. Default: the system resolver (`dns.lookup`, every address). */
  resolve?: Resolve;
}

/** The address was refused by the outbound policy; `reason` says which rule. */
export class OutboundRefused extends Error {
  override name = 'OutboundRefused';
  constructor(
    readonly target: string,
    readonly reason: string,
  ) {
    super(`${target} refused: ${reason}`);
  }
}

/**
 * The one decision whether the server, or a device on its behalf, may be sent to an address.
 * One instance per purpose (plugs, escalation, device URLs), each with its own allowed networks.
 *
 * Names are resolved when used and every address they resolve to must pass: a name with one
 * public and one loopback address is refused. For connections the server makes itself,
 * `lookup` goes into the socket (`http.request`, `net.connect`), so the addresses checked are the
 * ones connected to (no second resolution a rebinding DNS server could answer differently).
 */
export class OutboundPolicy {
  private readonly allowed: Cidr[];
  private readonly resolveName: Resolve;

  /** Throws an Error naming `setting` when an entry of `allowedNetworks` is not a CIDR. */
  constructor(private readonly o: OutboundPolicyOptions) {
    this.allowed = (o.allowedNetworks ?? []).map((text, i) => {
      const c = parseCidr(text);
      if (!c) throw new Error(`${o.setting}.${i}: '${text}' is not a CIDR (e.g. 192.168.0.0/16)`);
      return c;
    });
    this.resolveName = o.resolve ?? systemResolve;
  }

  /** Why the server may not be sent to this literal address, or undefined. Pure. */
  addressRefusal(address: string): string | undefined {
    const host = normalizeHost(address);
    if (!host || !('ip' in host)) return `'${address}' is not an IP address`;
    const c = classify(host.ip);
    const what = c.via ? `${host.text} (${c.via} ${formatIp(c.effective)})` : host.text;
    switch (c.class) {
      case 'public':
        return undefined;
      case 'private':
        return this.allowed.some((n) => inCidr(c.effective, n))
          ? undefined
          : `${what} is a private address outside ${this.o.setting}`;
      case 'loopback':
      case 'link-local':
        // Only an entry inside the special range itself opens it (a test's 127.0.0.0/8).
        return this.allowed.some((n) => inCidr(c.effective, n) && n.prefix >= c.range.prefix)
          ? undefined
          : `${what} is a ${c.class} address${this.allowed.length ? ` outside ${this.o.setting}` : ''}`;
      default:
        return `${what} is a ${c.class === 'metadata' ? 'cloud metadata' : c.class} address`;
    }
  }

  /** Why this host (URL `hostname`, address or name) is refused without asking DNS, or undefined. Pure. */
  literalRefusal(hostname: string): string | undefined {
    const host = normalizeHost(hostname);
    if (!host) return `'${hostname}' is not a host`;
    if ('ip' in host) return this.addressRefusal(host.text);
    return nameRefusal(host.name);
  }

  /**
   * Resolves `hostname` (unless it is an address) and checks every address; resolves with them.
   * Throws OutboundRefused naming the rule, or naming the DNS failure.
   */
  async check(hostname: string): Promise<string[]> {
    const early = this.literalRefusal(hostname);
    if (early) throw new OutboundRefused(hostname, early);
    const host = normalizeHost(hostname)!;
    if ('ip' in host) return [host.text];
    let addresses: string[];
    try {
      addresses = await this.resolveName(host.name);
    } catch (err) {
      throw new OutboundRefused(
        hostname,
        `cannot be resolved (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
      );
    }
    if (addresses.length === 0) throw new OutboundRefused(hostname, 'resolves to no address');
    for (const a of addresses) {
      const bad = this.addressRefusal(a);
      if (bad) throw new OutboundRefused(hostname, `resolves to ${bad}`);
    }
    return addresses;
  }

  /**
   * Why a URL is refused without asking DNS (not a URL, a protocol outside `protocols`, a
   * forbidden literal host or name), or undefined. Pure: for protocol code that must not do I/O.
   */
  urlRefusal(location: string, protocols: readonly string[] = ['http:', 'https:']): string | undefined {
    let u: URL;
    try {
      u = new URL(location);
    } catch {
      return `'${location}' is not a URL`;
    }
    if (!protocols.includes(u.protocol))
      return `only ${protocols.join(' ').replaceAll(':', '')} URLs are accepted, not ${u.protocol}`;
    if (!u.hostname) return `'${location}' names no host`;
    return this.literalRefusal(u.hostname);
  }

  /** `urlRefusal`, then the host resolved and every address checked. Throws OutboundRefused. */
  async checkUrl(location: string, protocols: readonly string[] = ['http:', 'https:']): Promise<URL> {
    const bad = this.urlRefusal(location, protocols);
    if (bad) throw new OutboundRefused(location, bad);
    const u = new URL(location);
    await this.check(u.hostname).catch((err: OutboundRefused) => {
      throw new OutboundRefused(location, err.reason);
    });
    return u;
  }

  /**
   * Why a URL a device fetches itself (a firmware image, a diagnostics upload) is refused, or
   * undefined. `urlRefusal`, then the name resolved here too: refused when any address is
   * forbidden (`localtest.me` → 127.0.0.1). A name that does not resolve here is accepted: the
   * device resolves it on its own network, and we refuse only what we know leads somewhere
   * forbidden.
   */
  async deviceUrlRefusal(
    location: string,
    protocols: readonly string[] = ['http:', 'https:'],
  ): Promise<string | undefined> {
    const bad = this.urlRefusal(location, protocols);
    if (bad) return bad;
    const host = normalizeHost(new URL(location).hostname)!;
    if ('ip' in host) return undefined;
    let addresses: string[];
    try {
      addresses = await this.resolveName(host.name);
    } catch {
      return undefined;
    }
    for (const a of addresses) {
      const why = this.addressRefusal(a);
      if (why) return `${host.name} resolves to ${why}`;
    }
    return undefined;
  }

  /**
   * A `lookup` for `http.request` / `net.connect`: resolves, refuses the connection unless every
   * address passes, and connects to the addresses it checked. Literal addresses never reach a
   * lookup: check them with `literalRefusal` first (`outboundRequest` does both).
   */
  readonly lookup = (
    hostname: string,
    options: LookupOptions,
    callback: (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void,
  ): void => {
    this.check(hostname).then(
      (addresses) => {
        const wanted = addresses
          .map((address) => ({ address, family: isIP(address) }))
          .filter((a) => !options.family || options.family === a.family);
        if (wanted.length === 0)
          return callback(
            Object.assign(new Error(`${hostname}: no address of family ${options.family}`), { code: 'ENOTFOUND' }),
            '',
          );
        if (options.all) callback(null, wanted);
        else callback(null, wanted[0].address, wanted[0].family);
      },
      (err: Error) => callback(Object.assign(err, { code: 'EOUTBOUNDREFUSED' }), ''),
    );
  };
}

/**
 * A device address given as `host[:port]` (a plug's `labels.address`): the host and port, or
 * why it is refused. No scheme, path, query, fragment, user info or whitespace: the address is
 * put into `http://<address>/rpc/...`, where any of those would change the request.
 */
export function parseHostPort(address: string): { host: string; port?: number } | string {
  if (!address) return 'is empty';
  if (/[\s/?#@\\%]/.test(address) || address.includes('://')) {
    return `'${address}' must be host or host:port (no scheme, path, query, fragment, user info or escapes)`;
  }
  let u: URL;
  try {
    u = new URL(`http://${address}`);
  } catch {
    return `'${address}' is not host or host:port`;
  }
  if (u.pathname !== '/' || u.search || u.hash || u.username || u.password)
    return `'${address}' must be host or host:port`;
  const port = /:(\d+)$/.exec(address)?.[1];
  if (port !== undefined && !(Number(port) >= 1 && Number(port) <= 65535)) return `'${address}': port must be 1..65535`;
  return { host: u.hostname, ...(port !== undefined ? { port: Number(port) } : {}) };
}
