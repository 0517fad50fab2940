/**
 * The plugins' declared measurements with the device kinds each plugin serves, read from the
 * plugin registry. A plugin that declares none (the agent forwards other plugins' points) has no
 * panels of its own.
 */
import type { MeasurementSpec } from '../collector/sdk/index.ts';
import { plugins } from '../plugins/index.ts';
import type { KindName } from './kinds.ts';

export interface PluginMeasurements {
  plugin: string;
  kinds: readonly KindName[];
  measurements: readonly MeasurementSpec[];
}

export const pluginMeasurements: readonly PluginMeasurements[] = plugins
  .filter((p) => p.measurements.length > 0)
  .map((p) => ({ plugin: p.name, kinds: p.kinds, measurements: p.measurements }));
