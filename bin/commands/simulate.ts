import { setMaxListeners } from 'node:events';
import { simulators } from '../../plugins/index.ts';
import type { Simulator, SimulatorProgress } from '../../collector/sdk/index.ts';
import { parseFlags, usageExit } from '../args.ts';
import { DEMO_CUSTOMER, DEMO_SITES, provision } from '../provision.ts';

const usage = () => `usage: fleetpulse simulate [--server URL] [--api-key KEY] [--duration SECONDS] [--opt key=value ...] --<type> N ...

Runs simulated devices speaking the real protocols to a running server until Ctrl-C or the end of
--duration. Device types (each plugin ships its own simulator):
${Object.keys(simulators).map((f) => `  --${f} N`).join('\n')}

  --server URL      default http://127.0.0.1:8080
  --api-key KEY     an admin API key (default: env FLEETPULSE_API_KEY). With it, simulate first
                    registers the devices through the API: customer "${DEMO_CUSTOMER.company}", sites
                    ${DEMO_SITES.map((s) => s.name).join(', ')}, the devices, and a fresh credential each
                    (reusing what exists). Without it, devices must already be known to the server.
  --opt key=value   passed to the simulators (e.g. --opt interval_s=5)`;

export default async function simulate(argv: string[]): Promise<number> {
  const flagOptions = Object.fromEntries(Object.keys(simulators).map((f) => [f, { type: 'string' as const }]));
  const flags = parseFlags(argv, usage(), {
    ...flagOptions,
    server: { type: 'string', default: 'http://127.0.0.1:8080' },
    'api-key': { type: 'string' },
    duration: { type: 'string' },
    opt: { type: 'string', multiple: true, default: [] },
  });
  if (!flags) return usageExit(argv);
  const values = flags.values as unknown as Record<string, string | string[] | undefined>;
  const chosen = Object.keys(simulators).filter((f) => values[f] !== undefined);
  if (chosen.length === 0) {
    console.error(`fleetpulse simulate: name at least one device type\n\n${usage()}`);
    return 2;
  }
  const options: Record<string, string> = {};
  for (const pair of values.opt as string[]) {
    const [key, ...rest] = pair.split('=');
    if (!key || rest.length === 0) {
      console.error(`fleetpulse simulate: --opt ${pair}: expected key=value`);
      return 2;
    }
    options[key] = rest.join('=');
  }
  const counts = new Map<string, number>();
  for (const flag of chosen) {
    const count = Number(values[flag]);
    if (!Number.isInteger(count) || count < 1) {
      console.error(`fleetpulse simulate: --${flag} needs a positive whole number, got ${values[flag]}`);
      return 2;
    }
    counts.set(flag, count);
  }
  // An empty value (FLEETPULSE_API_KEY= in a compose file) means no key.
  const apiKey = (values['api-key'] as string | undefined) || process.env.FLEETPULSE_API_KEY || undefined;
  const server = String(values.server);
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
    const fleet = new Map<string, Simulator>();
    for (const flag of chosen) fleet.set(flag, await simulators[flag]!());
    let credentials: ReadonlyMap<string, string> | undefined;
    if (apiKey !== undefined) {
      const provisioning = line.for('');
      const fleets = [...fleet].map(([flag, s]) => s.devices?.(counts.get(flag)!, options) ?? []);
      const done = await provision({
        server, apiKey, fleets, signal: stop.signal,
        progress: (n, total) => provisioning.update('provisioning', n, total),
      }).finally(() => line.remove(''));
      credentials = done.credentials;
      line.note(`registered ${done.created + done.reused} devices for ${DEMO_CUSTOMER.company} (${done.created} new, ${done.reused} reused), ${done.credentials.size} credentials issued`);
    }
    // The run's length counts from here: provisioning a large fleet takes a while of its own.
    if (values.duration) setTimeout(() => stop.abort(), Number(values.duration) * 1000).unref();
    runs = [...fleet].map(([flag, simulator]) =>
      simulator.run({ server, count: counts.get(flag)!, options, credentials, progress: line.for(flag, simulator.plugin ?? flag), signal: stop.signal }),
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
      .map(([name, s]) => [`${name ? `${name} ` : ''}${s.stage ?? 'starting'} ${s.done}/${s.total}`, ...[...s.counts].map(([k, v]) => `${k} ${v}`)].join(' · '))
      .join('  |  ');
    process.stderr.write(process.stderr.isTTY ? `\r\x1b[2K${text}` : `${text}\n`);
  }
}
