/**
 * `fleetpulse serve` refuses a bad configuration before it opens anything: exit code 2 and a
 * message naming the key. Without influx.url and without influxd on PATH it exits with the
 * command that installs one. Each case runs the real serve process.
 */
import { mkdtempSync, rmSync, symlinkSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runServeToExit } from './helpers/serve-process.ts';

const root = mkdtempSync(path.join(os.tmpdir(), 'fleetpulse-serve-config-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
function caseDir(): string {
  const dir = path.join(root, String(++n));
  mkdirSync(dir);
  return dir;
}

/** A valid base: nothing in it would start an influxd (the URL is never reached before exit 2). */
const base = (dir: string) => ({
  data_dir: path.join(dir, 'data'),
  http: { host: '127.0.0.1', port: 0 },
  influx: { url: 'http://127.0.0.1:9' },
});

// One serve at a time: six starting at once (each compiling with tsx) missed 30 s on 2 loaded cores.
describe('serve with an invalid configuration', () => {
  const cases: Array<{
    what: string;
    config: (dir: string) => Record<string, unknown> | string;
    env?: NodeJS.ProcessEnv;
    names: RegExp;
  }> = [
    {
      what: 'a value of the wrong YAML type',
      config: (d) => ({ ...base(d), http: { host: '127.0.0.1', port: 'eighty' } }),
      names: /http\.port/,
    },
    {
      what: 'an unknown key',
      config: (d) => ({ ...base(d), pipeline: { batch_sise: 10 } }),
      names: /pipeline\.batch_sise: unknown option/,
    },
    {
      what: 'a bad environment override',
      config: (d) => base(d),
      env: { FLEETPULSE_HTTP__PORT: 'abc' },
      names: /http\.port/,
    },
    {
      what: 'a bad plugin option',
      config: (d) => ({ ...base(d), plugins: { example: { report_interval_s: -1 } } }),
      names: /plugins\.example\.report_interval_s/,
    },
    {
      what: 'an unknown plugin',
      config: (d) => ({ ...base(d), plugins: { nosuch: {} } }),
      names: /plugins\.nosuch: no such plugin/,
    },
    { what: 'a file that is not YAML', config: () => 'http: [unclosed', names: /cannot read configuration/ },
  ];
  for (const c of cases) {
    it(`refuses ${c.what} with exit code 2 and names the key`, async () => {
      const dir = caseDir();
      const exit = await runServeToExit(c.config(dir), dir, c.env);
      expect(exit.output).toMatch(/invalid configuration/);
      expect(exit.output).toMatch(c.names);
      expect(exit.code).toBe(2);
    });
  }
});

describe('serve without influx.url', () => {
  it('exits with the command that installs influxd when there is none on PATH', async () => {
    const dir = caseDir();
    const bin = path.join(dir, 'bin');
    mkdirSync(bin);
    symlinkSync(process.execPath, path.join(bin, 'node'));
    const { influx: _influx, ...config } = base(dir);
    const exit = await runServeToExit(config, dir, { PATH: bin });
    expect(exit.output).toContain('apt-get install -y influxdb');
    expect(exit.code).not.toBe(0);
    expect(exit.signal).toBeNull();
  });
});
