import type { Static } from 'typebox';
import { incidentList } from '../../routes/incidents/list.ts';
import {
  IncidentListQuery,
  type IncidentDetail,
  type IncidentJson,
  type IncidentPage,
} from '../../routes/incidents/schemas.ts';
import { DirectRead } from '../direct-read.ts';
import type { ApiAnswer } from '../api-client.ts';
import { html, when } from '../html.ts';
import { actionButton, csrfField } from '../layout.ts';
import type { UiContext, UiRequest } from '../context.ts';

type Incident = Static<typeof IncidentJson>;

const STATES = ['unresolved', 'open', 'acknowledged', 'resolved'] as const;
/** Incidents per page: the shift reads the top; the rest is one "Next" away. */
const PAGE_SIZE = 50;

/** `GET /incidents`, read in-process (direct-read.ts): the pages loaded most show it. */
export function incidentReader(ctx: UiContext) {
  const store = ctx.options.operations?.incidents;
  return new DirectRead('/incidents', IncidentListQuery, store && ((query) => incidentList(store, query)));
}

/**
 * One page of incidents most severe first, then newest (ordered and paged in SQL);
 * `filter` is the API's list query (status, customer, site, device, cursor).
 */
export function incidentPage(
  reader: ReturnType<typeof incidentReader>,
  ui: UiRequest,
  filter: Record<string, string>,
): ApiAnswer<Static<typeof IncidentPage>> {
  return reader.answer(ui, { ...filter, sort: 'severity', limit: String(PAGE_SIZE) });
}

export function incidentRows(items: Incident[]) {
  if (items.length === 0) return html`<p>No incidents.</p>`;
  return html`<div class="scroll">
    <table>
      <thead>
        <tr>
          <th scope="col">Severity</th>
          <th scope="col">Incident</th>
          <th scope="col">Device</th>
          <th scope="col">Customer / site</th>
          <th scope="col">State</th>
          <th scope="col">Since</th>
        </tr>
      </thead>
      <tbody>
        ${items.map(
          (i) =>
            html`<tr>
              <td><span class="sev sev-${i.severity}">${i.severity}</span></td>
              <td><a href="/ui/incidents/${i.id}">#${i.id} ${i.summary ?? i.rule}</a></td>
              <td>${i.device ? html`<a href="/ui/devices/${encodeURIComponent(i.device)}">${i.device}</a>` : '—'}</td>
              <td>${i.customer ?? '—'} / ${i.site ?? '—'}</td>
              <td>${i.status}${i.assignee ? html` → ${i.assignee}` : null}</td>
              <td>${when(i.starts_at)}</td>
            </tr>`,
        )}
      </tbody>
    </table>
  </div>`;
}

/** The incident list (filter by customer, site, device, state) and one incident with its timeline and actions. */
export default function incidents(ctx: UiContext): void {
  const reader = incidentReader(ctx);
  ctx.get('/incidents', async (ui, request) => {
    const q = request.query as Record<string, string | undefined>;
    const state = (STATES as readonly string[]).includes(q.state ?? '') ? q.state! : 'unresolved';
    const filter: Record<string, string> = {};
    for (const key of ['customer', 'site', 'device'] as const) if (q[key]) filter[key] = q[key];
    const page = incidentPage(reader, ui, { ...filter, status: state, ...(q.cursor && { cursor: q.cursor }) });
    const items = page.status === 200 ? page.body.items : [];
    const next = page.status === 200 ? page.body.next_cursor : null;
    const nextUrl = next && `/ui/incidents?${new URLSearchParams({ ...filter, state, cursor: next })}`;
    return ui.render(
      'Incidents',
      html`<form method="get" action="/ui/incidents" class="filters" role="search">
          <label for="f-customer">Customer</label><input id="f-customer" name="customer" value="${q.customer ?? ''}" />
          <label for="f-site">Site</label><input id="f-site" name="site" value="${q.site ?? ''}" />
          <label for="f-device">Device</label><input id="f-device" name="device" value="${q.device ?? ''}" />
          <label for="f-state">State</label
          ><select id="f-state" name="state">
            ${STATES.map((s) => html`<option value="${s}" ${s === state ? html`selected` : null}>${s}</option>`)}
          </select>
          <button type="submit">Filter</button>
        </form>
        ${page.error ? html`<p class="error" role="alert">${page.error}</p>` : null} ${incidentRows(items)}
        ${nextUrl ? html`<nav aria-label="Pages"><a href="${nextUrl}" rel="next">Next ${PAGE_SIZE}</a></nav>` : null}`,
    );
  });

  ctx.get('/incidents/:id', async (ui, request, reply) => {
    const id = (request.params as { id: string }).id;
    const answer = await ui.api<Static<typeof IncidentDetail>>('GET', `/incidents/${encodeURIComponent(id)}`);
    if (answer.status !== 200)
      return ui.problem(reply, answer.status, 'Incident', answer.error ?? `refused (${answer.status})`);
    const i = answer.body;
    const base = `/ui/incidents/${i.id}`;
    const may = (action: string) => ui.can('POST', `/incidents/:id/${action}`);
    const actions = html`<section aria-label="Actions" class="actions">
      ${i.status === 'open' && may('ack') ? actionButton(ui.viewer, `${base}/ack`, 'Acknowledge') : null}
      ${
        i.status !== 'resolved' && may('assign')
          ? html`<form method="post" action="${base}/assign" class="inline">
              ${csrfField(ui.viewer)} <label for="assignee">Assign to</label
              ><input id="assignee" name="assignee" required maxlength="200" value="${i.assignee ?? ''}" />
              <button type="submit">Assign</button>
            </form>`
          : null
      }
      ${
        i.status !== 'resolved' && may('resolve')
          ? html`<form method="post" action="${base}/resolve" class="inline">
              ${csrfField(ui.viewer)} <label for="note">Resolution note</label
              ><input id="note" name="note" maxlength="5000" /> <button type="submit">Resolve</button>
            </form>`
          : null
      }
      ${
        may('comments')
          ? html`<form method="post" action="${base}/comments">
              ${csrfField(ui.viewer)} <label for="text">Comment</label
              ><textarea id="text" name="text" required maxlength="5000" rows="3"></textarea>
              <button type="submit">Add comment</button>
            </form>`
          : null
      }
    </section>`;
    return ui.render(
      `Incident #${i.id}`,
      html`<dl class="facts">
          <dt>Summary</dt>
          <dd>${i.summary ?? '—'}</dd>
          <dt>Rule</dt>
          <dd>${i.rule}</dd>
          <dt>Severity</dt>
          <dd><span class="sev sev-${i.severity}">${i.severity}</span></dd>
          <dt>State</dt>
          <dd id="incident-state">${i.status}</dd>
          <dt>Device</dt>
          <dd>${i.device ? html`<a href="/ui/devices/${encodeURIComponent(i.device)}">${i.device}</a>` : '—'}</dd>
          <dt>Customer / site</dt>
          <dd>${i.customer ?? '—'} / ${i.site ?? '—'}</dd>
          <dt>Started</dt>
          <dd>${when(i.starts_at)}</dd>
          <dt>Acknowledged</dt>
          <dd>${i.acked_at ? html`${when(i.acked_at)} by ${i.acked_by}` : '—'}</dd>
          <dt>Assignee</dt>
          <dd>${i.assignee ?? '—'}</dd>
          <dt>Resolved</dt>
          <dd>${i.resolved_at ? html`${when(i.resolved_at)} by ${i.resolved_by ?? 'the alert'}` : '—'}</dd>
        </dl>
        ${actions}
        <h2>Timeline</h2>
        <ol class="timeline">
          ${i.events.map(
            (e) =>
              html`<li>
                ${when(e.at)}
                <strong>${e.type}</strong>${e.actor ? html` by ${e.actor}` : null}${e.text ? html`: ${e.text}` : null}
              </li>`,
          )}
        </ol>`,
    );
  });

  const act = (action: string, done: string, body?: (form: Record<string, string>) => unknown) =>
    ctx.post(`/incidents/:id/${action}`, async (ui, form, request) => {
      const id = (request.params as { id: string }).id;
      const answer = await ui.api('POST', `/incidents/${encodeURIComponent(id)}/${action}`, body?.(form));
      return { answer, redirect: `/ui/incidents/${encodeURIComponent(id)}`, done };
    });
  act('ack', 'Acknowledged.');
  act('assign', 'Assigned.', (f) => ({ assignee: f.assignee ?? '' }));
  act('comments', 'Comment added.', (f) => ({ text: f.text ?? '' }));
  act('resolve', 'Resolved.', (f) => (f.note ? { note: f.note } : {}));
}
