import type { Static } from 'typebox';
import type { DevicePage } from '../../routes/devices/schemas.ts';
import { html, when } from '../html.ts';
import { actionButton } from '../layout.ts';
import type { UiContext } from '../context.ts';

/** Devices that connected unknown: what they said about themselves, approve or reject. */
export default function pending(ctx: UiContext): void {
  ctx.get('/pending', async (ui) => {
    // What each sent when it connected comes with the list, read for the whole page at once.
    const list = await ui.api<Static<typeof DevicePage>>(
      'GET',
      '/devices?lifecycle=pending&sort=-created_at&limit=50&include=reported',
    );
    const items = list.status === 200 ? list.body.items : [];
    const mayApprove = ui.can('POST', '/devices/:id/approve');
    const mayReject = ui.can('DELETE', '/devices/:id');
    return ui.render(
      'Pending devices',
      items.length === 0
        ? html`<p>No device is waiting for approval.</p>`
        : html`<div class="scroll">
            <table>
              <thead>
                <tr>
                  <th scope="col">Device</th>
                  <th scope="col">Kind</th>
                  <th scope="col">First seen</th>
                  <th scope="col">What it sent</th>
                  <th scope="col">Decision</th>
                </tr>
              </thead>
              <tbody>
                ${items.map((d) => {
                  const reported = d.reported;
                  const base = `/ui/pending/${encodeURIComponent(d.id)}`;
                  return html`<tr>
                    <td>${d.id}</td>
                    <td>${d.kind}</td>
                    <td>${when(d.first_seen ?? d.created_at)}</td>
                    <td>
                      ${
                        reported
                          ? html`<dl class="sent">
                              ${Object.entries(reported.values).map(
                                ([k, v]) =>
                                  html`<dt>${k}</dt>
                                    <dd>${v}</dd>`,
                              )}
                            </dl>`
                          : '—'
                      }
                    </td>
                    <td>
                      ${mayApprove ? actionButton(ui.viewer, `${base}/approve`, `Approve ${d.id}`) : null}${mayReject ? actionButton(ui.viewer, `${base}/reject`, `Reject ${d.id}`) : null}
                    </td>
                  </tr>`;
                })}
              </tbody>
            </table>
          </div>`,
    );
  });

  ctx.post('/pending/:id/approve', async (ui, _form, request) => {
    const id = (request.params as { id: string }).id;
    const answer = await ui.api('POST', `/devices/${encodeURIComponent(id)}/approve`);
    return { answer, redirect: '/ui/pending', done: `${id} approved.` };
  });
  ctx.post('/pending/:id/reject', async (ui, _form, request) => {
    const id = (request.params as { id: string }).id;
    const answer = await ui.api('DELETE', `/devices/${encodeURIComponent(id)}`);
    return { answer, redirect: '/ui/pending', done: `${id} rejected and removed.` };
  });
}
