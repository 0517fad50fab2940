import type { Static } from 'typebox';
import type { FirmwareJson } from '../../routes/firmware/schemas.ts';
import type { DeviceJson, RolloutDeviceList, RolloutJson, RolloutList } from '../../routes/rollouts/schemas.ts';
import { html, when } from '../html.ts';
import { actionButton } from '../layout.ts';
import type { UiContext } from '../context.ts';

type Rollout = Static<typeof RolloutJson>;
type RolloutDevice = Static<typeof DeviceJson>;

const STATES = ['pending', 'sent', 'confirming', 'done', 'failed', 'skipped'] as const;
/** Which action each status allows (the engine refuses the rest with 409 anyway). */
const ACTIONS = [
  ['pause', 'Pause', ['running']],
  ['resume', 'Resume', ['paused', 'halted']],
  ['abort', 'Abort', ['running', 'paused', 'halted']],
] as const;

/** Devices per state in each wave, wave 0 being the canary. */
export function byWave(devices: RolloutDevice[]): Array<{ wave: number; counts: Record<string, number> }> {
  const waves = new Map<number, Record<string, number>>();
  for (const d of devices) {
    const counts = waves.get(d.wave) ?? {};
    counts[d.state] = (counts[d.state] ?? 0) + 1;
    waves.set(d.wave, counts);
  }
  return [...waves.entries()].sort(([a], [b]) => a - b).map(([wave, counts]) => ({ wave, counts }));
}

const progressText = (r: Rollout) =>
  `${r.progress.done} of ${r.progress.total} done (${Math.round(r.progress.percent)} %), ${r.progress.failed} failed`;

/** Firmware rollouts: the list, and one rollout's progress by wave, its failures, pause, resume, abort. */
export default function rollouts(ctx: UiContext): void {
  ctx.get('/rollouts', async (ui) => {
    const list = await ui.api<Static<typeof RolloutList>>('GET', '/rollouts');
    const items = list.status === 200 ? list.body.items : [];
    return ui.render(
      'Firmware rollouts',
      items.length === 0
        ? html`<p>No rollout.</p>`
        : html`<div class="scroll">
            <table>
              <thead>
                <tr>
                  <th scope="col">Rollout</th>
                  <th scope="col">State</th>
                  <th scope="col">Wave</th>
                  <th scope="col">Progress</th>
                  <th scope="col">Started</th>
                </tr>
              </thead>
              <tbody>
                ${items.map(
                  (r) =>
                    html`<tr>
                      <td><a href="/ui/rollouts/${encodeURIComponent(r.id)}">${r.id.slice(0, 8)}</a></td>
                      <td>${r.status}</td>
                      <td>${r.progress.current_wave + 1} of ${r.progress.waves}</td>
                      <td>${progressText(r)}</td>
                      <td>${when(r.created_at)}</td>
                    </tr>`,
                )}
              </tbody>
            </table>
          </div>`,
    );
  });

  ctx.get('/rollouts/:id', async (ui, request, reply) => {
    const id = encodeURIComponent((request.params as { id: string }).id);
    const [one, devices] = await Promise.all([
      ui.api<Rollout>('GET', `/rollouts/${id}`),
      ui.api<Static<typeof RolloutDeviceList>>('GET', `/rollouts/${id}/devices`),
    ]);
    if (one.status !== 200) return ui.problem(reply, one.status, 'Rollout', one.error ?? `refused (${one.status})`);
    const r = one.body;
    const fw = await ui.api<Static<typeof FirmwareJson>>('GET', `/firmware/${encodeURIComponent(r.firmware_id)}`);
    const items = devices.status === 200 ? devices.body.items : [];
    const failed = items.filter((d) => d.state === 'failed');
    const actions = ACTIONS.filter(
      ([action, , from]) => (from as readonly string[]).includes(r.status) && ui.can('POST', `/rollouts/:id/${action}`),
    );
    return ui.render(
      `Rollout ${r.id.slice(0, 8)}`,
      html`<dl class="facts">
          <dt>Firmware</dt>
          <dd>${fw.status === 200 ? `${fw.body.model} ${fw.body.version}` : r.firmware_id}</dd>
          <dt>State</dt>
          <dd id="rollout-state">${r.status}</dd>
          ${
            r.halt_reason
              ? html`<dt>Halted because</dt>
                  <dd>${r.halt_reason}</dd>`
              : null
          }
          <dt>Progress</dt>
          <dd>${progressText(r)}</dd>
          <dt>Wave</dt>
          <dd>${r.progress.current_wave + 1} of ${r.progress.waves} (wave 1 is the canary)</dd>
          <dt>Halts above</dt>
          <dd>${Math.round(r.failure_threshold * 100)} % failed in a wave</dd>
          <dt>Started</dt>
          <dd>${when(r.created_at)} by ${r.created_by ?? '—'}</dd>
          <dt>Expected end</dt>
          <dd>${when(r.progress.estimated_end)}</dd>
        </dl>
        ${actions.length ? html`<p>${actions.map(([action, label]) => actionButton(ui.viewer, `/ui/rollouts/${id}/${action}`, label))}</p>` : null}
        <h2>Progress by wave</h2>
        <div class="scroll">
          <table id="waves">
            <thead>
              <tr>
                <th scope="col">Wave</th>
                ${STATES.map((s) => html`<th scope="col">${s}</th>`)}
              </tr>
            </thead>
            <tbody>
              ${byWave(items).map(
                (w) =>
                  html`<tr data-wave="${w.wave + 1}">
                    <th scope="row">${w.wave + 1}${w.wave === 0 ? ' (canary)' : null}</th>
                    ${STATES.map((s) => html`<td data-state="${s}">${w.counts[s] ?? 0}</td>`)}
                  </tr>`,
              )}
            </tbody>
          </table>
        </div>
        <h2>Failures</h2>
        ${
          failed.length === 0
            ? html`<p>No device failed.</p>`
            : html`<div class="scroll">
                <table id="failures">
                  <thead>
                    <tr>
                      <th scope="col">Device</th>
                      <th scope="col">Wave</th>
                      <th scope="col">Error</th>
                      <th scope="col">At</th>
                    </tr>
                  </thead>
                  <tbody>
                    ${failed.map(
                      (d) =>
                        html`<tr>
                          <td><a href="/ui/devices/${encodeURIComponent(d.device)}">${d.device}</a></td>
                          <td>${d.wave + 1}</td>
                          <td>${d.error ?? '—'}</td>
                          <td>${when(d.updated_at)}</td>
                        </tr>`,
                    )}
                  </tbody>
                </table>
              </div>`
        }`,
    );
  });

  for (const [action, label] of ACTIONS) {
    ctx.post(`/rollouts/:id/${action}`, async (ui, _form, request) => {
      const id = encodeURIComponent((request.params as { id: string }).id);
      const answer = await ui.api('POST', `/rollouts/${id}/${action}`);
      return { answer, redirect: `/ui/rollouts/${id}`, done: `${label}: done.` };
    });
  }
}
