import { readFileSync } from 'node:fs';
import { load } from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { ConfigError, ConfigSchema, loadConfig } from './config.ts';

const sample = new URL('../fleetpulse.sample.yaml', import.meta.url).pathname;

describe('configuration', () => {
  it('the sample file names every option and equals the defaults', () => {
    const fromSample = loadConfig(sample, {});
    expect(fromSample).toEqual(loadConfig(undefined, {}));
    const raw = load(readFileSync(sample, 'utf8')) as Record<string, unknown>;
    for (const [section, schema] of Object.entries(ConfigSchema.properties)) {
      expect(raw, `sample lacks ${section}`).toHaveProperty(section);
      const props = (schema as { properties?: Record<string, unknown> }).properties;
      for (const key of Object.keys(props ?? {}))
        expect(raw[section], `sample lacks ${section}.${key}`).toHaveProperty(key);
    }
  });

  it('environment overrides use double underscores and YAML scalars', () => {
    const c = loadConfig(undefined, {
      FLEETPULSE_HTTP__PORT: '9090',
      FLEETPULSE_INFLUX__GZIP: 'false',
      FLEETPULSE_ADMIN_KEY: 'not-config',
    });
    expect(c.http.port).toBe(9090);
    expect(c.influx.gzip).toBe(false);
  });

  it.each([
    [{ FLEETPULSE_HTTP__PORT: 'abc' }, 'FLEETPULSE_HTTP__PORT (http.port): must be integer'],
    [{ FLEETPULSE_INFLUX__URLX: 'x' }, 'FLEETPULSE_INFLUX__URLX (influx.urlx): unknown option'],
    [{ FLEETPULSE_PIPELINE__BATCH_SIZE: '0' }, 'FLEETPULSE_PIPELINE__BATCH_SIZE (pipeline.batch_size):'],
    [{ FLEETPULSE_NOPE__X: '1' }, 'FLEETPULSE_NOPE__X (nope): unknown option'],
  ])('refuses %o naming the key', (env, message) => {
    expect(() => loadConfig(undefined, env)).toThrow(ConfigError);
    expect(() => loadConfig(undefined, env)).toThrow(message);
  });
});
