import { dur, pct } from '../../../collector/operations/report-format.ts';
import type { UptimeReport } from '../../../collector/operations/uptime-report.ts';
import { html } from '../html.ts';
import type { UiContext } from '../context.ts';

/** The report's query from the page's own (month, customer, site, timezone), for the API. */
function reportQuery(q: Record<string, string | undefined>, format: 'json' | 'csv'): URLSearchParams {
  const out = new URLSearchParams({ month: q.month || new Date().toISOString().slice(0, 7), format });
  for (const k of ['customer', 'site', 'timezone'] as const) if (q[k]) out.set(k, q[k]);
  return out;
}

/**
 * The monthly uptime report per customer: the API's report (GET /reports/uptime, the code the
 * CLI and the API use), shown as tables and handed on as the API's CSV file. The month defaults
 * to the current one (UTC); Grafana's links pass the month of the dashboard's time range.
 */
export default function reports(ctx: UiContext): void {
  ctx.get('/reports', async (ui, request, reply) => {
    const q = request.query as Record<string, string | undefined>;
    const query = reportQuery(q, 'json');
    const answer = await ui.api<UptimeReport>('GET', `/reports/uptime?${query}`);
    const csv = `/ui/reports/uptime.csv?${reportQuery(q, 'csv')}`;
    const form = html`<form method="get" action="/ui/reports" class="filters" role="search">
      <label for="r-month">Month</label
      ><input id="r-month" name="month" type="month" value="${query.get('month')}" required />
      <label for="r-customer">Customer</label><input id="r-customer" name="customer" value="${q.customer ?? ''}" />
      <label for="r-site">Site</label><input id="r-site" name="site" value="${q.site ?? ''}" />
      <label for="r-timezone">Time zone</label
      ><input id="r-timezone" name="timezone" value="${q.timezone ?? ''}" placeholder="UTC" />
      <button type="submit">Show</button>
    </form>`;
    if (answer.status !== 200) {
      void reply.code(answer.status);
      return ui.render(
        'Uptime report',
        html`${form}
          <p class="error" role="alert">${answer.error}</p>`,
      );
    }
    const r = answer.body;
    return ui.render(
      `Uptime report ${r.month}`,
      html`${form}
        <p>
          ${r.from} to ${r.to} (${r.timezone}). ${r.definition}.
          <a href="${csv}" download>Download CSV</a>
        </p>
        ${r.customers.length === 0 ? html`<p>No availability data for this month.</p>` : null}
        ${r.customers.map(
          (c) =>
            html`<h2>${c.company ?? c.customer} <small>${c.customer} · ${c.contract ?? 'no contract'}</small></h2>
              <p class="${c.sla_met === false ? 'error' : 'ok'}" data-customer="${c.customer}">
                Uptime <strong class="uptime">${pct(c.uptime_pct)}</strong> · SLA ${pct(c.sla_target_pct)} ·
                <span class="verdict">${c.sla_met === null ? 'no verdict' : c.sla_met ? 'met' : 'missed'}</span> ·
                ${c.devices} devices
              </p>
              <div class="scroll">
                <table>
                  <thead>
                    <tr>
                      <th scope="col">Site</th>
                      <th scope="col">Devices</th>
                      <th scope="col">Uptime</th>
                      <th scope="col">Down</th>
                      <th scope="col">Maintenance</th>
                    </tr>
                  </thead>
                  <tbody>
                    ${c.sites.map(
                      (s) =>
                        html`<tr data-site="${s.site}">
                          <td>${s.name ?? s.site}</td>
                          <td>${s.devices}</td>
                          <td>${pct(s.uptime_pct)}</td>
                          <td>${dur(s.error_s + s.offline_s)}</td>
                          <td>${dur(s.maintenance_s)}</td>
                        </tr>`,
                    )}
                  </tbody>
                </table>
              </div>`,
        )}
        <h2>Worst devices</h2>
        ${
          r.worst_devices.length === 0
            ? html`<p>None.</p>`
            : html`<div class="scroll">
                <table id="worst">
                  <thead>
                    <tr>
                      <th scope="col">Device</th>
                      <th scope="col">Customer / site</th>
                      <th scope="col">Uptime</th>
                      <th scope="col">Down</th>
                    </tr>
                  </thead>
                  <tbody>
                    ${r.worst_devices.map(
                      (d) =>
                        html`<tr>
                          <td><a href="/ui/devices/${encodeURIComponent(d.device)}">${d.device}</a></td>
                          <td>${d.customer ?? '—'} / ${d.site ?? '—'}</td>
                          <td>${pct(d.uptime_pct)}</td>
                          <td>${dur(d.down_s)}</td>
                        </tr>`,
                    )}
                  </tbody>
                </table>
              </div>`
        }
        <h2>Incidents</h2>
        ${
          r.incidents.length === 0
            ? html`<p>None.</p>`
            : html`<div class="scroll">
                <table>
                  <thead>
                    <tr>
                      <th scope="col">Customer</th>
                      <th scope="col">Severity</th>
                      <th scope="col">Count</th>
                      <th scope="col">MTTA</th>
                      <th scope="col">MTTR</th>
                    </tr>
                  </thead>
                  <tbody>
                    ${r.incidents.map(
                      (i) =>
                        html`<tr>
                          <td>${i.customer ?? '—'}</td>
                          <td>${i.severity}</td>
                          <td>${i.count}</td>
                          <td>${dur(i.mtta_s)}</td>
                          <td>${dur(i.mttr_s)}</td>
                        </tr>`,
                    )}
                  </tbody>
                </table>
              </div>`
        }`,
    );
  });

  // The API's CSV as it is (same file name): a download link needs no key in the browser.
  ctx.get('/reports/uptime.csv', async (ui, request, reply) => {
    const answer = await ui.api<string>('GET', `/reports/uptime?${reportQuery(request.query as never, 'csv')}`);
    if (answer.status !== 200) return ui.problem(reply, answer.status, 'Uptime report', answer.error ?? 'refused');
    if (answer.disposition) void reply.header('content-disposition', answer.disposition);
    return reply.type(answer.type).send(answer.body);
  });
}
