import { mkdir, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defineSimulator } from '../../collector/sdk/index.ts';
import { startPtyPair, type PtyPair } from './pty.ts';
import { startTerminal, type SimulatedTerminal, type TerminalFaults } from './terminal-sim.ts';

export { startTerminal, type SimulatedTerminal, type TerminalFaults, type TerminalOptions } from './terminal-sim.ts';
export { startPtyPair, type PtyPair } from './pty.ts';

/**
 * Simulated TC-200s, each on its own socat pty pair. Prints the host ends as the `plugins.tc200`
 * section for an agent. Options (`--opt key=value`): `dir` (where the pty links go, default a new
 * temp dir), `prefix` (serial number prefix, default `TC2-SIM-`), `firmware` (default `2.4.1`),
 * and the faults of TerminalFaults as numbers (`noise=0.01`, `drop_bytes=0.001`, `corrupt=0.01`,
 * `spikes=0.1`, `error_code=261`), `split=true`, `firmware_fault=verify|apply|interrupt`.
 */
export default defineSimulator({
  flag: 'tc200',
  description: 'TC-200 payment terminals on socat pty pairs (give the printed ports to an agent)',
  // Registered (with `simulate --api-key`) so that the agent reading them finds them in the
  // inventory; they hold no credential: the agent authenticates for them.
  devices: (count, options) =>
    Array.from({ length: count }, (_, i) => ({ id: serialOf(options, i + 1), kind: 'terminal', model: 'TC-200' })),
  async run({ count, options, progress, signal }) {
    const dir = options.dir ?? (await mkdtemp(join(tmpdir(), 'tc200-sim-')));
    await mkdir(dir, { recursive: true });
    const faults = faultsFrom(options);
    const pairs: PtyPair[] = [];
    const terminals: SimulatedTerminal[] = [];
    try {
      for (let i = 1; i <= count && !signal.aborted; i++) {
        const serial = serialOf(options, i);
        const pair = await startPtyPair(dir, serial);
        pairs.push(pair);
        terminals.push(startTerminal({ path: pair.device, serial, firmware: options.firmware, faults }));
        progress.update('terminals', i, count);
      }
      process.stdout.write(`# TC-200 simulator: ${pairs.length} terminals; configure the agent with\nplugins:\n  tc200:\n    ports:\n`);
      for (const p of pairs) process.stdout.write(`      - path: ${p.host}\n`);
      if (!signal.aborted) await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
    } finally {
      await Promise.all(terminals.map((t) => t.stop()));
      await Promise.all(pairs.map((p) => p.stop()));
    }
  },
});

/** Terminal n (from 1) is `<prefix><n, five digits>`. */
function serialOf(options: Record<string, string>, n: number): string {
  return `${options.prefix ?? 'TC2-SIM-'}${String(n).padStart(5, '0')}`;
}

function faultsFrom(options: Record<string, string>): TerminalFaults {
  const num = (k: string) => (options[k] === undefined ? undefined : Number(options[k]));
  const fw = options.firmware_fault;
  if (fw !== undefined && fw !== 'verify' && fw !== 'apply' && fw !== 'interrupt') {
    throw new Error(`firmware_fault must be verify, apply or interrupt, got ${fw}`);
  }
  return {
    noise: num('noise'),
    drop_bytes: num('drop_bytes'),
    corrupt: num('corrupt'),
    spikes: num('spikes'),
    error_code: num('error_code'),
    split: options.split === 'true',
    firmware: fw,
    interrupt_at_pct: num('interrupt_at_pct'),
  };
}
