/**
 * Proof that the TC-200 board's rollout panels show what the real rollout scheduler did: a
 * rollout over a small fleet (the operations tests' widget plugin, which serves kind `widget`, so
 * the panels' `kind = 'terminal'` is read as `kind = 'widget'` here), two devices failing (the
 * flash refused; one away at every turn), its `rollout_progress` and `rollout_failure` lines
 * written into a real influxd, then the panel queries run as Grafana sends them.
 */
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedOwners, tempInventory } from '../collector/inventory/testing.ts';
import { rolloutFailure, rolloutProgress } from '../collector/operations/measurements.ts';
import { Operations } from '../collector/operations/operations.ts';
import { startFleet, until } from '../collector/operations/testing.ts';
import { CommandFailed } from '../collector/sdk/index.ts';
import { ALL, expandQuery, type VariableState } from '../dashboards/grafana-macros.ts';
import { boards } from '../dashboards/index.ts';
import { ALL_VALUE } from '../dashboards/variables.ts';
import { useInfluxd } from './helpers/influxd.ts';

const influx = useInfluxd();
let db: string;
const ids = Array.from({ length: 8 }, (_, i) => `w-${i}`);
const cleanups: Array<() => Promise<void> | void> = [];
let rolloutId = '';
const start = Date.now();

beforeAll(async () => {
  db = await influx.freshDatabase({ prefix: 'rollouts' });
  const fixture = tempInventory();
  seedOwners(fixture.inventory);
  for (const id of ids)
    fixture.inventory.devices.create({ id, kind: 'widget', model: 'TC-200', firmware: '1.0.0', site: 'acme-berlin' });
  const fleet = await startFleet(fixture.inventory);
  for (const id of ids.slice(0, 7)) fleet.connect(id, { firmware: '1.0.0' }); // w-7 never connects
  const answer = fleet.answer;
  fleet.answer = async (device, command) => {
    if (command.name === 'update_firmware' && device === 'w-3') throw new CommandFailed('flash write error');
    return answer(device, command);
  };
  const ops = new Operations({
    inventory: fixture.inventory,
    bus: fleet.collector.bus,
    plugins: [fleet.plugin],
    emit: (p) => fleet.collector.emitter.system(p),
    log: pino({ level: 'silent' }),
    options: { commands: { pollMs: 10 }, rollouts: { tickMs: 10, maxOfflineTurns: 2 } },
  });
  ops.start();
  cleanups.push(
    () => fixture.cleanup(),
    () => fleet.stop(),
    () => ops.stop(100),
  );
  const fw = ops.firmware.add({
    model: 'TC-200',
    version: '2.0.0',
    url: 'https://fw.example.com/2.bin',
    sha256: 'a'.repeat(64),
  });
  rolloutId = ops.rollouts.create({
    firmware_id: fw.id,
    selector: { site: 'acme-berlin' },
    canary: { count: 1 },
    wave_size: 10,
    failure_threshold: 0.5,
    retry_offline_s: 0.05,
    confirm_timeout_s: 5,
  }).id;
  await until(() => ops.rollouts.get(rolloutId)!.status === 'completed', 'the rollout to complete', 30_000);
  const lines = fleet.sink.lines.filter(
    (l) => l.startsWith(`${rolloutProgress.name},`) || l.startsWith(`${rolloutFailure.name},`),
  );
  const res = await fetch(`${influx.url}/write?db=${db}&precision=ms`, { method: 'POST', body: lines.join('\n') });
  expect(res.status).toBe(204);
}, 45_000);

afterAll(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const terminals = boards().find((b) => b.spec.uid === 'fp-terminals')!;
async function panelRows(
  title: string,
  pick: Partial<Record<string, string[]>> = {},
): Promise<Record<string, unknown>[]> {
  const q = terminals.queries.find((x) => x.panel === title)!;
  const variables: Record<string, VariableState> = Object.fromEntries(
    ['customer', 'site', 'kind', 'model', 'device'].map((v) => [
      v,
      { current: pick[v] ?? ALL, multi: true, includeAll: true, allValue: ALL_VALUE },
    ]),
  );
  const query = expandQuery(q.query, {
    range: { from: start - 60_000, to: Date.now() + 60_000 },
    variables,
  }).replaceAll(`"kind" = 'terminal'`, `"kind" = 'widget'`);
  const series = await influx.query(query, { db });
  return series.flatMap((s) =>
    s.values.map((v) => ({ ...s.tags, ...Object.fromEntries(s.columns.map((c, i) => [c, v[i]])) })),
  );
}

describe('rollout panels over the real scheduler', () => {
  it('Rollout progress: one row for the rollout, with its final counts and status', async () => {
    const rows = await panelRows('Rollout progress');
    expect(rows.map((r) => [r.rollout, r.version, r.done, r.failed, r.pending, r.status])).toEqual([
      [rolloutId, '2.0.0', 6, 2, 0, 'completed'],
    ]);
  });

  it('Failed updates: exactly the two failed devices, each with its reason and inventory tags', async () => {
    const rows = await panelRows('Failed updates in rollouts (in the range)');
    expect(rows.map((r) => [r.device, r.rollout, r.version, r.customer, r.site]).sort()).toEqual([
      ['w-3', rolloutId, '2.0.0', 'acme', 'acme-berlin'],
      ['w-7', rolloutId, '2.0.0', 'acme', 'acme-berlin'],
    ]);
    expect(rows.find((r) => r.device === 'w-3')!.error).toMatch(/flash write error/);
    expect(rows.find((r) => r.device === 'w-7')!.error).toBe('offline at 2 turns');
  });

  it('the site variable narrows the failures; another site gives no row', async () => {
    expect(
      (await panelRows('Failed updates in rollouts (in the range)', { device: ['w-3'] })).map((r) => r.device),
    ).toEqual(['w-3']);
    expect(await panelRows('Failed updates in rollouts (in the range)', { site: ['volt-lyon'] })).toEqual([]);
  });
});
