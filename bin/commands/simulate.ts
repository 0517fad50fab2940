import { simulators } from '../../plugins/index.ts';
import type { SimulatorProgress } from '../../collector/sdk/index.ts';
import { parseFlags } from '../args.ts';

const usage = () => `usage: fleetpulse simulate [--server URL] [--duration SECONDS] [--opt key=value ...] --<type> N ...

Runs simulated devices speaking the real protocols to a running server until Ctrl-C or the end of
--duration. Device types (each plugin ships its own simulator):
${Object.keys(simulators).map((f) => `  --${f} N`).join('\n')}

  --server URL      default http://127.0.0.1:8080
  --opt key=value   passed to the simulators (e.g. --opt interval_s=5)`;

export default async function simulate(argv: string[]): Promise<number> {
  const flagOptions = Object.fromEntries(Object.keys(simulators).map((f) => [f, { type: 'string' as const }]));
  const flags = parseFlags(argv, usage(), {
    ...flagOptions,
    server: { type: 'string', default: 'http://127.0.0.1:8080' },
    duration: { type: 'string' },
    opt: { type: 'string', multiple: true, default: [] },
  });
  if (!flags) return argv.includes('--help') || argv.includes('-h') ? 0 : 2;
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
  const stop = new AbortController();
  process.once('SIGINT', () => stop.abort());
  process.once('SIGTERM', () => stop.abort());
  if (values.duration) setTimeout(() => stop.abort(), Number(values.duration) * 1000).unref();

  const line = new ProgressLine();
  const runs = chosen.map(async (flag) => {
    const count = Number(values[flag]);
    if (!Number.isInteger(count) || count < 1) throw new Error(`--${flag} needs a positive whole number, got ${values[flag]}`);
    const simulator = await simulators[flag]!();
    await simulator.run({ server: String(values.server), count, options, progress: line.for(flag), signal: stop.signal });
  });
  const timer = setInterval(() => line.print(), process.stderr.isTTY ? 500 : 5000);
  try {
    await Promise.all(runs);
    return 0;
  } catch (err) {
    console.error(`\nfleetpulse simulate: ${(err as Error).message}`);
    stop.abort();
    return 1;
  } finally {
    clearInterval(timer);
    line.print();
    process.stderr.write('\n');
  }
}

/** One line of progress for every simulator: `example connected 480/500 · readings 9120 · errors 2`. */
class ProgressLine {
  private readonly state = new Map<string, { stage?: string; done: number; total: number; counts: Map<string, number> }>();

  for(name: string): SimulatorProgress {
    const s = { done: 0, total: 0, counts: new Map<string, number>() } as { stage?: string; done: number; total: number; counts: Map<string, number> };
    this.state.set(name, s);
    return {
      update: (stage, done, total) => Object.assign(s, { stage, done, total }),
      count: (event, by = 1) => void s.counts.set(event, (s.counts.get(event) ?? 0) + by),
    };
  }

  print(): void {
    const text = [...this.state]
      .map(([name, s]) => [`${name} ${s.stage ?? 'starting'} ${s.done}/${s.total}`, ...[...s.counts].map(([k, v]) => `${k} ${v}`)].join(' · '))
      .join('  |  ');
    process.stderr.write(process.stderr.isTTY ? `\r\x1b[2K${text}` : `${text}\n`);
  }
}
