/**
 * Everything about one device, any kind, on one page: its status history, then one panel per
 * measurement its plugin declares (numeric fields as time series, text fields as a table of the
 * latest values). Panels of other kinds stay empty for this device, so Grafana collapses nothing
 * by kind: a plugin added later shows up here without touching this file.
 */
import type { MeasurementSpec } from '../collector/sdk/index.ts';
import { deviceStatus } from '../collector/runtime/measurements.ts';
import { Board } from './board.ts';
import { Query } from './influxql.ts';
import { link, UID } from './links.ts';
import { pluginMeasurements } from './plugin-measurements.ts';

const D = ['device'] as const;

function numericFields(m: MeasurementSpec): string[] {
  return Object.entries(m.fields)
    .filter(([, f]) => f.type !== 'string' && f.type !== 'bool')
    .map(([name]) => name);
}
function textFields(m: MeasurementSpec): string[] {
  return Object.entries(m.fields)
    .filter(([, f]) => f.type === 'string' || f.type === 'bool')
    .map(([name]) => name);
}

export function deviceDetail(): Board {
  const board = new Board({
    uid: UID.device,
    title: 'Fleetpulse / Device detail',
    description: 'One device: liveness, then every measurement its plugin declares.',
    variables: 'device',
    links: [link.apiDevice],
  });
  board
    .row('Status')
    .table(
      'Current status',
      [
        {
          q: Query.from(deviceStatus)
            .select('last', 'state')
            .select('last', 'online')
            .select('last', 'last_seen_s')
            .filterBy(D)
            .byTags('device', 'kind', 'model', 'customer', 'site', 'gateway'),
        },
      ],
      { w: 12, h: 5 },
    )
    .timeseries(
      'Online',
      [{ q: Query.from(deviceStatus).select('last', 'online').filterBy(D).byTime('$__interval', 'previous') }],
      { w: 12, h: 5, description: '1 online or error, 0 offline or in maintenance.' },
    )
    .timeseries(
      'Seconds since last report',
      [{ q: Query.from(deviceStatus).select('max', 'last_seen_s').filterBy(D).byTime('$__interval', 'null') }],
      { w: 24, h: 6, unit: 's' },
    );
  for (const p of pluginMeasurements) {
    board.row(`${p.plugin} (${p.kinds.join(', ')})`);
    for (const m of p.measurements) {
      // A measurement that sets `site` itself is per site (no device tag): nothing to show for one device.
      if ('site' in m.tags) continue;
      const tags = Object.keys(m.tags);
      const numbers = numericFields(m);
      if (numbers.length > 0) {
        const q = Query.fromName<string>(m.name)
          .filterBy(D)
          .byTime('$__interval', 'null')
          .byTags(...tags);
        for (const f of numbers) q.select('mean', f);
        board.timeseries(
          m.name,
          [
            {
              q,
              legend: tags.length > 0 ? `$col ${tags.map((t) => `$tag_${t}`).join(' ')}` : '$col',
              mayBeEmpty: true,
            },
          ],
          { description: m.description },
        );
      }
      const texts = textFields(m);
      if (texts.length > 0) {
        const q = Query.fromName<string>(m.name)
          .filterBy(D)
          .byTags(...tags);
        for (const f of texts) q.select('last', f);
        board.table(`${m.name} (latest)`, [{ q, mayBeEmpty: true }], { description: m.description });
      }
    }
  }
  return board;
}
