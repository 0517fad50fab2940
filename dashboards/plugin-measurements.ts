/**
 * The plugins' declared measurements (their `metrics.ts`, names only: dashboards never import a
 * plugin's code), with the device kinds each plugin serves. A plugin whose `metrics.ts` is not
 * here yet simply has no panels; a structural test lists any plugin folder missing from this list.
 */
import type { MeasurementSpec } from '../collector/sdk/index.ts';
import * as host from '../plugins/host/metrics.ts';
import * as ocpp from '../plugins/ocpp/metrics.ts';
import * as plug from '../plugins/plug/metrics.ts';
import * as pos from '../plugins/pos/metrics.ts';
import * as tc200 from '../plugins/tc200/metrics.ts';
import { KIND, type KindName } from './kinds.ts';

export interface PluginMeasurements {
  plugin: string;
  kinds: readonly KindName[];
  measurements: readonly MeasurementSpec[];
}

export const pluginMeasurements: readonly PluginMeasurements[] = [
  { plugin: 'tc200', kinds: [KIND.terminal], measurements: tc200.measurements },
  { plugin: 'host', kinds: [KIND.pc], measurements: host.measurements },
  { plugin: 'ocpp', kinds: [KIND.charger], measurements: ocpp.measurements },
  { plugin: 'pos', kinds: [KIND.pos], measurements: pos.measurements },
  { plugin: 'plug', kinds: [KIND.plug], measurements: plug.measurements },
];

/** Plugins that emit nothing of their own (their points are other plugins'), so need no panels. */
export const PLUGINS_WITHOUT_MEASUREMENTS = ['agent', 'example'] as const;
