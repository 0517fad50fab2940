import { parseArgs, type ParseArgsConfig } from 'node:util';

/** Parses a sub-command's flags; prints usage and returns undefined on `--help` or a bad flag. */
export function parseFlags<const O extends NonNullable<ParseArgsConfig['options']>>(
  argv: string[],
  usage: string,
  options: O,
) {
  try {
    const parsed = parseArgs({
      args: argv,
      options: { ...options, help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
      strict: true,
    });
    if ((parsed.values as { help?: boolean }).help) {
      console.log(usage);
      return undefined;
    }
    return parsed;
  } catch (err) {
    console.error(`${flagError(err as Error)}\n\n${usage}`);
    return undefined;
  }
}

/**
 * Node's parser explains at length how to pass a positional that starts with '-'; a user who
 * typed a wrong flag needs its name: "unknown option --prot".
 */
function flagError(err: Error): string {
  const code = (err as { code?: string }).code;
  const flag = /'(-[^' ]+)/.exec(err.message)?.[1];
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && flag) return `unknown option ${flag}`;
  if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' && flag && err.message.includes('argument missing'))
    return `option ${flag} needs a value`;
  return err.message.split(/(?<=\.) /)[0];
}

/** Where a sub-command writes; tests pass their own to read what it printed. */
export interface Io {
  out: (text: string) => void;
  err: (text: string) => void;
}

export const stdio: Io = {
  out: (text) => process.stdout.write(text + '\n'),
  err: (text) => process.stderr.write(text + '\n'),
};

/** The exit code after `parseFlags` returned undefined: 0 when help was asked for, 2 for a bad flag. */
export const usageExit = (argv: string[]): number => (argv.includes('--help') || argv.includes('-h') ? 0 : 2);
