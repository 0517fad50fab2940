import { createHash, randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { CommandFailed, CommandRejected } from '../../collector/sdk/index.ts';
import { checkFirmwareUrl } from './firmware.ts';
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
