import { isIP } from 'node:net';

/**
 * What an IP address is, for the outbound policy (outbound-policy.ts). Pure: no DNS. Every
 * spelling is first brought to one form by the WHATWG URL parser (decimal 2130706433, hex
 * 0x7f.1, octal 0177.0.0.1, short 127.1, full-width dots, uppercase, percent-escapes), then
 * addresses that carry an IPv4 address inside an IPv6 one (mapped, compatible, NAT64, 6to4,
 * Teredo) are judged by the IPv4 address they lead to.
 */
export type AddressClass =
  | 'public'
  | 'private'
  | 'loopback'
  | 'link-local'
  | 'unspecified'
  | 'multicast'
  | 'broadcast'
  | 'reserved'
  | 'metadata';

export interface Classified {
  class: AddressClass;
  /** The range that decided it, e.g. `127.0.0.0/8`. */
  range: Cidr;
  /** The address judged: the embedded IPv4 address for mapped, NAT64, 6to4 and Teredo forms. */
  effective: number[];
  /** How the IPv4 address was embedded, when it was. */
  via?: 'IPv4-mapped' | 'IPv4-compatible' | 'NAT64' | '6to4' | 'Teredo';
}

export interface Cidr {
  bytes: number[];
  prefix: number;
  text: string;
}

/** Parses `10.0.0.0/8` or `fc00::/7` (a bare address is a /32 or /128); undefined when it is neither. */
export function parseCidr(text: string): Cidr | undefined {
  const [addr = '', len, ...rest] = text.trim().split('/');
  if (rest.length > 0) return undefined;
  const bytes = parseIp(addr);
  if (!bytes) return undefined;
  const max = bytes.length * 8;
  const prefix = len === undefined ? max : /^\d{1,3}$/.test(len) ? Number(len) : NaN;
  if (!(prefix >= 0 && prefix <= max)) return undefined;
  return { bytes, prefix, text: `${addr}/${prefix}` };
}

/** Whether `bytes` (same family) lies in `cidr`. */
export function inCidr(bytes: readonly number[], cidr: Cidr): boolean {
  if (bytes.length !== cidr.bytes.length) return false;
  for (let bit = 0; bit < cidr.prefix; bit += 8) {
    const n = Math.min(8, cidr.prefix - bit);
    const mask = (0xff << (8 - n)) & 0xff;
    const i = bit / 8;
    if ((bytes[i] & mask) !== (cidr.bytes[i] & mask)) return false;
  }
  return true;
}

/** The 4 or 16 bytes of a literal address (already in the form `isIP` accepts); undefined otherwise. */
export function parseIp(text: string): number[] | undefined {
  const t = text.replace(/%.*$/, '');
  const v = isIP(t);
  if (v === 4) return t.split('.').map(Number);
  if (v !== 6) return undefined;
  let s = t.toLowerCase();
  let tail: number[] = [];
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(s);
  if (dotted) {
    tail = dotted[1].split('.').map(Number);
    s = s.slice(0, -dotted[1].length) + '0:0';
  }
  const [head = '', rest] = s.split('::');
  const words = (part: string) => (part ? part.split(':').map((w) => parseInt(w, 16)) : []);
  const a = words(head);
  const b = rest === undefined ? [] : words(rest);
  const all = rest === undefined ? a : [...a, ...Array<number>(8 - a.length - b.length).fill(0), ...b];
  const bytes = all.flatMap((w) => [w >> 8, w & 0xff]);
  if (dotted) bytes.splice(12, 4, ...tail);
  return bytes;
}

export function formatIp(bytes: readonly number[]): string {
  if (bytes.length === 4) return bytes.join('.');
  const words = Array.from({ length: 8 }, (_, i) => ((bytes[2 * i] << 8) | bytes[2 * i + 1]).toString(16));
  return new URL(`http://[${words.join(':')}]`).hostname.slice(1, -1);
}

const cidr = (text: string): Cidr => parseCidr(text)!;

/** First match wins: the metadata hosts sit inside link-local, CGNAT and unique-local ranges. */
const V4: Array<[Cidr, AddressClass]> = [
  [cidr('169.254.169.254/32'), 'metadata'], // AWS, GCP, Azure, OpenStack, Oracle
  [cidr('169.254.170.2/32'), 'metadata'], // AWS ECS task metadata
  [cidr('100.100.100.200/32'), 'metadata'], // Alibaba Cloud
  [cidr('0.0.0.0/8'), 'unspecified'],
  [cidr('127.0.0.0/8'), 'loopback'],
  [cidr('169.254.0.0/16'), 'link-local'],
  [cidr('224.0.0.0/4'), 'multicast'],
  [cidr('255.255.255.255/32'), 'broadcast'],
  [cidr('240.0.0.0/4'), 'reserved'],
  [cidr('192.0.0.0/24'), 'reserved'], // IETF protocol assignments
  [cidr('192.0.2.0/24'), 'reserved'], // documentation
  [cidr('198.51.100.0/24'), 'reserved'],
  [cidr('203.0.113.0/24'), 'reserved'],
  [cidr('10.0.0.0/8'), 'private'],
  [cidr('172.16.0.0/12'), 'private'],
  [cidr('192.168.0.0/16'), 'private'],
  [cidr('100.64.0.0/10'), 'private'], // carrier-grade NAT
  [cidr('198.18.0.0/15'), 'private'], // benchmarking networks
  [cidr('0.0.0.0/0'), 'public'],
];

const V6: Array<[Cidr, AddressClass]> = [
  [cidr('fd00:ec2::254/128'), 'metadata'], // AWS over IPv6
  [cidr('::/128'), 'unspecified'],
  [cidr('::1/128'), 'loopback'],
  [cidr('64:ff9b:1::/48'), 'reserved'], // local-use NAT64: where the IPv4 address sits is the operator's choice
  [cidr('fe80::/10'), 'link-local'],
  [cidr('fec0::/10'), 'reserved'], // deprecated site-local
  [cidr('ff00::/8'), 'multicast'],
  [cidr('100::/64'), 'reserved'], // discard
  [cidr('2001:db8::/32'), 'reserved'], // documentation
  [cidr('fc00::/7'), 'private'],
  [cidr('::/0'), 'public'],
];

const EMBEDDING: Array<[Cidr, NonNullable<Classified['via']>, (b: number[]) => number[]]> = [
  [cidr('::ffff:0:0/96'), 'IPv4-mapped', (b) => b.slice(12)],
  [cidr('::/96'), 'IPv4-compatible', (b) => b.slice(12)],
  [cidr('64:ff9b::/96'), 'NAT64', (b) => b.slice(12)],
  [cidr('2002::/16'), '6to4', (b) => b.slice(2, 6)],
  // Teredo carries the client's address inverted in the last 32 bits.
  [cidr('2001::/32'), 'Teredo', (b) => b.slice(12).map((x) => x ^ 0xff)],
];

/** Classifies a literal address (4 or 16 bytes). */
export function classify(bytes: readonly number[]): Classified {
  if (bytes.length === 16) {
    // :: and ::1 are themselves, not IPv4-compatible forms of 0.0.0.0 and 0.0.0.1.
    const own = V6.find(([range]) => inCidr(bytes, range))!;
    if (own[0].prefix === 128) return { class: own[1], range: own[0], effective: [...bytes] };
    for (const [range, via, extract] of EMBEDDING) {
      if (!inCidr(bytes, range)) continue;
      const v4 = extract([...bytes]);
      const [r, c] = V4.find(([x]) => inCidr(v4, x))!;
      return { class: c, range: r, effective: v4, via };
    }
    return { class: own[1], range: own[0], effective: [...bytes] };
  }
  const [range, c] = V4.find(([x]) => inCidr(bytes, x))!;
  return { class: c, range, effective: [...bytes] };
}

/** Names that lead to loopback or a cloud metadata service whatever a resolver answers. */
const METADATA_NAMES = new Set([
  'metadata.google.internal',
  'metadata.goog',
  'metadata',
  'instance-data',
  'instance-data.ec2.internal',
  'metadata.tencentyun.com',
  'metadata.platformequinix.com',
]);

export type Host = { ip: number[]; text: string } | { name: string };

/**
 * The one form of a host as a URL's `hostname` gives it (brackets, case, trailing dots and
 * full-width dots handled): an address, or a DNS name. Undefined when it is no host at all.
 */
export function normalizeHost(hostname: string): Host | undefined {
  const bare = hostname.replace(/^\[(.*)\]$/, '$1');
  let h: string;
  try {
    h = new URL(`http://${isIP(bare) === 6 ? `[${bare}]` : bare}/`).hostname;
  } catch {
    return undefined;
  }
  h = h.replace(/^\[(.*)\]$/, '$1');
  const stripped = h.replace(/\.+$/, '');
  if (!stripped) return undefined;
  // `127.1..` stays a "name" in URL; without its trailing dots it is an address again.
  if (stripped !== h) return normalizeHost(stripped);
  const ip = parseIp(h);
  return ip ? { ip, text: h } : { name: h };
}

/** Why a name is refused before any DNS answer is asked for, or undefined. */
export function nameRefusal(name: string): string | undefined {
  if (name === 'localhost' || name.endsWith('.localhost')) return `${name} is a loopback name`;
  if (METADATA_NAMES.has(name)) return `${name} is a cloud metadata name`;
  return undefined;
}
