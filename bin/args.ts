import { parseArgs, type ParseArgsConfig } from 'node:util';

/** Parses a sub-command's flags; prints usage and returns undefined on `--help` or a bad flag. */
export function parseFlags<const O extends NonNullable<ParseArgsConfig['options']>>(
  argv: string[],
  usage: string,
  options: O,
) {
  try {
    const parsed = parseArgs({ args: argv, options: { ...options, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true });
    if ((parsed.values as { help?: boolean }).help) {
      console.log(usage);
      return undefined;
    }
    return parsed;
  } catch (err) {
    console.error(`${(err as Error).message}\n\n${usage}`);
    return undefined;
  }
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
