import { mkdir, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defineSimulator, type SimulatorOption } from '../../collector/sdk/index.ts';
import { startPtyPair, type PtyPair } from './pty.ts';
import { startTerminal, type SimulatedTerminal, type TerminalFaults } from './simulated-terminal.ts';

export {
  startTerminal,
  type SimulatedTerminal,
  type TerminalFaults,
  type TerminalOptions,
} from './simulated-terminal.ts';
export { startPtyPair, type PtyPair } from './pty.ts';
export { MemoryTerminal } from './simulated-memory-terminal.ts';
export { TerminalModel, SIMULATED_ERROR_CODES } from './terminal-model.ts';

/** Its options, each a flag (`--noise 0.01`) or `--opt key=value`; the faults are those of TerminalFaults. */
const OPTIONS = {
  dir: { description: 'where the pty links go', default: 'a new temp dir' },
  prefix: { description: 'serial numbers are <prefix><n, five digits>', default: 'TC2-SIM-' },
  firmware: { description: 'firmware the terminals boot with', default: '2.4.1' },
  noise: { description: 'chance per write of 1-16 noise bytes before it (0-1)', default: '0', type: 'number' },
  drop_bytes: { description: 'chance per byte of losing it, both directions (0-1)', default: '0', type: 'number' },
  corrupt: { description: 'chance per write of one flipped bit (0-1)', default: '0', type: 'number' },
  spikes: { description: 'chance per status of a CPU/memory spike (0-1)', default: '0', type: 'number' },
  error_code: { description: 'report state error with this code (261 = 0x0105 card reader fault)', type: 'number' },
  split: { description: 'write frames in 1-5 byte pieces', type: 'boolean' },
  firmware_fault: { description: 'verify | apply | interrupt: how a firmware update fails' },
  interrupt_at_pct: {
    description: 'where firmware_fault=interrupt strikes, % of the image',
    default: '50',
    type: 'number',
  },
} satisfies Record<string, SimulatorOption>;

/**
 * Simulated TC-200s, each on its own socat pty pair. Prints the host ends as the `plugins.tc200` section for an agent.
 */
export default defineSimulator({
  flag: 'tc200',
  description: 'TC-200 payment terminals on socat pty pairs (give the printed ports to an agent)',
  options: OPTIONS,
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
      process.stdout.write(
        `# TC-200 simulator: ${pairs.length} terminals; configure the agent with\nplugins:\n  tc200:\n    ports:\n`,
      );
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
