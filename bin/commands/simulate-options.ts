import { parseArgs, type ParseArgsConfig } from 'node:util';
import type { Simulator, SimulatorOption } from '../../collector/sdk/index.ts';

type FlagConfig = NonNullable<ParseArgsConfig['options']>[string];

/**
 * The command line of `fleetpulse simulate`: its own flags, one `--<type> N` per simulator, the
 * options the chosen simulators declare as `--kebab-case` flags, and `--opt key=value` for any
 * option at all. Unknown flags are refused with the list of valid ones.
 */
export interface SimulateArgs {
  help: boolean;
  server: string;
  apiKey?: string;
  duration?: string;
  /** Device count per chosen simulator flag. */
  counts: Map<string, number>;
  /** Options by snake_case name, as `SimulatorRun.options`. */
  options: Record<string, string>;
}

/** A command line that cannot run; the message says why (exit code 2). */
export class UsageError extends Error {
  override name = 'UsageError';
  constructor(
    message: string,
    /** The flag nobody here declares, when that is the trouble. */
    readonly unknown?: string,
  ) {
    super(message);
  }
}

const OWN: Record<string, FlagConfig> = {
  server: { type: 'string', default: 'http://127.0.0.1:8080' },
  'api-key': { type: 'string' },
  duration: { type: 'string' },
  opt: { type: 'string', multiple: true, default: [] },
  help: { type: 'boolean', short: 'h' },
};

export const kebab = (name: string): string => name.replaceAll('_', '-');

/** The simulator flags named on the command line (`--agents 5`, `--agents=5`): those are loaded before parsing. */
export function namedSimulators(argv: readonly string[], flags: readonly string[]): string[] {
  return flags.filter((f) => argv.some((a) => a === `--${f}` || a.startsWith(`--${f}=`)));
}

interface Declared {
  name: string;
  option: SimulatorOption;
  /** The simulator flags that declare it. */
  of: string[];
}

/** Declared options of `simulators` by flag name; a name that clashes with a CLI flag is a bug in the simulator. */
export function declaredFlags(
  simulators: ReadonlyMap<string, Simulator>,
  allFlags: readonly string[],
): Map<string, Declared> {
  const out = new Map<string, Declared>();
  for (const [flag, simulator] of simulators) {
    for (const [name, option] of Object.entries(simulator.options ?? {})) {
      const key = kebab(name);
      if (Object.hasOwn(OWN, key) || allFlags.includes(key)) {
        throw new Error(`simulator --${flag} declares option ${name}, whose flag --${key} is taken by simulate itself`);
      }
      const known = out.get(key);
      if (known) known.of.push(flag);
      else out.set(key, { name, option, of: [flag] });
    }
  }
  return out;
}

/**
 * Parses `argv`. `loaded` holds every simulator whose options may be given: the named ones (or
 * all of them, for the usage). Throws UsageError.
 */
export function parseSimulateArgs(
  argv: string[],
  allFlags: readonly string[],
  loaded: ReadonlyMap<string, Simulator>,
): SimulateArgs {
  const declared = declaredFlags(loaded, allFlags);
  const descriptors: Record<string, FlagConfig> = { ...OWN };
  for (const f of allFlags) descriptors[f] = { type: 'string' };
  for (const [key, d] of declared) descriptors[key] = { type: d.option.type === 'boolean' ? 'boolean' : 'string' };

  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: descriptors, allowPositionals: true, strict: true });
  } catch (err) {
    const code = (err as { code?: string }).code;
    const unknown = /'(-[^']+)'/.exec((err as Error).message)?.[1];
    if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && unknown)
      throw new UsageError(unknownFlag(unknown, allFlags, declared), unknown);
    throw new UsageError((err as Error).message);
  }
  const values = parsed.values as Record<string, string | boolean | string[] | undefined>;
  if (parsed.positionals.length > 0)
    throw new UsageError(`unexpected argument ${parsed.positionals[0]} (every value follows its flag: --agents 5)`);
  const help = values.help === true;

  const options: Record<string, string> = {};
  for (const pair of values.opt as string[]) {
    const [key, ...rest] = pair.split('=');
    if (!key || rest.length === 0) throw new UsageError(`--opt ${pair}: expected key=value`);
    options[key] = rest.join('=');
  }
  for (const [key, d] of declared) {
    const given = values[key];
    if (given === undefined) continue;
    const value = String(given);
    if (options[d.name] !== undefined && options[d.name] !== value) {
      throw new UsageError(`--${key} ${value} and --opt ${d.name}=${options[d.name]} disagree: give it once`);
    }
    options[d.name] = value;
  }
  for (const [key, d] of declared) {
    const value = options[d.name];
    if (value !== undefined && d.option.type === 'number' && (value.trim() === '' || !Number.isFinite(Number(value)))) {
      throw new UsageError(`--${key} (--opt ${d.name}): expected a number, got ${value}`);
    }
  }

  const counts = new Map<string, number>();
  for (const flag of allFlags) {
    if (values[flag] === undefined) continue;
    const count = Number(values[flag]);
    if (!Number.isInteger(count) || count < 1)
      throw new UsageError(`--${flag} needs a positive whole number, got ${String(values[flag])}`);
    counts.set(flag, count);
  }
  if (counts.size === 0 && !help) throw new UsageError('name at least one device type');
  return {
    help,
    server: String(values.server),
    apiKey: values['api-key'] as string | undefined,
    duration: values.duration as string | undefined,
    counts,
    options,
  };
}

/** What to say about a flag nobody here declares: the valid ones. */
function unknownFlag(flag: string, allFlags: readonly string[], declared: ReadonlyMap<string, Declared>): string {
  const valid = [
    ...Object.keys(OWN)
      .filter((k) => k !== 'help')
      .map((k) => `--${k}`),
    ...allFlags.map((f) => `--${f}`),
    ...[...declared.keys()].map((k) => `--${k}`),
  ];
  return `unknown option ${flag}; valid options here: ${valid.join(', ')} (fleetpulse simulate --help lists each simulator's options)`;
}

/** The simulators (of all, loaded) that declare `flag` as an option: to say "an option of --agents, not chosen". */
export function declaredBy(flag: string, all: ReadonlyMap<string, Simulator>): string[] {
  const key = flag.replace(/^--/, '').split('=')[0];
  return [...all].filter(([, s]) => Object.keys(s.options ?? {}).some((n) => kebab(n) === key)).map(([f]) => f);
}

/** The usage text; with `simulators` loaded, each one's description and declared options. */
export function usageText(
  flags: readonly string[],
  loaded: ReadonlyMap<string, Simulator>,
  demo: { company: string; sites: string },
): string {
  const types = flags.map((f) => {
    const s = loaded.get(f);
    const lines = [`  --${f} N`.padEnd(20) + (s?.description ?? '')];
    for (const [name, o] of Object.entries(s?.options ?? {})) {
      const value = o.type === 'boolean' ? '' : o.type === 'number' ? ' N' : ' VALUE';
      const def = o.default !== undefined ? ` (default ${o.default})` : '';
      lines.push(`      --${kebab(name)}${value}`.padEnd(36) + `${o.description}${def}`);
    }
    return lines.join('\n');
  });
  return `usage: fleetpulse simulate [--server URL] [--api-key KEY] [--duration SECONDS] [--<option> VALUE ...] [--opt key=value ...] --<type> N ...

Runs simulated devices speaking the real protocols to a running server until Ctrl-C or the end of
--duration. Device types (each plugin ships its own simulator), each with the options it declares:
${types.join('\n')}

  --server URL      default http://127.0.0.1:8080
  --api-key KEY     an admin API key (default: env FLEETPULSE_API_KEY). With it, simulate first
                    registers the devices through the API: customer "${demo.company}", sites
                    ${demo.sites}, the devices, and a fresh credential each
                    (reusing what exists). Without it, devices must already be known to the server.
  --duration SECONDS  stop after this long (default: run until Ctrl-C)
  --opt key=value   any simulator option by its snake_case name (--opt terminals_per_agent=5 is
                    --terminals-per-agent 5); simulators chosen together share the options`;
}
