import { defineSimulator, type SimulatorOption } from '../../collector/sdk/index.ts';
import { SIMULATED_ERROR_CODES, type TerminalFaults } from '../tc200/terminal-model.ts';
import { SimulatedAgent } from './simulated-agent.ts';

/**
 * The options of `fleetpulse simulate --agents N`, each also a flag (`--terminals-per-agent 5`)
 * or `--opt key=value`. The fault options have the names and meaning of the TC-200 simulator's.
 */
const OPTIONS = {
  token: {
    description: 'without --api-key, the agent token every simulated agent presents (with --api-key each gets its own)',
    default: 'sim-token',
  },
  prefix: { description: 'agent ids are <prefix><n>', default: 'sim-agent-' },
  interval_s: {
    description: 'seconds between batches of an agent; each terminal reports a status per batch',
    default: '10',
    type: 'number',
  },
  terminals_per_agent: {
    description: 'simulated TC-200s behind each agent (<agent>-t<k>)',
    default: '0',
    type: 'number',
  },
  error_pct: {
    description: 'share of the terminals in an error state (card reader fault, paper out, no network), %',
    default: '2',
    type: 'number',
  },
  firmware: { description: 'firmware the terminals run', default: '2.4.1' },
  spikes: { description: 'chance per status of a terminal CPU/memory spike (0-1)', default: '0.02', type: 'number' },
  noise: {
    description: 'chance per frame of noise on a terminal line (0-1), counted in terminal_link',
    default: '0',
    type: 'number',
  },
  corrupt: { description: 'chance per frame of a bad CRC on a terminal line (0-1)', default: '0', type: 'number' },
  drop_bytes: { description: 'chance per byte lost on a terminal line (0-1)', default: '0', type: 'number' },
} satisfies Record<string, SimulatorOption>;

type Options = Record<string, string>;
const option = (options: Options, name: keyof typeof OPTIONS): string => options[name] ?? OPTIONS[name].default;

/**
 * `fleetpulse simulate --agents N`: N light edge agents holding the uplink to `serve` over the
 * real agent protocol, each with `terminals_per_agent` simulated TC-200s behind it (in memory, no
 * pty: see SimulatedAgent). The terminals report what real ones report through a real agent
 * (the tc200 plugin's terminal_info, terminal_status, terminal_link and, on updates,
 * terminal_firmware; their liveness with the error code) and take the tc200 plugin's commands.
 * Store PCs reporting host metrics are the host plugin's simulator (`--pcs`); TC-200s on real
 * serial ptys for a real `fleetpulse agent` are `--tc200`.
 */
export default defineSimulator({
  flag: 'agents',
  description: 'edge agents holding the uplink, with simulated TC-200s behind them',
  plugin: 'agent',
  options: OPTIONS,
  devices(count, options) {
    return agentIds(count, options).flatMap((id) => [
      { id, kind: 'pc', model: 'store-pc', credential: 'agent_token' },
      ...terminalIds(id, options).map((t) => ({
        id: t,
        kind: 'terminal',
        model: 'TC-200',
        firmware: option(options, 'firmware'),
        gateway: id,
      })),
    ]);
  },
  async run({ server, count, options, progress, signal, credentials, encode }) {
    const url = server.replace(/^http/, 'ws').replace(/\/$/, '') + '/agent/';
    const intervalMs = Number(option(options, 'interval_s')) * 1000;
    const terminals = Number(option(options, 'terminals_per_agent'));
    if (!Number.isInteger(terminals) || terminals < 0)
      throw new Error(`terminals_per_agent must be a whole number ≥ 0, got ${terminals}`);
    if (terminals > 0 && !encode)
      throw new Error('simulated terminals need SimulatorRun.encode (fleetpulse simulate passes it)');
    const ids = agentIds(count, options);
    const agents: SimulatedAgent[] = [];
    for (let i = 0; i < count && !signal.aborted; i++) {
      const id = ids[i];
      const agent = new SimulatedAgent({
        url,
        id,
        signal,
        encode: encode ?? (() => ''),
        token: credentials?.get(id) ?? option(options, 'token'),
        terminals: Array.from({ length: terminals }, (_, k) => terminalModel(options, i, k)),
        onAck: (n) => progress.count('points_acked', n),
        onCommand: (name, outcome) => progress.count(`${name}_${outcome}`),
      });
      try {
        await agent.connect();
        agents.push(agent);
      } catch (err) {
        progress.count('refused');
        progress.refused?.(id, (err as Error).message);
        if (i === 0) throw err;
      }
      progress.update('connected', agents.length, count);
    }
    while (!signal.aborted) {
      const t = Date.now();
      // Connected now, not ever: an uplink that went away reconnects by itself meanwhile.
      progress.update('connected', agents.filter((a) => a.uplink.connected).length, count);
      await Promise.all(agents.map((a) => a.report(t)));
      progress.count('batches', agents.length);
      await new Promise<void>((r) => {
        const done = () => (clearTimeout(timer), r());
        const timer = setTimeout(
          () => (signal.removeEventListener('abort', done), r()),
          Math.max(0, intervalMs - (Date.now() - t)),
        );
        signal.addEventListener('abort', done, { once: true });
      });
    }
    await Promise.all(agents.map((a) => a.close()));
  },
});

function agentIds(count: number, options: Options): string[] {
  const prefix = option(options, 'prefix');
  return Array.from({ length: count }, (_, i) => `${prefix}${i + 1}`);
}

function terminalIds(agent: string, options: Options): string[] {
  return Array.from({ length: Number(option(options, 'terminals_per_agent')) }, (_, k) => `${agent}-t${k + 1}`);
}

const ERROR_CODES = Object.keys(SIMULATED_ERROR_CODES).map(Number);

/**
 * Terminal k of agent i: in service for a while (its transaction counter), and in error for
 * `error_pct` % of the fleet, spread evenly (every (100 / error_pct)-th terminal).
 */
export function terminalModel(
  options: Options,
  i: number,
  k: number,
): { faults: TerminalFaults; transactions: number; firmware: string } {
  const n = i * Number(option(options, 'terminals_per_agent')) + k;
  const errorPct = Number(option(options, 'error_pct'));
  const inError = errorPct > 0 && Math.floor(((n + 1) * errorPct) / 100) > Math.floor((n * errorPct) / 100);
  const num = (name: keyof typeof OPTIONS) => Number(option(options, name));
  return {
    firmware: option(options, 'firmware'),
    transactions: 1000 + ((n * 7919) % 20_000),
    faults: {
      spikes: num('spikes'),
      noise: num('noise'),
      corrupt: num('corrupt'),
      drop_bytes: num('drop_bytes'),
      error_code: inError ? ERROR_CODES[n % ERROR_CODES.length] : undefined,
    },
  };
}
