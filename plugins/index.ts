import type { Plugin, Simulator } from '../collector/sdk/index.ts';

/** A plugin, the `fleetpulse simulate` flag of its simulator and how to load that. */
const listed = <P extends Plugin>(
  module: { default: P },
  flag: string,
  simulator: () => Promise<{ default: Simulator }>,
) => ({
  plugin: module.default,
  flag,
  simulator,
});

/**
 * The only list of plugins, one line each, in start order. A new device type is one folder and
 * one line here: the core, the dashboards and the alert rules read kinds, measurements, commands
 * and recovery rules from the definitions. Simulators load on demand so that `serve` never loads
 * client-side code.
 */
const registry = [
  listed(await import('./example/index.ts'), 'example', () => import('./example/simulator.ts')),
  listed(await import('./agent/index.ts'), 'agents', () => import('./agent/simulator.ts')),
  listed(await import('./host/index.ts'), 'pcs', () => import('./host/simulator.ts')),
  listed(await import('./pos/index.ts'), 'pos', () => import('./pos/simulator.ts')),
  listed(await import('./plug/index.ts'), 'plug', () => import('./plug/simulator.ts')),
  listed(await import('./ocpp/index.ts'), 'ocpp', () => import('./ocpp/simulator.ts')),
  listed(await import('./tc200/index.ts'), 'tc200', () => import('./tc200/simulator.ts')),
];

/** Each definition keeps its literal kinds (`KindName` in dashboards/kinds.ts is their union). */
export const plugins = registry.map((r) => r.plugin);

/** Simulators by flag. */
export const simulators: Record<string, () => Promise<Simulator>> = Object.fromEntries(
  registry.map((r) => [r.flag, async () => (await r.simulator()).default]),
);
