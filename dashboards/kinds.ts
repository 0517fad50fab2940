import { plugins } from '../plugins/index.ts';

/** A device kind some plugin serves (its `kinds`). */
export type KindName = (typeof plugins)[number]['kinds'][number];

/**
 * Device kinds the dashboards and rules single out, read from the plugin registry: `KIND.charger`
 * stops compiling once no plugin serves chargers.
 */
export const KIND = Object.fromEntries(plugins.flatMap((p) => p.kinds.map((k) => [k, k]))) as {
  readonly [K in KindName]: K;
};
