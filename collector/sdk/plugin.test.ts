import { expectTypeOf, it } from 'vitest';
import { definePlugin, Type, type Plugin, type PluginContext } from './index.ts';
import { TestAccumulator } from './testing.ts';

// Checked by `tsc` (vitest's expectTypeOf does nothing at run time): a plugin keeps its config
// type, so tests hand it a context without casts and a context of the wrong config is an error.
const config = Type.Object({ port: Type.Integer({ default: 1 }) }, { additionalProperties: false });
const plugin = definePlugin({
  name: 'typed',
  description: 'a plugin typed by its schema',
  kinds: ['sensor'],
  runs_in: ['serve'],
  config,
  measurements: [],
  reporting_interval_s: (c) => c.port,
  async start() {
    return { async stop() {} };
  },
});

it('definePlugin keeps the config type and still fits the Plugin list', () => {
  expectTypeOf(plugin.start).parameter(0).toEqualTypeOf<PluginContext<{ port: number }>>();
  expectTypeOf(new TestAccumulator(plugin, { port: 2 }).context).toEqualTypeOf<PluginContext<{ port: number }>>();
  // @ts-expect-error the config does not match the schema
  new TestAccumulator(plugin, { port: 'two' });
  expectTypeOf(plugin).toExtend<Plugin>();
});
