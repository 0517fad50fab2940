import type { Plugin, Simulator } from '../collector/sdk/index.ts';
import example from './example/index.ts';
import agent from './agent/index.ts';
import host from './host/index.ts';
import pos from './pos/index.ts';
import plug from './plug/index.ts';
import ocpp from './ocpp/index.ts';
import tc200 from './tc200/index.ts';

/**
 * The only list of plugins. Order is start order. A new device type is one folder and one line
 * here (and one line in `simulators`).
 */
export const plugins: readonly Plugin[] = [example, agent, host, pos, plug, ocpp, tc200];

/** Simulators load on demand so that `serve` never loads client-side code. */
export const simulators: Record<string, () => Promise<Simulator>> = {
  example: async () => (await import('./example/simulator.ts')).default,
  agents: async () => (await import('./agent/simulator.ts')).default,
  pos: async () => (await import('./pos/simulator.ts')).default,
  plug: async () => (await import('./plug/simulator.ts')).default,
  ocpp: async () => (await import('./ocpp/simulator.ts')).default,
  tc200: async () => (await import('./tc200/simulator.ts')).default,
  pcs: async () => (await import('./host/simulator.ts')).default,
};
