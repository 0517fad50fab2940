import Value from 'typebox/value';
import {
  PluginConfigError,
  type Plugin,
  type PluginDefinition,
  type PluginPlace,
  type Static,
  type TSchema,
} from '../sdk/index.ts';

export type StartFailurePolicy = 'exit' | 'retry';

/** One configured instance of a plugin, its config validated and defaults applied. */
export interface PluginInstance {
  plugin: Plugin;
  instance: string;
  config: unknown;
  onStartFailure: StartFailurePolicy;
}

/**
 * Turns the `plugins:` section of the configuration into instances, in the order of the plugin
 * list. A section may be an object, a list of objects (several instances) or `false`. Nothing is
 * opened here; every error names the key (`plugins.ocpp.heartbeat_s: must be number`).
 */
export function resolvePlugins(
  available: readonly Plugin[],
  sections: Record<string, unknown>,
  place: PluginPlace,
  defaultPolicy: StartFailurePolicy,
): PluginInstance[] {
  for (const name of Object.keys(sections)) {
    if (!available.some((p) => p.name === name)) {
      throw new PluginConfigError(name, '', `no such plugin; installed: ${available.map((p) => p.name).join(', ')}`);
    }
  }
  const instances: PluginInstance[] = [];
  for (const plugin of available) {
    const section = sections[plugin.name];
    if (!plugin.runs_in.includes(place) || section === false) continue;
    if (section === undefined && !plugin.enabled_by_default) continue;
    const list = Array.isArray(section) ? section : [section ?? {}];
    list.forEach((raw, i) => {
      const instance = list.length > 1 ? `${plugin.name}#${i + 1}` : plugin.name;
      if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
        throw new PluginConfigError(instance, '', 'must be a mapping of options');
      }
      const { enabled, on_start_failure, ...own } = raw as Record<string, unknown>;
      if (enabled === false) return;
      if (enabled !== undefined && enabled !== true)
        throw new PluginConfigError(instance, 'enabled', 'must be true or false');
      if (on_start_failure !== undefined && on_start_failure !== 'exit' && on_start_failure !== 'retry') {
        throw new PluginConfigError(instance, 'on_start_failure', 'must be "exit" or "retry"');
      }
      instances.push({
        plugin,
        instance,
        config: validatePluginConfig(plugin, instance, own),
        onStartFailure: on_start_failure ?? defaultPolicy,
      });
    });
  }
  return instances;
}

/** Applies the schema's defaults and validates; throws PluginConfigError naming the first bad key. */
export function validatePluginConfig<C extends TSchema>(
  plugin: PluginDefinition<C>,
  instance: string,
  raw: unknown,
): Static<C> {
  const config = Value.Default(plugin.config, structuredClone(raw ?? {}));
  const first =
    [...Value.Errors(plugin.config, config)].find((e) => e.keyword !== 'boolean') ??
    [...Value.Errors(plugin.config, config)][0];
  if (first) {
    const key = first.instancePath.replace(/^\//, '').replaceAll('/', '.');
    const extra = (first.params as { additionalProperties?: string[] }).additionalProperties;
    if (extra?.length) throw new PluginConfigError(instance, key ? `${key}.${extra[0]}` : extra[0], 'unknown option');
    throw new PluginConfigError(instance, key, first.message);
  }
  return config as Static<C>; // validated just above
}
