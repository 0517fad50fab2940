import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { openInventory } from '../../collector/inventory/index.ts';
import { reportCsv, reportHtml } from '../../collector/operations/report-format.ts';
import { ReportError, uptimeReport, type UptimeReport } from '../../collector/operations/uptime-report.ts';
import { InfluxQuery } from '../../collector/pipeline/influx-query.ts';
import { embeddedInfluxdUrl } from '../../collector/pipeline/local-influxd.ts';
import { parseFlags, usageExit, stdio, type Io } from '../args.ts';
import { ConfigError, inventoryPath, loadConfig } from '../config.ts';

const USAGE = `usage: fleetpulse report uptime --month YYYY-MM [options]

Monthly uptime per customer and site against the contract's SLA (excluding maintenance; error
counts as down), the worst devices, incident counts with MTTA and MTTR. The same report as
GET /api/v1/reports/uptime.

Options:
  --month <YYYY-MM>      the month (required)
  --customer <id>        one customer only
  --site <id>            one site only
  --timezone <zone>      zone the month is cut in (default UTC)
  --format <f>           text (default), json, csv or html
  --worst <n>            how many worst devices to list (default 10)
  --influx-url <url>     InfluxDB to read (default influx.url of the configuration, else the
                         embedded influxd that serve runs on the same data_dir)
  --config <file>        the configuration of serve (env FLEETPULSE_CONFIG): inventory and InfluxDB`;

export default async function report(argv: string[], io: Io = stdio): Promise<number> {
  const flags = parseFlags(argv, USAGE, {
    month: { type: 'string' },
    customer: { type: 'string' },
    site: { type: 'string' },
    timezone: { type: 'string' },
    format: { type: 'string' },
    worst: { type: 'string' },
    'influx-url': { type: 'string' },
    config: { type: 'string', short: 'c' },
  });
  if (!flags) return usageExit(argv);
  const v = flags.values;
  if (flags.positionals[0] !== 'uptime' || !v.month) {
    io.err(USAGE);
    return 2;
  }
  const format = v.format ?? 'text';
  if (!['text', 'json', 'csv', 'html'].includes(format)) {
    io.err(`fleetpulse report: --format must be text, json, csv or html, got '${format}'`);
    return 2;
  }
  let config;
  try {
    config = loadConfig(v.config ?? process.env.FLEETPULSE_CONFIG);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    io.err(`fleetpulse report: invalid configuration: ${err.message}`);
    return 2;
  }
  const url = v['influx-url'] || config.influx.url || (await embeddedInfluxdUrl(join(config.data_dir, 'influxdb')));
  if (!url) {
    io.err(
      'fleetpulse report: no InfluxDB URL: set influx.url in the configuration or pass --influx-url (or run it while serve runs the embedded influxd)',
    );
    return 2;
  }
  const dbPath = inventoryPath(config);
  if (!existsSync(dbPath)) {
    io.err(`fleetpulse report: no inventory at ${dbPath}`);
    return 1;
  }
  const inventory = openInventory({ path: dbPath });
  try {
    const influx = new InfluxQuery({
      url,
      database: config.influx.database,
      username: config.influx.username || undefined,
      password: config.influx.password || undefined,
      token: config.influx.token || undefined,
    });
    const r = await uptimeReport({
      influx,
      db: inventory.db,
      month: v.month,
      ...(v.customer ? { customer: v.customer } : {}),
      ...(v.site ? { site: v.site } : {}),
      ...(v.timezone ? { timezone: v.timezone } : {}),
      ...(v.worst ? { worst: Number(v.worst) } : {}),
    });
    io.out(
      format === 'json'
        ? JSON.stringify(r, null, 2)
        : format === 'csv'
          ? reportCsv(r).trimEnd()
          : format === 'html'
            ? reportHtml(r).trimEnd()
            : text(r),
    );
    return 0;
  } catch (err) {
    if (err instanceof ReportError || (err instanceof Error && err.name === 'InfluxQueryError')) {
      io.err(`fleetpulse report: ${err.message}`);
      return 1;
    }
    throw err;
  } finally {
    inventory.close();
  }
}

const pct = (v: number | null) => (v === null ? '–' : `${v.toFixed(2)} %`);

/** A plain-text table for the terminal. */
function text(r: UptimeReport): string {
  const lines = [`Uptime ${r.month} (${r.from} to ${r.to}, ${r.timezone})`, r.definition, ''];
  for (const c of r.customers) {
    const verdict = c.sla_met === null ? '' : c.sla_met ? '  SLA met' : '  SLA MISSED';
    lines.push(
      `${c.customer}${c.company ? ` (${c.company}, ${c.contract})` : ''}: ${pct(c.uptime_pct)} of SLA ${pct(c.sla_target_pct)}${verdict}, ${c.devices} devices`,
    );
    for (const s of c.sites)
      lines.push(`  ${(s.name ?? s.site).padEnd(30)} ${pct(s.uptime_pct).padStart(9)}  ${s.devices} devices`);
  }
  if (r.worst_devices.length) {
    lines.push('', 'Worst devices:');
    for (const d of r.worst_devices)
      lines.push(`  ${d.device.padEnd(24)} ${pct(d.uptime_pct).padStart(9)}  down ${Math.round(d.down_s / 60)} min`);
  }
  if (r.incidents.length) {
    lines.push('', 'Incidents:');
    for (const i of r.incidents)
      lines.push(
        `  ${(i.customer ?? '-').padEnd(16)} ${i.severity.padEnd(9)} ${String(i.count).padStart(4)}  MTTA ${i.mtta_s ?? '–'} s  MTTR ${i.mttr_s ?? '–'} s`,
      );
  }
  if (r.customers.length === 0) lines.push('No availability data for this month.');
  return lines.join('\n');
}
