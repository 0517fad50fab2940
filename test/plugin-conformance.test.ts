import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { load } from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { validatePluginConfig } from '../collector/runtime/plugin-config.ts';
import type { Plugin, Simulator } from '../collector/sdk/index.ts';
import { plugins, simulators } from '../plugins/index.ts';

/**
 * Every folder under plugins/ is a plugin and carries what the author's guide (plugins/README.md)
 * asks for. One test per rule and plugin, so that a failure names both.
 */
const ROOT = join(import.meta.dirname, '..', 'plugins');
const folders = readdirSync(ROOT, { withFileTypes: true })
  .filter((e) => e.isDirectory())
  .map((e) => e.name)
  .sort();
const REQUIRED_FILES = ['index.ts', 'protocol.ts', 'measurements.ts', 'simulator.ts', 'README.md'];
const README_SECTIONS = ['Configuration', 'Metrics', 'Tags', 'Commands', 'Example output'];

const read = (folder: string, file: string) => {
  const path = join(ROOT, folder, file);
  return existsSync(path) ? readFileSync(path, 'utf8') : '';
};
const pluginOf = (folder: string): Plugin | undefined => plugins.find((p) => p.name === folder);

it('finds the plugin folders', () => {
  expect(folders).toContain('example');
});

describe.each(folders)('plugins/%s', (folder) => {
  const sampleFile = `${folder}.sample.yaml`;

  it('is listed in plugins/index.ts under its folder name', () => {
    expect(pluginOf(folder), `plugins/index.ts lists no plugin named "${folder}"`).toBeDefined();
  });

  it('has index, protocol, measurements, simulator and README', () => {
    const missing = REQUIRED_FILES.filter((f) => !existsSync(join(ROOT, folder, f)));
    expect(missing, `missing in plugins/${folder}`).toEqual([]);
  });

  it('has at least one test beside the code', () => {
    expect(readdirSync(join(ROOT, folder)).filter((f) => f.endsWith('.test.ts'))).not.toEqual([]);
  });

  it('README has the sections Configuration, Metrics, Tags, Commands, Example output', () => {
    const headings = [...read(folder, 'README.md').matchAll(/^#{2,3} +(.+?)\s*$/gm)].map((m) => m[1].toLowerCase());
    const missing = README_SECTIONS.filter((s) => !headings.includes(s.toLowerCase()));
    expect(missing, `README sections missing in plugins/${folder}`).toEqual([]);
  });

  it(`${sampleFile} validates against the plugin's config schema`, () => {
    const plugin = pluginOf(folder);
    expect(plugin).toBeDefined();
    const text = read(folder, sampleFile);
    expect(text, `plugins/${folder}/${sampleFile} is missing`).not.toBe('');
    const doc = load(text) as { plugins?: Record<string, unknown> } | undefined;
    const section = doc?.plugins?.[folder];
    expect(section, `${sampleFile} has no plugins.${folder} section`).toBeDefined();
    for (const [i, instance] of (Array.isArray(section) ? section : [section]).entries()) {
      const { enabled: _e, on_start_failure: _o, ...own } = (instance ?? {}) as Record<string, unknown>;
      expect(() => validatePluginConfig(plugin!, `${folder}#${i + 1}`, own)).not.toThrow();
    }
  });

  it('README embeds the sample config verbatim', () => {
    const sample = read(folder, sampleFile).trim();
    expect(sample).not.toBe('');
    expect(
      read(folder, 'README.md').includes(sample),
      `README.md of ${folder} does not contain ${sampleFile} as it is`,
    ).toBe(true);
  });

  it('README mentions every declared measurement', () => {
    const readme = read(folder, 'README.md');
    const missing = (pluginOf(folder)?.measurements ?? []).map((m) => m.name).filter((name) => !readme.includes(name));
    expect(missing, `measurements not in plugins/${folder}/README.md`).toEqual([]);
  });

  it('production files import no test helper (testing.ts, test/)', () => {
    const files = readdirSync(join(ROOT, folder)).filter((f) => f.endsWith('.ts'));
    const isTest = (f: string) => f.endsWith('.test.ts') || f === 'testing.ts';
    const helper = /(^|\/)(testing\.ts|test\/.*)$/;
    const offending = files
      .filter((f) => !isTest(f))
      .flatMap((f) => [...read(folder, f).matchAll(/from '([^']+)'/g)].map((m) => `${f} imports ${m[1]}`))
      .filter((line) => helper.test(line.split(' imports ')[1]));
    expect(offending, `plugins/${folder}: test helpers are for tests only`).toEqual([]);
  });

  it('its recovery rules send commands that a plugin declares', () => {
    const plugin = pluginOf(folder);
    for (const rule of plugin?.recovery ?? []) {
      // Sent to the device itself: this plugin's command; through a label: the labelled device's plugin's.
      const declaring = rule.via_label ? plugins : [plugin!];
      expect(
        declaring.some((p) => rule.command in (p.commands ?? {})),
        `recovery rule ${rule.name}: no plugin declares the command ${rule.command}`,
      ).toBe(true);
    }
  });

  it('ships its simulator, listed in plugins/index.ts', async () => {
    const own = (await import(`../plugins/${folder}/simulator.ts`)).default as Simulator;
    expect(typeof own?.run).toBe('function');
    const listed = await Promise.all(Object.values(simulators).map((loadSimulator) => loadSimulator()));
    expect(
      listed.includes(own),
      `no entry of simulators in plugins/index.ts loads plugins/${folder}/simulator.ts`,
    ).toBe(true);
  });
});
