import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Value from 'typebox/value';
import type { RunningPlugin } from '../../collector/sdk/index.ts';
import { TestAccumulator } from '../../collector/sdk/testing.ts';
import { config, type Tc200Config } from './config.ts';
import plugin from './index.ts';
import { startPtyPair, type PtyPair } from './pty.ts';
import { startTerminal, type SimulatedTerminal, type TerminalOptions } from './simulated-terminal.ts';

/**
 * The rig the TC-200 tests share: a socat pty pair, the plugin on the host end (hosted by the
 * SDK's TestAccumulator) and, unless told otherwise, a simulated terminal on the device end.
 * Everything it starts, `close()` stops.
 */
export interface Rig {
  dir: string;
  pair: PtyPair;
  acc: TestAccumulator<typeof config>;
  running: RunningPlugin;
  terminal?: SimulatedTerminal;
  close(): Promise<void>;
}

/** Fast link settings so that fault recovery takes milliseconds, not seconds. */
export const FAST = {
  ack_timeout_ms: 60,
  max_retries: 8,
  command_timeout_s: 3,
  identify_interval_s: 0.3,
  presence_check_ms: 100,
  reconnect_initial_ms: 50,
  reconnect_max_ms: 400,
  status_interval_s: 1,
} satisfies Partial<Tc200Config>;

export async function startRig(
  options: { plugin?: Partial<Tc200Config>; terminal?: Omit<TerminalOptions, 'path'> | false } = {},
): Promise<Rig> {
  const dir = await mkdtemp(join(tmpdir(), 'tc200-test-'));
  const pair = await startPtyPair(dir, 'line');
  const cfg = Value.Default(
    config,
    structuredClone({ ...FAST, ...options.plugin, ports: [{ path: pair.host }] }),
  ) as Tc200Config;
  const acc = new TestAccumulator(plugin, cfg);
  const terminal =
    options.terminal === false
      ? undefined
      : startTerminal({
          serial: 'TC2-000123',
          ack_timeout_ms: 60,
          reboot_ms: 200,
          ...options.terminal,
          path: pair.device,
        });
  const running = await plugin.start(acc.context);
  return {
    dir,
    pair,
    acc,
    running,
    terminal,
    async close() {
      acc.stop();
      await running.stop();
      await terminal?.stop();
      await pair.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Waits (bounded) until `check` returns a truthy value, and returns it. */
export async function until<T>(what: string, check: () => T | undefined | false, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
