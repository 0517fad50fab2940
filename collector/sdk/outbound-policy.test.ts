import { describe, expect, it } from 'vitest';
import { OutboundPolicy, OutboundRefused, parseHostPort, type Resolve } from './outbound-policy.ts';

// Names resolve through this table, never through public DNS: the real resolver is tried on `localhost` only.
const DNS: Record<string, string[]> = {
  'localtest.me': ['127.0.0.1'],
  'rebind.example': ['93.184.215.14', '127.0.0.1'],
  'meta.example': ['169.254.169.254'],
  'mapped.example': ['::ffff:127.0.0.1'],
  'lan.example': ['192.168.20.31'],
  'fw.example.com': ['93.184.215.14', '2606:2800:21f:cb07:6820:80da:af6b:8b2c'],
};
const resolve: Resolve = async (name) => {
  const a = DNS[name];
  if (!a) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${name}`), { code: 'ENOTFOUND' });
  return a;
};

const closed = new OutboundPolicy({ setting: 'operations.escalation.allowed_networks', resolve });
const lan = new OutboundPolicy({
  setting: 'plugins.plug.allowed_networks',
  allowedNetworks: ['192.168.0.0/16', '10.0.0.0/8', 'fc00::/7'],
  resolve,
});
const test = new OutboundPolicy({
  setting: 'plugins.plug.allowed_networks',
  allowedNetworks: ['127.0.0.0/8'],
  resolve,
});
const everything = new OutboundPolicy({ setting: 'x', allowedNetworks: ['0.0.0.0/0', '::/0'], resolve });

/** [host as typed in a URL, expected refusal (a pattern) or null when allowed, by `closed`]. */
const SPELLINGS: Array<[string, RegExp | null]> = [
  ['93.184.215.14', null],
  ['[2606:2800:21f:cb07:6820:80da:af6b:8b2c]', null],
  ['fw.example.com', null],
  ['FW.EXAMPLE.COM.', null],
  ['[::ffff:93.184.215.14]', null], // mapped public stays public
  ['[64:ff9b::5db8:d70e]', null], // NAT64 of a public address
  ['127.0.0.1', /loopback/],
  ['127.1', /loopback/],
  ['127.0.0.1.', /loopback/],
  ['127.1..', /loopback/],
  ['2130706433', /loopback/],
  ['0x7f000001', /loopback/],
  ['0x7f.1', /loopback/],
  ['0177.0.0.1', /loopback/],
  ['0177.0.0.01', /loopback/],
  ['127。0。0。1', /loopback/],
  ['127%2E0%2E0%2E1', /loopback/],
  ['127.255.255.254', /loopback/],
  ['[::1]', /loopback/],
  ['[0:0:0:0:0:0:0:1]', /loopback/],
  ['[::127.0.0.1]', /IPv4-compatible 127\.0\.0\.1\) is a loopback/],
  ['[::ffff:127.0.0.1]', /IPv4-mapped 127\.0\.0\.1\) is a loopback/],
  ['[::ffff:7f00:1]', /IPv4-mapped 127\.0\.0\.1\) is a loopback/],
  ['[0:0:0:0:0:FFFF:7F00:0001]', /IPv4-mapped 127\.0\.0\.1\) is a loopback/],
  ['[64:ff9b::7f00:1]', /NAT64 127\.0\.0\.1\) is a loopback/],
  ['[64:ff9b::a9fe:a9fe]', /NAT64 169\.254\.169\.254\) is a cloud metadata/],
  ['[64:ff9b:1::7f00:1]', /reserved/],
  ['[2002:7f00:1::]', /6to4 127\.0\.0\.1\) is a loopback/],
  ['[2002:a9fe:a9fe::1]', /6to4 169\.254\.169\.254\) is a cloud metadata/],
  ['[2001:0:4136:e378:8000:63bf:80ff:fffe]', /Teredo 127\.0\.0\.1\) is a loopback/],
  ['localhost', /loopback name/],
  ['LOCALHOST.', /loopback name/],
  ['api.localhost', /loopback name/],
  ['localtest.me', /resolves to 127\.0\.0\.1 is a loopback/],
  ['rebind.example', /resolves to 127\.0\.0\.1 is a loopback/], // one bad address of two is enough
  ['mapped.example', /resolves to .*IPv4-mapped 127\.0\.0\.1/],
  ['169.254.169.254', /cloud metadata/],
  ['2852039166', /cloud metadata/], // 169.254.169.254 in decimal
  ['[::ffff:169.254.169.254]', /cloud metadata/],
  ['[fd00:ec2::254]', /cloud metadata/],
  ['100.100.100.200', /cloud metadata/],
  ['169.254.170.2', /cloud metadata/],
  ['metadata.google.internal', /cloud metadata name/],
  ['METADATA.GOOGLE.INTERNAL.', /cloud metadata name/],
  ['metadata.goog', /cloud metadata name/],
  ['meta.example', /resolves to 169\.254\.169\.254 is a cloud metadata/],
  ['169.254.1.1', /link-local/],
  ['[fe80::1]', /link-local/],
  ['0.0.0.0', /unspecified/],
  ['0', /unspecified/],
  ['[::]', /unspecified/],
  ['224.0.0.1', /multicast/],
  ['[ff02::1]', /multicast/],
  ['255.255.255.255', /broadcast/],
  ['240.0.0.1', /reserved/],
  ['10.1.2.3', /private address outside operations\.escalation\.allowed_networks/],
  ['172.16.0.1', /private/],
  ['172.31.255.255', /private/],
  ['192.168.1.1', /private/],
  ['100.64.0.1', /private/], // CGNAT
  ['[fc00::1]', /private/],
  ['[fd12:3456::1]', /private/],
  ['[::ffff:10.0.0.1]', /IPv4-mapped 10\.0\.0\.1\) is a private/],
  ['lan.example', /resolves to 192\.168\.20\.31 is a private/],
  ['nowhere.example', /cannot be resolved \(ENOTFOUND\)/],
];

describe('the outbound policy', () => {
  it(`judges ${SPELLINGS.length} spellings of hosts, each for its reason`, async () => {
    expect(SPELLINGS.length).toBeGreaterThanOrEqual(40);
    for (const [host, refused] of SPELLINGS) {
      const outcome = await closed.checkUrl(`http://${host}/x`).then(
        () => null,
        (err: OutboundRefused) => {
          expect(err, host).toBeInstanceOf(OutboundRefused);
          return err.reason;
        },
      );
      if (refused) expect(outcome, host).toMatch(refused);
      else expect(outcome, host).toBeNull();
    }
  });

  it('opens private ranges only where configured, and loopback only by an entry inside loopback', async () => {
    expect(lan.addressRefusal('192.168.20.31')).toBeUndefined();
    expect(lan.addressRefusal('10.9.9.9')).toBeUndefined();
    expect(lan.addressRefusal('::ffff:10.9.9.9')).toBeUndefined();
    expect(lan.addressRefusal('fd00::5')).toBeUndefined();
    expect(lan.addressRefusal('172.16.0.1')).toMatch(/private address outside plugins\.plug\.allowed_networks/);
    await expect(lan.check('lan.example')).resolves.toEqual(['192.168.20.31']);
    expect(lan.addressRefusal('127.0.0.1')).toMatch(/loopback address outside plugins\.plug\.allowed_networks/);

    expect(test.addressRefusal('127.0.0.1')).toBeUndefined();
    expect(test.literalRefusal('0x7f.1')).toBeUndefined();
    // Naming localhost stays refused: the test's plugs are given as 127.0.0.1:<port>.
    expect(test.literalRefusal('localhost')).toMatch(/loopback name/);

    // 0.0.0.0/0 opens every private range but neither loopback, link-local nor metadata.
    expect(everything.addressRefusal('172.20.0.1')).toBeUndefined();
    expect(everything.addressRefusal('127.0.0.1')).toMatch(/loopback/);
    expect(everything.addressRefusal('169.254.1.1')).toMatch(/link-local/);
    expect(everything.addressRefusal('100.100.100.200')).toMatch(/metadata/);
    expect(everything.addressRefusal('fd00:ec2::254')).toMatch(/metadata/);
    // Metadata is never opened, even by an entry naming it.
    expect(
      new OutboundPolicy({ setting: 'x', allowedNetworks: ['169.254.169.254/32'] }).addressRefusal('169.254.169.254'),
    ).toMatch(/metadata/);
  });

  it('names the key of a bad allowed network', () => {
    expect(
      () =>
        new OutboundPolicy({
          setting: 'plugins.plug.allowed_networks',
          allowedNetworks: ['10.0.0.0/8', '300.1.1.1/8'],
        }),
    ).toThrow("plugins.plug.allowed_networks.1: '300.1.1.1/8' is not a CIDR (e.g. 192.168.0.0/16)");
    expect(() => new OutboundPolicy({ setting: 's', allowedNetworks: ['10.0.0.0/33'] })).toThrow(/is not a CIDR/);
  });

  it('refuses URLs that are not URLs or not of the allowed protocols', () => {
    expect(closed.urlRefusal('not a url')).toBe("'not a url' is not a URL");
    expect(closed.urlRefusal('file:///etc/passwd')).toBe('only http https URLs are accepted, not file:');
    expect(closed.urlRefusal('ftp://fw.example.com/a')).toBe('only http https URLs are accepted, not ftp:');
    expect(closed.urlRefusal('ftp://fw.example.com/a', ['ftp:'])).toBeUndefined();
  });

  it('for a URL a device fetches: refuses a name resolving to a forbidden address, lets an unresolvable one through', async () => {
    const protocols = ['http:', 'https:', 'ftp:'];
    await expect(closed.deviceUrlRefusal('https://localtest.me/fw.bin')).resolves.toMatch(
      /localtest\.me resolves to 127\.0\.0\.1 is a loopback address/,
    );
    await expect(closed.deviceUrlRefusal('https://rebind.example/fw.bin')).resolves.toMatch(
      /127\.0\.0\.1 is a loopback/,
    );
    await expect(closed.deviceUrlRefusal('ftp://meta.example/in/', protocols)).resolves.toMatch(/cloud metadata/);
    await expect(closed.deviceUrlRefusal('https://lan.example/fw.bin')).resolves.toMatch(/private address outside/);
    await expect(lan.deviceUrlRefusal('https://lan.example/fw.bin')).resolves.toBeUndefined();
    await expect(closed.deviceUrlRefusal('https://fw.example.com/fw.bin')).resolves.toBeUndefined();
    // The device resolves it on its own network: not knowing is no reason to refuse.
    await expect(closed.deviceUrlRefusal('https://nowhere.example/fw.bin')).resolves.toBeUndefined();
    await expect(closed.deviceUrlRefusal('http://0x7f.1/fw.bin')).resolves.toMatch(/loopback/);
    await expect(closed.deviceUrlRefusal('file:///etc/passwd')).resolves.toMatch(/not file:/);
  });

  it('refuses localhost through the real resolver path too', async () => {
    const real = new OutboundPolicy({ setting: 'x' });
    await expect(real.check('localhost')).rejects.toThrow(/loopback name/);
    await expect(real.check('LocalHost.')).rejects.toThrow(/loopback name/);
  });
});

describe('a device address given as host[:port]', () => {
  const ok: Array<[string, { host: string; port?: number }]> = [
    ['192.168.20.31', { host: '192.168.20.31' }],
    ['plug-3.venue.lan:8080', { host: 'plug-3.venue.lan', port: 8080 }],
    ['[fd00::31]:80', { host: '[fd00::31]', port: 80 }],
  ];
  it('accepts a host and an optional port', () => {
    for (const [address, parsed] of ok) expect(parseHostPort(address), address).toEqual(parsed);
  });
  it('refuses paths, queries, fragments, user info, schemes and escapes', () => {
    for (const address of [
      '127.0.0.1:8086/query?q=DROP+DATABASE+x#',
      'plug/x',
      'plug?x=1',
      'plug#frag',
      'user:pw@plug',
      'http://plug',
      'plug%2fx',
      'plug x',
      'plug\\x',
      'plug:0',
      'plug:99999',
      '',
    ]) {
      expect(typeof parseHostPort(address), address).toBe('string');
    }
  });
});
