import { describe, expect, it } from 'vitest';
import { defineSimulator, type Simulator } from '../../collector/sdk/index.ts';
import { simulators } from '../../plugins/index.ts';
import { declaredBy, namedSimulators, parseSimulateArgs, usageText, UsageError } from './simulate-options.ts';

// The command line of `fleetpulse simulate` with the real simulators' declared options.
const FLAGS = Object.keys(simulators);
const all = new Map<string, Simulator>(await Promise.all(FLAGS.map(async (f) => [f, await simulators[f]()] as const)));
const parse = (argv: string[]) => {
  const named = new Map([...all].filter(([f]) => namedSimulators(argv, FLAGS).includes(f)));
  return parseSimulateArgs(argv, FLAGS, named);
};
const refusal = (argv: string[]) => {
  try {
    parse(argv);
  } catch (err) {
    if (err instanceof UsageError) return err;
    throw err;
  }
  throw new Error(`accepted ${argv.join(' ')}`);
};

describe('simulate command line', () => {
  it('takes a declared option as a --kebab-case flag, the same as --opt', () => {
    const flags = parse(['--agents', '200', '--terminals-per-agent', '5']);
    expect(flags.counts).toEqual(new Map([['agents', 200]]));
    expect(flags.options).toEqual({ terminals_per_agent: '5' });
    expect(parse(['--agents=200', '--opt', 'terminals_per_agent=5']).options).toEqual({ terminals_per_agent: '5' });
    expect(
      parse(['--agents', '1', '--terminals-per-agent=3', '--opt', 'terminals_per_agent=3', '--opt', 'anything=goes'])
        .options,
    ).toEqual({ terminals_per_agent: '3', anything: 'goes' });
    // A boolean option is a bare flag; options are shared by the simulators chosen together.
    expect(parse(['--tc200', '2', '--agents', '1', '--split', '--noise', '0.01']).options).toEqual({
      split: 'true',
      noise: '0.01',
    });
    expect(parse(['--pcs', '2']).server).toBe('http://127.0.0.1:8080');
  });

  it('refuses unknown flags naming the valid ones, and bad values naming the flag', () => {
    const typo = refusal(['--agents', '2', '--terminals-per-agen', '5']);
    expect(typo.unknown).toBe('--terminals-per-agen');
    expect(typo.message).toMatch(
      /^unknown option --terminals-per-agen; valid options here: --server, --api-key, --duration, --opt, .*--agents.*--terminals-per-agent, --error-pct/,
    );
    // The option of a simulator not chosen is unknown here; its owner is found among all of them.
    const notChosen = refusal(['--pcs', '2', '--terminals-per-agent', '5']);
    expect(notChosen.unknown).toBe('--terminals-per-agent');
    expect(declaredBy(notChosen.unknown!, all)).toEqual(['agents']);
    expect(refusal(['--agents', '1', '--interval-s', 'soon']).message).toBe(
      '--interval-s (--opt interval_s): expected a number, got soon',
    );
    expect(refusal(['--agents', '1', '--opt', 'interval_s=']).message).toBe(
      '--interval-s (--opt interval_s): expected a number, got ',
    );
    expect(refusal(['--agents', '1', '--interval-s', '3', '--opt', 'interval_s=4']).message).toBe(
      '--interval-s 3 and --opt interval_s=4 disagree: give it once',
    );
    expect(refusal(['--agents', '0']).message).toBe('--agents needs a positive whole number, got 0');
    expect(refusal(['--agents', '1', '--opt', 'novalue']).message).toBe('--opt novalue: expected key=value');
    expect(refusal(['--agents', '1', '5']).message).toMatch(/^unexpected argument 5/);
    expect(refusal(['--server', 'http://x']).message).toBe('name at least one device type');
  });

  it('a simulator may not declare an option that is one of simulate’s own flags', () => {
    const clash = defineSimulator({
      flag: 'clash',
      description: 'x',
      options: { server: { description: 'mine' } },
      run: async () => {},
    });
    expect(() => parseSimulateArgs(['--clash', '1'], ['clash'], new Map([['clash', clash]]))).toThrow(
      'simulator --clash declares option server, whose flag --server is taken by simulate itself',
    );
  });

  it('the usage lists each simulator with its options and defaults', () => {
    const usage = usageText(FLAGS, all, { company: 'Demo', sites: 'A, B' });
    expect(usage).toMatch(/--agents N +edge agents/);
    expect(usage).toMatch(
      /\n {6}--terminals-per-agent N +simulated TC-200s behind each agent \(<agent>-t<k>\) \(default 0\)/,
    );
    expect(usage).toMatch(/\n {6}--split +write frames in 1-5 byte pieces/);
  });
});
