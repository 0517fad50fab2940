import { quoteString, type InfluxQuery } from '../../../collector/pipeline/influx-query.ts';

export interface Reading {
  measurement: string;
  tags: Record<string, string>;
  time: string;
  fields: Record<string, unknown>;
}

/** Tags every device point carries: known from the device itself, so not repeated per reading. */
const DEVICE_TAGS = new Set(['device', 'kind', 'model', 'customer', 'site']);

/**
 * The latest point of every series of one device, across all measurements, in ONE InfluxQL
 * query. `GROUP BY *` splits per series (a charger's connectors, a PC's disks); `ORDER BY time
 * DESC LIMIT 1` keeps each series' newest point with its own timestamp. (`LAST(*)` would also
 * do it in one query but answers with time 0 for multi-field selections, losing how old a
 * reading is.) Checked against influxd 1.6.
 */
export function latestReadingsQuery(deviceId: string): string {
  return `SELECT * FROM /.*/ WHERE "device" = ${quoteString(deviceId)} GROUP BY * ORDER BY time DESC LIMIT 1`;
}

export async function latestReadings(
  influx: Pick<InfluxQuery, 'query'>,
  deviceId: string,
  timeoutMs: number,
): Promise<Reading[]> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`InfluxDB did not answer within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    const series = await Promise.race([influx.query(latestReadingsQuery(deviceId)), timeout]);
    const readings: Reading[] = [];
    for (const s of series) {
      const row = s.values[0];
      if (!row) continue;
      const fields: Record<string, unknown> = {};
      let time = 0;
      s.columns.forEach((column, i) => {
        if (column === 'time') time = Number(row[i]);
        else if (row[i] !== null && row[i] !== undefined) fields[column] = row[i];
      });
      // Columns are the union over all measurements: a series with none of its own is noise.
      if (Object.keys(fields).length === 0) continue;
      const tags: Record<string, string> = {};
      for (const [k, v] of Object.entries(s.tags ?? {})) if (v !== '' && !DEVICE_TAGS.has(k)) tags[k] = v;
      readings.push({ measurement: s.name, tags, time: new Date(time).toISOString(), fields });
    }
    return readings.sort(
      (a, b) =>
        a.measurement.localeCompare(b.measurement) || JSON.stringify(a.tags).localeCompare(JSON.stringify(b.tags)),
    );
  } finally {
    clearTimeout(timer);
  }
}
