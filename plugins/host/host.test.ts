import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import si from 'systeminformation';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { validatePluginConfig } from '../../collector/runtime/plugin-config.ts';
import {
  CommandFailed,
  CommandRejected,
  DeviceUnreachable,
  type Command,
  type Point,
} from '../../collector/sdk/index.ts';
import { TestAccumulator } from '../../collector/sdk/testing.ts';
import host from './index.ts';
import { measurements } from './measurements.ts';

// The host plugin on this machine's real systeminformation, under the SDK's TestAccumulator
// (which throws at once on a point that does not match measurements.ts).
const dir = mkdtempSync(join(tmpdir(), 'fleetpulse-host-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(() => vi.restoreAllMocks());

const DEVICE = 'store-7-pc';
type HostConfig = Record<string, unknown>;

async function startHost(own: HostConfig = {}) {
  const config = validatePluginConfig(host, 'host', {
    device: DEVICE,
    interval_s: 1,
    cpu_interval_s: 1,
    ...own,
  });
  const acc = new TestAccumulator(host, config);
  const running = await host.start(acc.context);
  return {
    acc,
    running,
    async stop() {
      acc.stop();
      await running.stop();
    },
  };
}

const command = (name: string, params: unknown = {}): Command => ({
  id: `c-${name}`,
  name,
  params,
  signal: new AbortController().signal,
});
const fieldsOf = (name: string) => Object.keys(measurements.find((m) => m.name === name)!.fields);

describe('host metrics', () => {
  it('emits host_* points with declared fields, stamped with the reading time', async () => {
    const h = await startHost();
    try {
      await vi.waitFor(
        () => {
          for (const m of ['host_memory', 'host_disk', 'host_net', 'host_system', 'host_cpu'])
            expect(h.acc.of(m, DEVICE).length, m).toBeGreaterThan(0);
        },
        { timeout: 15_000, interval: 50 },
      );
      for (const p of h.acc.points.filter((p: Point) => p.measurement !== 'host_session')) {
        expect(p.tags.device).toBe(DEVICE);
        expect(p.time).toBe(h.acc.now);
        for (const f of Object.keys(p.fields)) expect(fieldsOf(p.measurement)).toContain(f);
      }
      const memory = h.acc.of('host_memory')[0];
      expect(Object.keys(memory.fields).sort()).toEqual([
        'available_bytes',
        'swap_used_bytes',
        'total_bytes',
        'used_pct',
      ]);
      expect(h.acc.of('host_disk').every((p) => p.tags.mount && p.tags.fs)).toBe(true);
      expect(h.acc.of('host_net').map((p) => p.tags.interface)).toContain('lo');
      expect(h.acc.seen.some((s) => s.device === DEVICE)).toBe(true);
      expect(h.acc.connections.has(DEVICE)).toBe(true);
    } finally {
      await h.stop();
    }
  });

  it('the slow CPU reading does not hold back the other readings', async () => {
    // currentLoad stays unanswered until released: the fast rounds must go on meanwhile.
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    vi.spyOn(si, 'currentLoad').mockImplementation(async () => {
      await held;
      return { currentLoad: 20, currentLoadUser: 15, currentLoadSystem: 5 } as Awaited<
        ReturnType<typeof si.currentLoad>
      >;
    });
    const h = await startHost();
    try {
      await vi.waitFor(() => expect(h.acc.of('host_memory').length).toBeGreaterThanOrEqual(2), {
        timeout: 15_000,
        interval: 50,
      });
      expect(h.acc.of('host_system').length).toBeGreaterThanOrEqual(2);
      expect(h.acc.of('host_cpu')).toEqual([]);
      release();
      await vi.waitFor(() => expect(h.acc.of('host_cpu').length).toBeGreaterThanOrEqual(1), {
        timeout: 5000,
        interval: 20,
      });
      expect(h.acc.of('host_cpu')[0].fields).toMatchObject({ usage_pct: 20, user_pct: 15, system_pct: 5 });
    } finally {
      release();
      await h.stop();
    }
  });

  it('a NaN from systeminformation is refused and counted, the other readings go out', async () => {
    vi.spyOn(si, 'mem').mockResolvedValue({ total: NaN, available: 1, swapused: 0 } as Awaited<
      ReturnType<typeof si.mem>
    >);
    const h = await startHost();
    try {
      await vi.waitFor(() => expect(h.acc.events.get('memory_invalid')).toBeGreaterThanOrEqual(1), {
        timeout: 15_000,
        interval: 50,
      });
      await vi.waitFor(() => expect(h.acc.of('host_system').length).toBeGreaterThanOrEqual(1), {
        timeout: 5000,
        interval: 50,
      });
      expect(h.acc.of('host_memory')).toEqual([]);
    } finally {
      await h.stop();
    }
  });
});

describe('host commands', () => {
  const script = join(dir, 'store-diag.sh');
  writeFileSync(script, '#!/bin/sh\necho "disk ok"\necho "fan ok"\necho "args: $*"\n');
  chmodSync(script, 0o755);

  it('diagnostics runs the configured script and returns its output; reboot runs its command', async () => {
    const h = await startHost({
      diagnostics_command: [script, '--short'],
      reboot_command: ['true'],
      warn_command: ['echo'],
      interval_s: 3600,
      cpu_interval_s: 3600,
    });
    try {
      await expect(h.running.execute!(DEVICE, command('diagnostics'))).resolves.toEqual({
        exit_code: 0,
        output: 'disk ok\nfan ok\nargs: --short\n',
        truncated: false,
      });
      await expect(h.running.execute!(DEVICE, command('reboot'))).resolves.toEqual({ exit_code: 0 });
      await expect(h.running.execute!(DEVICE, command('warn', { message: 'five minutes left' }))).resolves.toEqual({
        exit_code: 0,
      });
    } finally {
      await h.stop();
    }
  });

  it('a failing, missing or unconfigured program ends the command as documented', async () => {
    const h = await startHost({
      lock_command: ['false'],
      log_off_command: [join(dir, 'no-such-program')],
      interval_s: 3600,
      cpu_interval_s: 3600,
      output_max_bytes: 256,
    });
    try {
      const lock = h.running.execute!(DEVICE, command('lock'));
      await expect(lock).rejects.toBeInstanceOf(CommandFailed);
      await expect(lock).rejects.toThrow('lock_command exited with 1');
      await expect(h.running.execute!(DEVICE, command('log_off'))).rejects.toBeInstanceOf(CommandFailed);
      await expect(h.running.execute!(DEVICE, command('diagnostics'))).rejects.toBeInstanceOf(CommandRejected);
      await expect(h.running.execute!('other-pc', command('reboot'))).rejects.toBeInstanceOf(DeviceUnreachable);
    } finally {
      await h.stop();
    }
  });

  it('diagnostics output is cut to output_max_bytes', async () => {
    const long = join(dir, 'long-diag.sh');
    writeFileSync(long, '#!/bin/sh\nhead -c 1000 /dev/zero | tr "\\0" x\n');
    chmodSync(long, 0o755);
    const h = await startHost({
      diagnostics_command: [long],
      interval_s: 3600,
      cpu_interval_s: 3600,
      output_max_bytes: 256,
    });
    try {
      await expect(h.running.execute!(DEVICE, command('diagnostics'))).resolves.toEqual({
        exit_code: 0,
        output: 'x'.repeat(256),
        truncated: true,
      });
    } finally {
      await h.stop();
    }
  });
});
