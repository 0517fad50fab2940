import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { expect, it } from 'vitest';

// The packages a plugin's production import must not load: the test harness (TestAccumulator:
// better-sqlite3, pino) and the simulation tools (SimulatedUplink: ws) have entry points of their own.
const HEAVY = ['better-sqlite3', 'pino', 'ws'];

/** The packages that importing `file` alone loads, read from Node's module cache in a fresh process. */
function packagesLoadedBy(file: string): string[] {
  const script = `
    await import(${JSON.stringify(join(import.meta.dirname, file))});
    const { createRequire } = await import('node:module');
    const files = Object.keys(createRequire(import.meta.url).cache);
    console.log(JSON.stringify(files.map((f) => f.split('/node_modules/').pop().split('/')[0])));
  `;
  const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    encoding: 'utf8',
  });
  return JSON.parse(out) as string[];
}

it('importing the SDK contract loads neither the test harness nor the simulation tools', () => {
  expect(HEAVY.filter((p) => packagesLoadedBy('index.ts').includes(p))).toEqual([]);
});

it('the test and simulation entry points do load them (the probe sees what it looks for)', () => {
  expect(packagesLoadedBy('testing.ts')).toEqual(expect.arrayContaining(['better-sqlite3', 'pino']));
  expect(packagesLoadedBy('simulation.ts')).toContain('ws');
});
