import { isIP } from 'node:net';

/**
 * Why a URL handed to a device (a firmware image, a diagnostics upload) is refused, or undefined
 * when it is acceptable. Devices fetch it themselves: a loopback or link-local address would make
 * them reach their own or their LAN's internals (cloud metadata at 169.254.169.254), and `file:`
 * reads their own disk. Names are not resolved (the device resolves them, not us). The one rule
 * for every plugin and for the firmware catalogue.
 */
export function unsafeDeviceUrl(location: string, protocols: readonly string[] = ['http:', 'https:']): string | undefined {
  let u: URL;
  try {
    u = new URL(location);
  } catch {
    return `'${location}' is not a URL`;
  }
  if (u.protocol === 'file:') return 'file: URLs are refused';
  if (!protocols.includes(u.protocol)) return `only ${protocols.join(' ').replaceAll(':', '')} URLs are accepted, not ${u.protocol}`;
  // A DNS name may end in dots (`localhost.` is the fully qualified localhost; URL turns
  // `localhost%2e` and `localhost。` into it too): the name without them is the one to judge.
  const host = u.hostname.replace(/^\[|\]$/g, '').toLowerCase().replace(/\.+$/, '');
  if (host === 'localhost' || host.endsWith('.localhost')) return `${u.hostname} is a loopback name`;
  const kind = classify(host);
  if (kind) return `${host} is a ${kind} address`;
  return undefined;
}

function classify(host: string): string | undefined {
  const version = isIP(host);
  if (version === 4) return classifyV4(host.split('.').map(Number));
  if (version !== 6) {
    // Also the shorthand forms URL keeps as names: 2130706433, 0x7f.1 are normalised by URL to dotted form.
    return undefined;
  }
  const h = host;
  const mapped = /^(?:0*:)*:?ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(h) ?? /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(h);
  if (mapped) {
    const v4 = mapped.length === 2 ? mapped[1]!.split('.').map(Number) : hexPairToV4(mapped[1]!, mapped[2]!);
    return classifyV4(v4);
  }
  if (h === '::1') return 'loopback';
  if (h === '::') return 'unspecified';
  if (/^fe[89ab][0-9a-f]?:/.test(h)) return 'link-local';
  return undefined;
}

function hexPairToV4(a: string, b: string): number[] {
  const x = parseInt(a, 16);
  const y = parseInt(b, 16);
  return [x >> 8, x & 255, y >> 8, y & 255];
}

function classifyV4([a, b]: number[]): string | undefined {
  if (a === 127) return 'loopback';
  if (a === 0) return 'unspecified';
  if (a === 169 && b === 254) return 'link-local';
  return undefined;
}
