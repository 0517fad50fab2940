/**
 * Template variables. Device dashboards narrow by customer → site → kind → model → device, each
 * list filtered by the ones before it (from the tags of `device_status`, which every device
 * has). Multi-value with All; All is sent as `.*` instead of a 20,000-name alternation.
 */
import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import { deviceStatus } from '../collector/runtime/measurements.ts';
import { datasourceRef } from './datasource.ts';
import { DEVICE_VARIABLES, tagValuesQuery, type DeviceVariable } from './influxql.ts';
import { selfMetric } from './self-metric-names.ts';

/** `fleet`: all five multi-value; `device`: one device picked; `collector`: per collector host. */
export type VariableSet = 'fleet' | 'device' | 'collector';

export const ALL_VALUE = '.*';

const LABELS: Record<DeviceVariable, string> = {
  customer: 'Customer',
  site: 'Site',
  kind: 'Kind',
  model: 'Model',
  device: 'Device',
};

function tagVariable(name: string, label: string, query: string, single: boolean): dashboard.QueryVariableBuilder {
  const v = new dashboard.QueryVariableBuilder(name)
    .label(label)
    .datasource({ ...datasourceRef })
    .query(query)
    .definition(query)
    .refresh(dashboard.VariableRefresh.OnDashboardLoad)
    .sort(dashboard.VariableSort.AlphabeticalAsc);
  if (single) return v.multi(false).includeAll(false);
  return v.multi(true).includeAll(true).allValue(ALL_VALUE).current({ text: 'All', value: '$__all' });
}

export function deviceVariables(set: VariableSet): dashboard.QueryVariableBuilder[] {
  if (set === 'collector') {
    const q = `SHOW TAG VALUES FROM "${selfMetric.pointsWritten}" WITH KEY = "host"`;
    return [tagVariable('host', 'Collector host', q, false)];
  }
  return DEVICE_VARIABLES.map((name, i) => {
    const narrowBy = DEVICE_VARIABLES.slice(0, i);
    return tagVariable(
      name,
      LABELS[name],
      tagValuesQuery(deviceStatus.name, name, narrowBy),
      set === 'device' && name === 'device',
    );
  });
}
