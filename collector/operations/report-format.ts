import type { UptimeReport } from './uptime-report.ts';

const CSV_COLUMNS = [
  'customer',
  'site',
  'devices',
  'uptime_pct',
  'sla_target_pct',
  'sla_met',
  'online_s',
  'error_s',
  'offline_s',
  'maintenance_s',
] as const;
const WORST_COLUMNS = [
  'device',
  'customer',
  'site',
  'uptime_pct',
  'down_s',
  'online_s',
  'error_s',
  'offline_s',
  'maintenance_s',
] as const;
const INCIDENT_COLUMNS = ['customer', 'severity', 'count', 'acknowledged', 'resolved', 'mtta_s', 'mttr_s'] as const;

/** A cell's text: nested values (none today) as JSON rather than `[object Object]`. */
function text(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value);
}

function csvCell(value: unknown): string {
  const s = text(value);
  // Quote separators and quotes; a leading = + - @ is defused so that spreadsheets do not run it.
  const safe = /^[=+\-@\t\r]/.test(s) && !/^-?\d/.test(s) ? `'${s}` : s;
  return /[",\n\r]/.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe;
}

function csvRow(columns: readonly string[], row: Record<string, unknown>): string {
  return columns.map((k) => csvCell(row[k])).join(',');
}

/**
 * Three tables, each with its own header row, separated by an empty line (what the JSON and
 * HTML show): uptime, one row per customer (site empty) and one per site of it; the worst
 * devices; incident counts with MTTA and MTTR (s) per customer and severity. A table with no
 * rows keeps its header.
 */
export function reportCsv(report: UptimeReport): string {
  const uptime = [CSV_COLUMNS.join(',')];
  for (const c of report.customers) {
    uptime.push(csvRow(CSV_COLUMNS, { ...c, site: '' }));
    for (const s of c.sites)
      uptime.push(csvRow(CSV_COLUMNS, { ...s, customer: c.customer, sla_target_pct: c.sla_target_pct, sla_met: '' }));
  }
  const worst = [WORST_COLUMNS.join(','), ...report.worst_devices.map((d) => csvRow(WORST_COLUMNS, { ...d }))];
  const incidents = [INCIDENT_COLUMNS.join(','), ...report.incidents.map((i) => csvRow(INCIDENT_COLUMNS, { ...i }))];
  return [uptime, worst, incidents].map((table) => table.join('\n') + '\n').join('\n');
}

function esc(value: unknown): string {
  return text(value).replace(
    /[&<>"']/g,
    (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[ch]!,
  );
}

/** A percentage and a duration as the report pages show them (the HTML report and /ui/reports). */
export const pct = (v: number | null) => (v === null ? '–' : `${v.toFixed(2)} %`);
export const dur = (s: number | null) =>
  s === null ? '–' : s >= 3600 ? `${(s / 3600).toFixed(1)} h` : `${Math.round(s / 60)} min`;

/** A self-contained printable page (no scripts, no external assets). */
export function reportHtml(report: UptimeReport): string {
  const customers = report.customers
    .map(
      (c) => `
  <h2>${esc(c.company ?? c.customer)} <small>${esc(c.customer)} · ${esc(c.contract ?? 'no contract')}</small></h2>
  <p class="${c.sla_met === false ? 'miss' : 'ok'}">Uptime <strong>${pct(c.uptime_pct)}</strong> · SLA ${pct(c.sla_target_pct)} · ${c.sla_met === null ? 'no verdict' : c.sla_met ? 'met' : 'missed'} · ${c.devices} devices</p>
  <table><thead><tr><th>Site</th><th>Devices</th><th>Uptime</th><th>Down</th><th>Maintenance</th></tr></thead><tbody>
${c.sites.map((s) => `    <tr><td>${esc(s.name ?? s.site)}</td><td>${s.devices}</td><td>${pct(s.uptime_pct)}</td><td>${dur(s.error_s + s.offline_s)}</td><td>${dur(s.maintenance_s)}</td></tr>`).join('\n')}
  </tbody></table>`,
    )
    .join('\n');
  const worst = report.worst_devices
    .map(
      (d) =>
        `    <tr><td>${esc(d.device)}</td><td>${esc(d.customer)}</td><td>${esc(d.site)}</td><td>${pct(d.uptime_pct)}</td><td>${dur(d.down_s)}</td></tr>`,
    )
    .join('\n');
  const incidents = report.incidents
    .map(
      (i) =>
        `    <tr><td>${esc(i.customer)}</td><td>${esc(i.severity)}</td><td>${i.count}</td><td>${dur(i.mtta_s)}</td><td>${dur(i.mttr_s)}</td></tr>`,
    )
    .join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Uptime report ${esc(report.month)}</title>
<style>
  body { font: 11pt/1.4 system-ui, sans-serif; margin: 2em; color: #111; }
  table { border-collapse: collapse; width: 100%; margin-bottom: 1.5em; }
  th, td { border-bottom: 1px solid #ccc; padding: 4px 8px; text-align: left; }
  small { color: #666; font-weight: normal; } .miss { color: #b00; } .ok { color: #070; }
  @media print { body { margin: 0; } h2 { break-after: avoid; } table { break-inside: avoid; } }
</style></head><body>
  <h1>Uptime report ${esc(report.month)}</h1>
  <p>${esc(report.from)} to ${esc(report.to)} (${esc(report.timezone)}). ${esc(report.definition)}.</p>
${customers || '  <p>No availability data for this month.</p>'}
  <h2>Worst devices</h2>
  <table><thead><tr><th>Device</th><th>Customer</th><th>Site</th><th>Uptime</th><th>Down</th></tr></thead><tbody>
${worst}
  </tbody></table>
  <h2>Incidents</h2>
  <table><thead><tr><th>Customer</th><th>Severity</th><th>Count</th><th>MTTA</th><th>MTTR</th></tr></thead><tbody>
${incidents}
  </tbody></table>
</body></html>
`;
}
