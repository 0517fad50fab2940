/**
 * `npm run bench`: runs every bench/*.ts that exports `run()` (or only those named on the command line: `npm run bench
 * -- pipeline memory`), one after the other so they do not compete for the CPU, each in a process of its own
 * (bench/run-one.ts), and prints one table. Each `run()` returns `{ name, ours, reference, ratio, goal }`, or a list of
 * them for a bench with several figures, unrounded; its `goals` (floors and ceilings on `ours` or on `ratio`) are all
 * judged on those unrounded values in the verdict column (bench/result.ts); a figure without a goal is printed for the
 * record; `unit` and `note` are printed when given. The load average is printed before and after: the machine is
 * shared, so only ratios against a reference timed in the same run mean much. `-- --scale seed` runs the seed-scale
 * set (below); raise the open-file limit first (`ulimit -n 20000`, this machine's hard limit): the chargers' side
 * holds one socket per charger.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { figure, verdict, type Result } from './result.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
/**
 * `--scale seed`: the benches at the seeds' own scale (issue 19), each told so by BENCH_SCALE=seed
 * in its environment: OCPP at 10,000 chargers; the device API and search run at 20,000 devices at
 * either scale; agents (10,000 agents / 20,000 terminals) and `mixed` (serve with chargers
 * reporting, the device API and the NOC board beside the same idle) are seed-scale only.
 */
const SEED_SCALE = ['ocpp', 'devices-api', 'device-search', 'agents', 'mixed'];
/** Benches only `--scale seed` (or naming them) runs: plain `npm run bench` stays under 8 minutes. */
const SEED_ONLY = ['agents', 'mixed'];
const args = process.argv.slice(2);
const scaleAt = args.indexOf('--scale');
const scale = scaleAt === -1 ? 'default' : args[scaleAt + 1];
if (scale !== 'default' && scale !== 'seed') {
  console.error(`--scale takes "seed", got ${JSON.stringify(scale)}`);
  process.exit(2);
}
const named = scaleAt === -1 ? args : args.filter((_, i) => i !== scaleAt && i !== scaleAt + 1);
const wanted = named.length > 0 || scale === 'default' ? named : SEED_SCALE;
// Only files that export `run` are benches: bench/ also holds helper scripts (child processes
// of a bench) whose top level runs, and exits, when imported.
const exportsRun = (file: string) =>
  /export\s+(async\s+)?function\s+run\b|export\s+(const|let)\s+run\b/.test(readFileSync(path.join(here, file), 'utf8'));
const files = readdirSync(here)
  .filter((f) => f.endsWith('.ts') && exportsRun(f))
  .filter((f) =>
    wanted.length === 0 ? !SEED_ONLY.includes(f.replace(/\.ts$/, '')) : wanted.includes(f.replace(/\.ts$/, '')),
  )
  .sort();
if (wanted.length > 0 && files.length !== wanted.length) {
  console.error(`unknown bench: ${wanted.filter((w) => !files.includes(`${w}.ts`)).join(', ')}`);
  process.exit(2);
}

const loadBefore = os.loadavg();
const rows: Array<{ file: string; result?: Result; error?: string }> = [];
const scratch = mkdtempSync(path.join(os.tmpdir(), 'fleetpulse-bench-'));
for (const file of files) {
  process.stderr.write(`running ${file} ...\n`);
  const out = path.join(scratch, `${file}.json`);
  const child = spawnSync(process.execPath, ['--import', 'tsx', path.join(here, 'run-one.ts'), file, out], {
    stdio: 'inherit',
    env: { ...process.env, BENCH_SCALE: scale },
  });
  let answer: { results?: Result | Result[]; error?: string };
  try {
    answer = JSON.parse(readFileSync(out, 'utf8')) as typeof answer;
  } catch {
    answer = { error: `the bench's process ended (${child.signal ?? `exit ${child.status}`}) without figures` };
  }
  if (answer.error !== undefined) {
    rows.push({ file, error: answer.error });
    continue;
  }
  const results = answer.results;
  for (const result of Array.isArray(results) ? results : [results]) {
    // A run() that returns something else is a bench's bug: say so in its row, keep the others.
    const complete =
      typeof result?.name === 'string' &&
      [result.ours, result.reference, result.ratio].every((n) => typeof n === 'number');
    rows.push(
      complete
        ? { file, result }
        : {
            file,
            error: `run() returned no { name, ours, reference, ratio }: ${JSON.stringify(result).slice(0, 120)}`,
          },
    );
  }
}
rmSync(scratch, { recursive: true, force: true });

const table = [['bench', 'ours', 'reference', 'ratio', 'verdict']];
for (const { file, result: r, error } of rows) {
  if (!r) {
    table.push([file, '-', '-', '-', `FAILED: ${error}`]);
    continue;
  }
  const unit = r.unit ?? 'points/s';
  const note = r.note ? ` (${r.note})` : '';
  table.push([
    r.name,
    `${figure(r.ours)} ${unit}`,
    `${figure(r.reference)} ${unit}`,
    `${figure(r.ratio)}x`,
    verdict(r) + note,
  ]);
}
const widths = table[0].map((_, c) => Math.max(...table.map((row) => row[c].length)));
for (const [i, row] of table.entries()) {
  console.log(
    row
      .map((cell, c) => (c === 0 || c === row.length - 1 ? cell.padEnd(widths[c]) : cell.padStart(widths[c])))
      .join('  ')
      .trimEnd(),
  );
  if (i === 0) console.log(widths.map((w) => '-'.repeat(w)).join('  '));
}
const load = (l: number[]) => l.map((x) => x.toFixed(2)).join(' ');
console.log(`scale ${scale}; open-file limit ${openFileLimit()}`);
console.log(
  `${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? 'unknown'}); load average ${load(loadBefore)} before, ${load(os.loadavg())} after`,
);
process.exitCode = rows.some((r) => r.error) ? 1 : 0;

/** The soft open-file limit the benches' processes inherit, as the shell reports it. */
function openFileLimit(): string {
  const r = spawnSync('sh', ['-c', 'ulimit -n'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : 'unknown';
}
