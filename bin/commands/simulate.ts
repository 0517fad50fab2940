import { setMaxListeners } from 'node:events';
import { encodeLine } from '../../collector/pipeline/line-protocol.ts';
import { simulators } from '../../plugins/index.ts';
import type { Simulator, SimulatorProgress } from '../../collector/sdk/index.ts';
import { DEMO_CUSTOMER, DEMO_SITES, provision } from '../provision.ts';
import {
  declaredBy,
  namedSimulators,
  parseSimulateArgs,
  usageText,
  UsageError,
  type SimulateArgs,
} from './simulate-options.ts';

const DEMO = { company: DEMO_CUSTOMER.company, sites: DEMO_SITES.map((s) => s.name).join(', ') };

/** Loads simulators by flag (each plugin's simulator loads on demand). */
async function load(flags: readonly string[]): Promise<Map<string, Simulator>> {
  return new Map(await Promise.all(flags.map(async (f) => [f, await simulators[f]()] as const)));
}

export default async function simulate(argv: string[]): Promise<number> {
  const all = Object.keys(simulators);
  const asksHelp = argv.includes('--help') || argv.includes('-h');
  // The simulators named on the command line are loaded first: the options they declare are flags.
  const fleet = await load(asksHelp ? all : namedSimulators(argv, all));
  let args: SimulateArgs;
  try {
    args = parseSimulateArgs(argv, all, fleet);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    let message = err.message;
    if (err.unknown) {
      const owners = declaredBy(err.unknown, await load(all));
      if (owners.length > 0)
        message = `${err.unknown} is an option of ${owners.map((o) => `--${o}`).join(', ')}, which this command does not run; ${message}`;
    }
    // The usage of every simulator is long: the message names what is wrong and what is valid.
    console.error(
      `fleetpulse simulate: ${message}${err.unknown ? '' : ' (fleetpulse simulate --help lists every option)'}`,
    );
    return 2;
  }
  if (args.help) {
    console.log(usageText(all, fleet, DEMO));
    return 0;
  }
  const { counts, options } = args;
  for (const flag of fleet.keys()) if (!counts.has(flag)) fleet.delete(flag);
  // An empty value (FLEETPULSE_API_KEY= in a compose file) means no key.
  const apiKey = args.apiKey || process.env.FLEETPULSE_API_KEY || undefined;
  const server = args.server;
  const stop = new AbortController();
  // Every simulated device of every simulator waits on this one signal (a few listeners each).
  setMaxListeners(100 + 4 * [...counts.values()].reduce((a, b) => a + b, 0), stop.signal);
  // The first Ctrl-C (or SIGTERM) ends the run cleanly; a second one does not wait for that.
  const interrupt = (signal: NodeJS.Signals) => {
    if (stop.signal.aborted) process.exit(signal === 'SIGINT' ? 130 : 143);
    stop.abort();
  };
  process.on('SIGINT', interrupt);
  process.on('SIGTERM', interrupt);

  const line = new ProgressLine(apiKey !== undefined);
  const timer = setInterval(() => line.print(), process.stderr.isTTY ? 500 : 5000);
  let runs: Array<Promise<void>> = [];
  try {
    let credentials: ReadonlyMap<string, string> | undefined;
    if (apiKey !== undefined) {
      const provisioning = line.for('');
      const fleets = [...fleet].map(([flag, s]) => s.devices?.(counts.get(flag)!, options) ?? []);
      const done = await provision({
        server,
        apiKey,
        fleets,
        signal: stop.signal,
        progress: (n, total) => provisioning.update('provisioning', n, total),
      }).finally(() => line.remove(''));
      credentials = done.credentials;
      line.note(
        `registered ${done.created + done.reused} devices for ${DEMO_CUSTOMER.company} (${done.created} new, ${done.reused} reused), ${done.credentials.size} credentials issued`,
      );
    }
    // The run's length counts from here: provisioning a large fleet takes a while of its own.
    if (args.duration) setTimeout(() => stop.abort(), Number(args.duration) * 1000).unref();
    runs = [...fleet].map(([flag, simulator]) =>
      simulator.run({
        server,
        count: counts.get(flag)!,
        options,
        credentials,
        progress: line.for(flag, simulator.plugin ?? flag),
        signal: stop.signal,
        encode: encodeLine,
      }),
    );
    await Promise.all(runs);
    return 0;
  } catch (err) {
    line.note(`fleetpulse simulate: ${(err as Error).message}`);
    stop.abort();
    // Let the other simulators disconnect their devices, but not for ever.
    await Promise.race([Promise.allSettled(runs), new Promise((r) => setTimeout(r, STOP_WAIT_MS).unref())]);
    return 1;
  } finally {
    clearInterval(timer);
    process.off('SIGINT', interrupt);
    process.off('SIGTERM', interrupt);
    line.print();
    process.stderr.write('\n');
  }
}

/** How long the other simulators may take to stop after one failed, ms. */
const STOP_WAIT_MS = 10_000;

interface Entry {
  stage?: string;
  done: number;
  total: number;
  counts: Map<string, number>;
}

/**
 * One line of progress for every simulator: `example connected 480/500 · readings 9120 · errors 2`
 * (`provisioning 200/500` while registering). Notes and the first refusal go on lines of their own.
 */
class ProgressLine {
  private readonly state = new Map<string, Entry>();
  private hinted = false;

  constructor(private readonly provisioned: boolean) {}

  for(name: string, plugin = name): SimulatorProgress {
    const s: Entry = { done: 0, total: 0, counts: new Map() };
    this.state.set(name, s);
    return {
      update: (stage, done, total) => Object.assign(s, { stage, done, total }),
      count: (event, by = 1) => void s.counts.set(event, (s.counts.get(event) ?? 0) + by),
      refused: (device, reason) => this.refused(plugin, device, reason),
    };
  }

  remove(name: string): void {
    this.state.delete(name);
  }

  /** A line of its own, above the progress line. */
  note(text: string): void {
    process.stderr.write(process.stderr.isTTY ? `\r\x1b[2K${text}\n` : `${text}\n`);
  }

  /** Printed once per run: what the server said, and how to get devices accepted. */
  private refused(plugin: string, device: string, reason: string): void {
    if (this.hinted) return;
    this.hinted = true;
    this.note(
      this.provisioned
        ? `devices are refused although simulate registered them (${device}: ${reason}): see plugins/${plugin}/README.md`
        : `devices are refused (${device}: ${reason}): pass --api-key (an admin key) so simulate can register them, or see plugins/${plugin}/README.md`,
    );
  }

  print(): void {
    if (this.state.size === 0) return;
    const text = [...this.state]
      .map(([name, s]) =>
        [
          `${name ? `${name} ` : ''}${s.stage ?? 'starting'} ${s.done}/${s.total}`,
          ...[...s.counts].map(([k, v]) => `${k} ${v}`),
        ].join(' · '),
      )
      .join('  |  ');
    process.stderr.write(process.stderr.isTTY ? `\r\x1b[2K${text}` : `${text}\n`);
  }
}
