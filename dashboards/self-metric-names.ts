/**
 * The collector's self-metric names, read from the prom-client registry that writes them, so a
 * renamed metric breaks the build instead of a panel. Histograms land as `sum` and `count`
 * fields, everything else as `value`; the tag `host` names the collector process.
 */
import { SelfMetrics } from '../collector/runtime/self-metrics.ts';

const m = new SelfMetrics('build');

/** prom-client keeps the configured name on the metric object, though its types do not say so. */
function nameOf(metric: object): string {
  const name = (metric as { name?: unknown }).name;
  if (typeof name !== 'string') throw new Error('self-metric without a name');
  return name;
}

export const selfMetric = {
  pointsEmitted: nameOf(m.pointsEmitted),
  pointsInvalid: nameOf(m.pointsInvalid),
  pointsWritten: nameOf(m.pointsWritten),
  pointsDropped: nameOf(m.pointsDropped),
  writeErrors: nameOf(m.writeErrors),
  writeLatency: nameOf(m.writeLatency),
  spoolPoints: nameOf(m.spoolPoints),
  spoolBytes: nameOf(m.spoolBytes),
  pluginUp: nameOf(m.pluginUp),
  pluginEvents: nameOf(m.pluginEvents),
  pluginGauge: nameOf(m.pluginGauge),
  devices: nameOf(m.devices),
  commands: nameOf(m.commands),
  commandLatency: nameOf(m.commandLatency),
  rollupErrors: nameOf(m.rollupErrors),
  influxReachable: nameOf(m.influxReachable),
  lastWrite: nameOf(m.lastWrite),
  spoolOldestAge: nameOf(m.spoolOldestAge),
  diskFree: nameOf(m.diskFree),
  httpRequests: nameOf(m.httpRequests),
  httpDuration: nameOf(m.httpDuration),
  inventoryErrors: nameOf(m.inventoryErrors),
} as const;

/** Fields of a self-metric point. */
export type SelfMetricField = 'value' | 'sum' | 'count';
