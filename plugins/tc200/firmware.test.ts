import { createHash, randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CommandFailed, CommandRejected, OutboundPolicy } from '../../collector/sdk/index.ts';
import { checkFirmwareUrl, downloadImage } from './firmware.ts';
import { startRig, until, type Rig } from './testing.ts';
import type { TerminalFaults } from './simulated-terminal.ts';

const SERIAL = 'TC2-000777';
let rig: Rig | undefined;
afterEach(async () => {
  await rig?.close();
  rig = undefined;
});

const image = randomBytes(20_000);
const sha256 = createHash('sha256').update(image).digest('hex');
const update = (params: Record<string, unknown>) => ({
  id: 'fw-1',
  name: 'update_firmware',
  signal: new AbortController().signal,
  params: { version: '2.5.0', sha256, image_base64: image.toString('base64'), ...params },
});

async function rigWith(faults: TerminalFaults = {}) {
  rig = await startRig({
    plugin: { firmware: { chunk_bytes: 1000, confirm_timeout_s: 10, max_image_bytes: 1 << 20 } },
    terminal: { serial: SERIAL, firmware: '2.4.1', faults },
  });
  await until('terminal attached', () => rig!.acc.connections.get(SERIAL));
  return rig;
}
const states = (r: Rig) => r.acc.of('terminal_firmware', SERIAL).map((p) => p.fields.state);

describe('update_firmware on a simulated TC-200', () => {
  it('transfers, verifies, applies and confirms the new version after reboot', async () => {
    const { acc, running, terminal } = await rigWith();
    const first = running.execute!(SERIAL, update({}));
    await expect(running.execute!(SERIAL, update({}))).rejects.toThrow(/already running/);
    const result = await first;
    expect(result).toEqual({ firmware: '2.5.0', previous: '2.4.1', bytes: image.length });
    expect(terminal!.firmware).toBe('2.5.0');
    expect(terminal!.boots).toBe(2);
    const s = states(rig!);
    expect(s[0]).toBe('transferring');
    expect(s.slice(-3)).toEqual(['verifying', 'applying', 'updated']);
    const progress = acc
      .of('terminal_firmware', SERIAL)
      .filter((p) => p.fields.state === 'transferring')
      .map((p) => p.fields.progress_pct as number);
    expect(progress).toEqual([...progress].sort((a, b) => a - b));
    expect(progress.at(-1)).toBe(100);
    expect(acc.of('terminal_info', SERIAL).at(-1)!.fields.firmware).toBe('2.5.0');
    expect(acc.seen).toContainEqual(expect.objectContaining({ device: SERIAL, firmware: '2.5.0' }));
  });

  it('an interrupted transfer (power lost mid-image) leaves the old firmware and reports update_failed', async () => {
    const { acc, running, terminal } = await rigWith({ firmware: 'interrupt', interrupt_at_pct: 50 });
    const run = running.execute!(SERIAL, update({}));
    await expect(run).rejects.toThrow(CommandFailed);
    await expect(run).rejects.toThrow(/firmware update of TC2-000777 to 2.5.0 failed/);
    const failed = acc.of('terminal_firmware', SERIAL).at(-1)!;
    expect(failed.fields).toMatchObject({ state: 'update_failed', from_version: '2.4.1', to_version: '2.5.0' });
    expect(failed.fields.progress_pct as number).toBeGreaterThan(0);
    expect(failed.fields.progress_pct as number).toBeLessThan(100);
    expect(acc.events.get('firmware_update_failed')).toBe(1);
    // The terminal comes back, says hello on its old version, and keeps being served.
    await until(
      'hello after power loss',
      () => terminal!.boots === 2 && acc.of('terminal_info', SERIAL).at(-1)!.fields.firmware === '2.4.1',
    );
    expect(terminal!.firmware).toBe('2.4.1');
    await until('attached again', () => acc.connections.get(SERIAL));
    await expect(
      running.execute!(SERIAL, { id: 'd', name: 'get_diagnostics', params: {}, signal: new AbortController().signal }),
    ).resolves.toMatchObject({ firmware: '2.4.1' });
  });

  it('a checksum mismatch on the terminal or an image that does not boot ends in update_failed on the old version', async () => {
    for (const fault of ['verify', 'apply'] as const) {
      const { acc, running, terminal } = await rigWith({ firmware: fault });
      await expect(running.execute!(SERIAL, update({}))).rejects.toThrow(
        fault === 'verify' ? /checksum mismatch/ : /came back on 2.4.1/,
      );
      expect(states(rig!).at(-1)).toBe('update_failed');
      expect(terminal!.firmware).toBe('2.4.1');
      expect(acc.of('terminal_firmware', SERIAL).at(-1)!.fields.error).toBeTruthy();
      await rig!.close();
      rig = undefined;
    }
  });

  it('refuses bad requests before touching the terminal', async () => {
    const { running, terminal } = await rigWith();
    await expect(running.execute!(SERIAL, update({ url: 'https://fw.example.com/x.bin' }))).rejects.toThrow(
      /exactly one of url and image_base64/,
    );
    await expect(running.execute!(SERIAL, update({ image_base64: 'not base64!' }))).rejects.toThrow(CommandRejected);
    // A wrong checksum is caught by the agent before a byte is sent.
    await expect(running.execute!(SERIAL, update({ sha256: '0'.repeat(64) }))).rejects.toThrow(
      /does not match its sha256/,
    );
    expect(terminal!.firmware).toBe('2.4.1');
    for (const bad of [
      'file:///etc/passwd',
      'http://127.0.0.1/fw',
      'http://[::1]/fw',
      'http://169.254.169.254/latest',
      'http://localhost:8080/fw',
      'http://0x7f.1/fw',
      'http://192.168.1.10/fw',
    ]) {
      await expect(checkFirmwareUrl(bad), bad).rejects.toThrow(CommandRejected);
    }
    expect((await checkFirmwareUrl('https://updates.example.com/tc200/2.5.0.bin')).hostname).toBe(
      'updates.example.com',
    );
  });
});

describe('downloading a firmware image (the agent fetches it itself)', () => {
  // A real image server on 127.0.0.1 that counts requests; names resolve through a table that no
  // system resolver knows, so a download that arrives went through the policy's checked lookup.
  let images: Server;
  let hits = 0;
  beforeAll(async () => {
    images = createServer((req, res) => {
      hits++;
      if (req.url === '/moved') return res.writeHead(302, { location: '/fw.bin' }).end();
      res.end(image);
    });
    await new Promise<void>((resolve) => images.listen(0, '127.0.0.1', resolve));
  });
  afterAll(() => new Promise((resolve) => images.close(resolve)));
  const at = (host: string, path = '/fw.bin') => `http://${host}:${(images.address() as AddressInfo).port}${path}`;

  /** A DNS server that answers `first`, then `later` (rebinding); counts the questions. */
  function dns(first: string[], later: string[]) {
    const asked: string[] = [];
    const policy = new OutboundPolicy({
      setting: 'test.allowed_networks',
      allowedNetworks: ['127.0.0.1/32'],
      resolve: async (name) => (asked.push(name) === 1 ? first : later),
    });
    return { policy, asked };
  }
  const signal = () => AbortSignal.timeout(10_000);

  it('connects to the address its lookup checked, asking DNS once', async () => {
    const { policy, asked } = dns(['127.0.0.1'], ['127.0.0.1']);
    const before = hits;
    expect((await downloadImage(policy, at('fw.venue'), 1 << 20, signal())).equals(image)).toBe(true);
    expect(asked).toEqual(['fw.venue']);
    expect(hits).toBe(before + 1);
  });

  it('a name checked once and then rebound to a metadata address is refused at connection, never fetched', async () => {
    const { policy, asked } = dns(['127.0.0.1'], ['169.254.169.254']);
    await policy.check('rebind.venue'); // the earlier check passes...
    const before = hits;
    await expect(downloadImage(policy, at('rebind.venue'), 1 << 20, signal())).rejects.toThrow(
      /rebind\.venue refused: resolves to 169\.254\.169\.254 is a cloud metadata address/,
    );
    expect(asked).toHaveLength(2);
    expect(hits).toBe(before);
  });

  it('does not follow a redirect, and refuses an image over the limit', async () => {
    const { policy } = dns(['127.0.0.1'], ['127.0.0.1']);
    await expect(downloadImage(policy, at('127.0.0.1', '/moved'), 1 << 20, signal())).rejects.toThrow(/HTTP 302/);
    await expect(downloadImage(policy, at('127.0.0.1'), 1000, signal())).rejects.toThrow(/answer over 1000 bytes/);
  });
});
