import { describe, expect, it } from 'vitest';
import { unsafeDeviceUrl } from './device-url.ts';

describe('unsafeDeviceUrl', () => {
  it('refuses loopback, link-local, unspecified and file: URLs, also in their shorthand and mapped forms', () => {
    for (const url of [
      'http://127.0.0.1/fw.bin',
      'http://localhost:8080/fw',
      'https://[::1]/x',
      'http://169.254.169.254/latest',
      'http://[fe80::1]/x',
      'http://[::ffff:127.0.0.1]/x',
      'http://[::ffff:7f00:1]/x',
      'file:///etc/passwd',
      'http://0.0.0.0/x',
      'http://2130706433/x',
      'http://0x7f.1/x',
    ]) {
      expect(unsafeDeviceUrl(url), url).toBeDefined();
    }
  });

  it('refuses loopback names written with trailing dots (the fully qualified form) or in other spellings', () => {
    for (const url of [
      'http://localhost./x',
      'http://foo.localhost./x',
      'http://LocalHost.:8080/x',
      'http://localhost../x',
      'http://localhost%2e/x',
      'http://localhost\u3002/x', // ideographic full stop: URL maps it to "."
      'http://127.0.0.1./x',
      'http://169.254.169.254./latest',
    ]) {
      expect(unsafeDeviceUrl(url), url).toMatch(/loopback|link-local/);
    }
    expect(unsafeDeviceUrl('http://localhost./x')).toBe('localhost. is a loopback name');
  });

  it('names the reason: not a URL, a protocol not accepted', () => {
    expect(unsafeDeviceUrl('not a url')).toBe("'not a url' is not a URL");
    expect(unsafeDeviceUrl('file:///etc/passwd')).toBe('file: URLs are refused');
    expect(unsafeDeviceUrl('ftp://fw.example.com/a')).toBe('only http https URLs are accepted, not ftp:');
  });

  it('accepts public names and addresses, names that only contain "localhost", and protocols the caller allows', () => {
    for (const url of ['https://fw.example.com/tc200/2.0.0.bin', 'http://fw.example.com./a', 'http://localhost.example.com/x', 'http://mylocalhost/x', 'http://93.184.216.34/x', 'https://[2001:db8::1]/x']) {
      expect(unsafeDeviceUrl(url), url).toBeUndefined();
    }
    expect(unsafeDeviceUrl('ftp://fw.example.com/a', ['ftp:'])).toBeUndefined();
  });
});
