import type { Static } from 'typebox';
import type { CommandJson, CommandPage } from '../../routes/commands/schemas.ts';
import type { DeviceDetail } from '../../routes/devices/schemas.ts';
import type { WindowList } from '../../routes/maintenance/schemas.ts';
import { html, when } from '../html.ts';
import { csrfField } from '../layout.ts';
import type { UiContext } from '../context.ts';
import { schemaFields, schemaValues } from '../schema-form.ts';
import { incidentPage, incidentReader, incidentRows } from './incidents.ts';

type Command = Static<typeof CommandJson>;
const ENDED = new Set(['succeeded', 'failed', 'rejected', 'expired', 'timed_out', 'cancelled']);

/** One device: identity, status, readings, incidents, maintenance, and its commands with their forms. */
export default function devices(ctx: UiContext): void {
  const catalogue = ctx.options.operations?.catalogue;
  const path = (id: string) => `/ui/devices/${encodeURIComponent(id)}`;
  const reader = incidentReader(ctx);

  ctx.get('/devices/:id', async (ui, request, reply) => {
    const id = (request.params as { id: string }).id;
    const e = encodeURIComponent(id);
    const [device, commands, windows] = await Promise.all([
      ui.api<Static<typeof DeviceDetail>>('GET', `/devices/${e}`),
      ui.api<Static<typeof CommandPage>>('GET', `/commands?device=${e}&limit=20`),
      ui.api<Static<typeof WindowList>>('GET', `/maintenance?scope=device&target=${e}`),
    ]);
    const incidents = incidentPage(reader, ui, { device: id, status: 'unresolved' });
    if (device.status !== 200)
      return ui.problem(reply, device.status, 'Device', device.error ?? `refused (${device.status})`);
    const d = device.body;
    const specs = catalogue?.forKind(d.kind) ?? {};
    const mayCommand = ui.can('POST', '/commands');
    const mayMaintain = ui.can('POST', '/maintenance');
    const cmds = commands.status === 200 ? commands.body.items : [];
    return ui.render(
      `Device ${d.id}`,
      html`<dl class="facts">
          <dt>Kind / model</dt>
          <dd>${d.kind} / ${d.model ?? '—'}</dd>
          <dt>Customer / site</dt>
          <dd>${d.customer ?? '—'} / ${d.site ?? '—'}</dd>
          <dt>Gateway</dt>
          <dd>${d.gateway ? html`<a href="${path(d.gateway)}">${d.gateway}</a>` : '—'}</dd>
          <dt>Firmware</dt>
          <dd>${d.firmware ?? '—'}</dd>
          <dt>Lifecycle</dt>
          <dd>${d.lifecycle}</dd>
          <dt>Status</dt>
          <dd><span class="state state-${d.state}">${d.state}</span>, last seen ${when(d.last_seen)}</dd>
          <dt>First seen</dt>
          <dd>${when(d.first_seen)}</dd>
        </dl>
        <h2>Last readings</h2>
        ${
          d.readings && d.readings.length
            ? html`<div class="scroll">
                <table>
                  <thead>
                    <tr>
                      <th scope="col">Measurement</th>
                      <th scope="col">Values</th>
                      <th scope="col">At</th>
                    </tr>
                  </thead>
                  <tbody>
                    ${d.readings.map(
                      (r) =>
                        html`<tr>
                          <td>${r.measurement}</td>
                          <td>
                            ${Object.entries(r.fields)
                              .map(([k, v]) => `${k}=${String(v)}`)
                              .join(', ')}
                          </td>
                          <td>${when(r.time)}</td>
                        </tr>`,
                    )}
                  </tbody>
                </table>
              </div>`
            : html`<p>${d.readings_error ?? 'No readings.'}</p>`
        }
        <h2>Open incidents</h2>
        ${incidentRows(incidents.status === 200 ? incidents.body.items : [])}
        ${
          incidents.status === 200 && incidents.body.next_cursor
            ? html`<p><a href="/ui/incidents?device=${e}">All open incidents of ${d.id}</a></p>`
            : null
        }
        <h2>Maintenance windows</h2>
        ${
          windows.status === 200 && windows.body.items.length
            ? html`<ul>
                ${windows.body.items.map(
                  (w) => html`<li>${w.recurrence} ${when(w.starts_at)} – ${when(w.ends_at)} ${w.reason ?? ''}</li>`,
                )}
              </ul>`
            : html`<p>None.</p>`
        }
        ${
          mayMaintain
            ? html`<form method="post" action="${path(d.id)}/maintenance" class="card">
                ${csrfField(ui.viewer)} <label for="m-hours">Put into maintenance for (hours)</label
                ><input id="m-hours" name="hours" type="number" min="0.25" step="0.25" value="2" required />
                <label for="m-reason">Reason (optional)</label><input id="m-reason" name="reason" maxlength="500" />
                <button type="submit">Start maintenance</button>
              </form>`
            : null
        }
        <h2>Commands</h2>
        <div
          id="commands"
          ${cmds.some((c) => !ENDED.has(c.status)) ? html`hx-get="${path(d.id)}/commands" hx-trigger="every 2s" hx-swap="outerHTML" hx-select="#commands"` : null}
        >
          ${commandTable(cmds)}
        </div>
        ${
          mayCommand
            ? Object.entries(specs).map(
                ([name, spec]) =>
                  html`<form method="post" action="${path(d.id)}/commands" class="card command">
                    ${csrfField(ui.viewer)}<input type="hidden" name="_command" value="${name}" />
                    <h3>${name}</h3>
                    <p class="hint">${spec.description}</p>
                    ${schemaFields(spec.params as never, `c-${name}`)}
                    <button type="submit">Run ${name}</button>
                  </form>`,
              )
            : null
        }`,
    );
  });

  // The commands table alone (htmx polls it while one is running; without JavaScript, reload).
  ctx.get('/devices/:id/commands', async (ui, request, reply) => {
    const id = (request.params as { id: string }).id;
    const commands = await ui.api<Static<typeof CommandPage>>(
      'GET',
      `/commands?device=${encodeURIComponent(id)}&limit=20`,
    );
    return reply
      .type('text/html; charset=utf-8')
      .send(String(html`<div id="commands">${commandTable(commands.status === 200 ? commands.body.items : [])}</div>`));
  });

  ctx.post('/devices/:id/commands', async (ui, form, request) => {
    const id = (request.params as { id: string }).id;
    const kind = (await ui.api<{ kind: string }>('GET', `/devices/${encodeURIComponent(id)}`)).body.kind;
    const spec = catalogue?.forKind(kind)[form._command ?? ''];
    const params = spec ? schemaValues(spec.params, form) : {};
    const answer = await ui.api('POST', '/commands', { device: id, name: form._command ?? '', params });
    return { answer, redirect: path(id), done: `Command ${form._command} queued.` };
  });

  ctx.post('/devices/:id/maintenance', async (ui, form, request) => {
    const id = (request.params as { id: string }).id;
    const now = Date.now();
    const hours = Number(form.hours);
    const answer = await ui.api('POST', '/maintenance', {
      scope: 'device',
      target: id,
      recurrence: 'once',
      starts_at: new Date(now).toISOString(),
      ends_at: new Date(now + (Number.isFinite(hours) ? hours : 0) * 3_600_000).toISOString(),
      ...(form.reason ? { reason: form.reason } : {}),
    });
    return { answer, redirect: path(id), done: 'Maintenance window created.' };
  });
}

function commandTable(items: Command[]) {
  if (items.length === 0) return html`<p>No commands yet.</p>`;
  return html`<div class="scroll">
    <table>
      <thead>
        <tr>
          <th scope="col">Command</th>
          <th scope="col">Status</th>
          <th scope="col">By</th>
          <th scope="col">Queued</th>
          <th scope="col">Result</th>
        </tr>
      </thead>
      <tbody>
        ${items.map(
          (c) =>
            html`<tr class="command-row" data-command="${c.name}">
              <td>${c.name} ${Object.keys(c.params).length ? JSON.stringify(c.params) : ''}</td>
              <td class="status">${c.status}</td>
              <td>${c.created_by ?? c.source}</td>
              <td>${when(c.created_at)}</td>
              <td><pre class="result">${resultText(c)}</pre></td>
            </tr>`,
        )}
      </tbody>
    </table>
  </div>`;
}

function resultText(c: Command): string {
  if (c.error) return c.error;
  return c.result === undefined || c.result === null ? '' : JSON.stringify(c.result, null, 1);
}
