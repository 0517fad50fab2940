import type { Static } from 'typebox';
import type { SessionJson, SessionList } from '../../routes/sessions/schemas.ts';
import { html, when } from '../html.ts';
import { csrfField } from '../layout.ts';
import type { UiContext } from '../context.ts';

type Session = Static<typeof SessionJson>;

/** Timed sessions per station: start, extend, stop, with the time left. */
export default function sessions(ctx: UiContext): void {
  ctx.get('/sessions', async (ui) => {
    const list = await ui.api<Static<typeof SessionList>>('GET', '/sessions?state=active');
    const items = list.status === 200 ? list.body.items : [];
    const mayStart = ui.can('POST', '/sessions');
    const mayExtend = ui.can('POST', '/sessions/:id/extend');
    const mayStop = ui.can('POST', '/sessions/:id/stop');
    const row = (s: Session) => {
      const base = `/ui/sessions/${encodeURIComponent(s.id)}`;
      return html`<tr>
        <td>${s.station}</td>
        <td>${s.site ?? '—'}</td>
        <td>${when(s.started_at)}</td>
        <td class="ends">${when(s.ends_at)}</td>
        <td>${Math.ceil(s.remaining_s / 60)} min</td>
        <td>
          ${mayExtend ? html`<form method="post" action="${base}/extend" class="inline">${csrfField(ui.viewer)}<label for="x-${s.id}">Extend by (min)</label><input id="x-${s.id}" name="minutes" type="number" min="1" value="15" required /><button type="submit">Extend</button></form>` : null}
          ${mayStop ? html`<form method="post" action="${base}/stop" class="inline">${csrfField(ui.viewer)}<button type="submit">Stop</button></form>` : null}
        </td>
      </tr>`;
    };
    return ui.render(
      'Timed sessions',
      html`${
        items.length
          ? html`<div class="scroll">
              <table>
                <thead>
                  <tr>
                    <th scope="col">Station</th>
                    <th scope="col">Site</th>
                    <th scope="col">Started</th>
                    <th scope="col">Ends</th>
                    <th scope="col">Left</th>
                    <th scope="col">Actions</th>
                  </tr>
                </thead>
                <tbody>
                  ${items.map(row)}
                </tbody>
              </table>
            </div>`
          : html`<p>No active session.</p>`
      }
      ${
        mayStart
          ? html`<form method="post" action="/ui/sessions" class="card">
              ${csrfField(ui.viewer)}
              <h2>Start a session</h2>
              <label for="s-station">Station (device id)</label
              ><input id="s-station" name="station" required maxlength="200" /> <label for="s-minutes">Minutes</label
              ><input id="s-minutes" name="minutes" type="number" min="1" value="60" required />
              <button type="submit">Start</button>
            </form>`
          : null
      }`,
    );
  });

  ctx.post('/sessions', async (ui, form) => {
    const answer = await ui.api('POST', '/sessions', { station: form.station ?? '', minutes: Number(form.minutes) });
    return { answer, redirect: '/ui/sessions', done: `Session started on ${form.station}.` };
  });
  ctx.post('/sessions/:id/extend', async (ui, form, request) => {
    const id = (request.params as { id: string }).id;
    const answer = await ui.api('POST', `/sessions/${encodeURIComponent(id)}/extend`, {
      minutes: Number(form.minutes),
    });
    return { answer, redirect: '/ui/sessions', done: `Extended by ${form.minutes} min.` };
  });
  ctx.post('/sessions/:id/stop', async (ui, _form, request) => {
    const id = (request.params as { id: string }).id;
    const answer = await ui.api('POST', `/sessions/${encodeURIComponent(id)}/stop`);
    return { answer, redirect: '/ui/sessions', done: 'Session stopped.' };
  });
}
