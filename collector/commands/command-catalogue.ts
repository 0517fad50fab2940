import type { CommandSpec, Plugin } from '../sdk/index.ts';

/**
 * The commands each device kind accepts, from the plugins' declarations: lets the durable layer
 * validate a command for a device that is offline now (the bus only knows attached devices).
 * When several plugins serve a kind, their commands are merged (the first declaration wins).
 */
export class CommandCatalogue {
  private readonly byKind = new Map<string, Record<string, CommandSpec>>();

  constructor(plugins: readonly Pick<Plugin, 'kinds' | 'commands'>[]) {
    for (const plugin of plugins) {
      for (const kind of plugin.kinds) {
        const merged = this.byKind.get(kind) ?? {};
        for (const [name, spec] of Object.entries(plugin.commands ?? {}))
          if (!Object.hasOwn(merged, name)) merged[name] = spec;
        this.byKind.set(kind, merged);
      }
    }
  }

  /** The declared commands of a kind; empty when no plugin serves it. */
  forKind(kind: string): Record<string, CommandSpec> {
    return this.byKind.get(kind) ?? {};
  }
}
