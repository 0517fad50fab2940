/**
 * Panels give exact values: a small fixture with known contents in a real influxd, each panel's
 * generated query run as Grafana runs it (macros and variables expanded, All selected unless
 * picked), and its result compared value by value, including a counter-example its filter or
 * window must exclude: a stale fleet_status tick (NOC counts), successful payments (failures by
 * reason), a printer that is fine or recovered (printers not ready), another customer (variables).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { encodeLine } from '../collector/pipeline/line-protocol.ts';
import { fleetStatus } from '../collector/runtime/measurements.ts';
import { int, type Point } from '../collector/sdk/point.ts';
import { chargingLimit, sitePower } from '../plugins/ocpp/measurements.ts';
import { posHealth, posPayment } from '../plugins/pos/measurements.ts';
import { useInfluxd } from './helpers/influxd.ts';
import { only, panelRunner, rows } from './helpers/panel-run.ts';

const influx = useInfluxd();
const now = Date.now();
const range = { from: now - 6 * 3_600_000, to: now };
let db: string;

const group = (customer: string, site: string, kind: string, model: string) => ({ customer, site, kind, model });
function counts(tags: Record<string, string>, t: number, c: Record<string, number>): Point {
  const f = { total: 0, online: 0, offline: 0, error: 0, maintenance: 0, ...c };
  return {
    measurement: fleetStatus.name,
    tags,
    fields: Object.fromEntries(Object.entries(f).map(([k, v]) => [k, int(v)])),
    time: t,
  };
}
const pos = (device: string, customer = 'acme') => ({ ...group(customer, `${customer}-s1`, 'pos', 'P400'), device });

const FIXTURE: Point[] = [
  // NOC: three groups at the last tick; the first group's tick 5 min ago (outside the 2 min window) must not count.
  counts(group('acme', 'acme-s1', 'terminal', 'TC-200'), now - 5 * 60_000, { total: 50, online: 10, offline: 40 }),
  counts(group('acme', 'acme-s1', 'terminal', 'TC-200'), now - 30_000, { total: 5, online: 3, offline: 1, error: 1 }),
  counts(group('globex', 'globex-s1', 'terminal', 'TC-200'), now - 30_000, { total: 2, online: 2 }),
  counts(group('acme', 'acme-s1', 'charger', 'AC22'), now - 30_000, { total: 3, online: 2, maintenance: 1 }),
  // POS: 3 + 2 failures by reason, 4 successes that the panel must not count.
  ...[
    ['failure', 'card_declined', 3],
    ['failure', 'acquirer_timeout', 2],
    ['success', '', 4],
  ].flatMap(([result, reason, n]) =>
    Array.from({ length: n as number }, (_, i) => ({
      measurement: posPayment.name,
      tags: {
        ...pos('pos-a'),
        store: 'store-1',
        currency: 'EUR',
        result: String(result),
        ...(reason ? { reason: String(reason) } : {}),
      },
      fields: { amount: 10, order_id: `${String(result)}-${String(reason)}-${i}` },
      time: now - 10 * 60_000 - i * 1000 - (reason === 'acquirer_timeout' ? 500 : 0),
    })),
  ),
  // Printers: pos-a out of paper now; pos-b fine; pos-c was out 20 min ago and is fine now.
  ...(
    [
      ['pos-a', 'paper_out', 0, 60_000],
      ['pos-b', 'ok', 1, 60_000],
      ['pos-c', 'paper_out', 0, 20 * 60_000],
      ['pos-c', 'ok', 1, 60_000],
    ] as const
  ).map(([device, printer, ok, ago]) => ({
    measurement: posHealth.name,
    tags: { ...pos(device), store: 'store-1', network: 'ethernet' },
    fields: { printer, printer_ok: int(ok), app_version: '3.1.0' },
    time: now - ago,
  })),
  // Smart charging, an hour apart (one bucket each): acme's depot under then over its limit, globex's
  // site far under; chg-1 at a share alone (no draw yet), under it, then past a new one; chg-2 at globex.
  ...(
    [
      ['acme', 'acme-depot', 3, 21_000, 18_000],
      ['acme', 'acme-depot', 1, 21_000, 22_500],
      ['globex', 'globex-depot', 1, 50_000, 1000],
    ] as const
  ).map(([customer, site, hoursAgo, limit_w, drawn_w]) => ({
    measurement: sitePower.name,
    tags: { customer, site },
    fields: { limit_w, drawn_w, sessions: int(3) },
    time: now - hoursAgo * 3_600_000,
  })),
  ...(
    [
      ['chg-1', 'acme', '1', 3, 7000, undefined],
      ['chg-1', 'acme', '1', 2, 7000, 6900],
      ['chg-1', 'acme', '1', 1, 10_500, 12_000],
      ['chg-2', 'globex', '2', 1, 3000, 2900],
    ] as const
  ).map(([device, customer, connector, hoursAgo, limit_w, drawn_w]) => ({
    measurement: chargingLimit.name,
    tags: { ...group(customer, `${customer}-depot`, 'charger', 'AC22'), device, connector },
    fields: { limit_w, drawn_w },
    time: now - hoursAgo * 3_600_000,
  })),
];

beforeAll(async () => {
  db = await influx.freshDatabase({ prefix: 'panels' });
  const res = await fetch(`${influx.url}/write?db=${db}&precision=ms`, {
    method: 'POST',
    body: FIXTURE.map(encodeLine).join('\n'),
  });
  expect(res.status).toBe(204);
});

const panel = panelRunner(influx, () => db, range);
const stat = async (title: string, pick = {}) => only(await panel('fp-fleet-overview', title, pick));

describe('panel values on a fixture with known contents', () => {
  it('NOC stats: the last tick of each group only, summed; a picked customer narrows them', async () => {
    expect(await stat('Devices')).toBe(10);
    expect(await stat('Online')).toBe(8); // reachable: online + error
    expect(await stat('Offline')).toBe(1); // not the 40 of the stale tick
    expect(await stat('Error')).toBe(1);
    expect(await stat('In maintenance')).toBe(1);
    expect(await stat('Devices', { customer: 'globex' })).toBe(2);
  });

  it('NOC "By kind and model": exact sums per kind and model, as its groupBy shows them', async () => {
    const got: Record<string, number[]> = {};
    for (const r of rows(await panel('fp-fleet-overview', 'By kind and model'))) {
      const row = (got[`${r.kind} ${r.model}`] ??= [0, 0, 0, 0, 0]);
      ['devices', 'online', 'offline', 'error', 'maintenance'].forEach((c, i) => (row[i] += r[c] as number));
    }
    expect(got).toEqual({ 'terminal TC-200': [7, 6, 1, 1, 0], 'charger AC22': [3, 2, 0, 0, 1] });
  });

  it('POS "Payment failures by reason": failures counted per reason, successes excluded', async () => {
    const got = rows(await panel('fp-pos', 'Payment failures by reason'));
    expect(Object.fromEntries(got.map((r) => [r.reason, r.failures]))).toEqual({
      card_declined: 3,
      acquirer_timeout: 2,
    });
  });

  it('POS "Printers not ready": the devices whose latest report says so, not a fine or recovered one', async () => {
    const got = rows(await panel('fp-pos', 'Printers not ready'));
    expect(got.map((r) => [r.device, r.printer, r.printer_ok])).toEqual([['pos-a', 'paper_out', 0]]);
  });

  it('EV "Site power against its limit": per site its draw beside its limit; a picked site leaves the other out', async () => {
    const site = async (pick = {}) =>
      rows(await panel('fp-ev-charging', 'Site power against its limit', pick)).map((r) => [
        r.site,
        r.drawn_w,
        r.limit_w,
      ]);
    expect(await site({ site: 'acme-depot' })).toEqual([
      ['acme-depot', 18_000, 21_000],
      ['acme-depot', 22_500, 21_000],
    ]);
    expect(await site({ customer: 'globex' })).toEqual([['globex-depot', 1000, 50_000]]);
  });

  it('EV "Charger power against its profile limit": per connector, a share without a draw yet shows the limit alone', async () => {
    const limits = async (pick = {}) =>
      rows(await panel('fp-ev-charging', 'Charger power against its profile limit', pick)).map((r) => [
        r.device,
        r.connector,
        r.drawn_w,
        r.limit_w,
      ]);
    expect(await limits({ device: 'chg-1' })).toEqual([
      ['chg-1', '1', null, 7000],
      ['chg-1', '1', 6900, 7000],
      ['chg-1', '1', 12_000, 10_500],
    ]);
    expect(await limits({ customer: 'globex' })).toEqual([['chg-2', '2', 2900, 3000]]);
  });
});
