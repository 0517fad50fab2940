import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Inventory } from '../collector/inventory/index.ts';
import { seedOwners, tempInventory } from '../collector/inventory/testing.ts';
import { WindowCalendar } from '../collector/operations/maintenance-calendar.ts';
import { MaintenanceWindows, type WindowInput } from '../collector/operations/maintenance-windows.ts';
import { startFleet } from '../collector/operations/testing.ts';
import { localToInstant } from '../collector/sdk/zoned-time.ts';

const utc = (iso: string) => Date.parse(iso);

describe('zoned time', () => {
  it('maps local times to instants across Berlin DST changes (gap moves forward, repeat takes the first)', () => {
    const berlin = (y: number, m: number, d: number, hour: number, minute = 0) =>
      new Date(localToInstant({ year: y, month: m, day: d, hour, minute }, 'Europe/Berlin')).toISOString();
    expect(berlin(2026, 3, 29, 1, 30)).toBe('2026-03-29T00:30:00.000Z'); // CET
    expect(berlin(2026, 3, 29, 2, 30)).toBe('2026-03-29T01:30:00.000Z'); // skipped: 03:30 CEST
    expect(berlin(2026, 3, 29, 3, 0)).toBe('2026-03-29T01:00:00.000Z'); // CEST
    expect(berlin(2026, 10, 25, 2, 30)).toBe('2026-10-25T00:30:00.000Z'); // first of the two 02:30s
    expect(berlin(2026, 10, 25, 3, 0)).toBe('2026-10-25T02:00:00.000Z'); // CET again
    expect(
      new Date(localToInstant({ year: 2026, month: 7, day: 1, hour: 12, minute: 0 }, 'America/New_York')).toISOString(),
    ).toBe('2026-07-01T16:00:00.000Z');
  });
});

describe('maintenance calendar', () => {
  let inventory: Inventory;
  let cleanup: () => void;
  let windows: MaintenanceWindows;
  let calendar: WindowCalendar;
  const device = (id: string, site = 'acme-berlin', customer = 'acme') => ({
    id,
    kind: 'widget',
    lifecycle: 'active' as const,
    site,
    customer,
  });
  const add = (w: Partial<WindowInput>) => windows.create({ scope: 'device', target: 'd1', recurrence: 'daily', ...w });

  beforeAll(() => {
    const f = tempInventory();
    inventory = f.inventory;
    cleanup = f.cleanup;
    seedOwners(inventory);
    windows = new MaintenanceWindows(inventory.db);
    calendar = new WindowCalendar(inventory.db, windows);
  });
  afterAll(() => cleanup());

  it('a daily 23:00-03:00 window crosses midnight and both DST changes in the site zone', () => {
    const w = add({ target: 'd-night', start_time: '23:00', duration_min: 240 });
    const d = device('d-night');
    const at = (iso: string) => calendar.evaluate(d, utc(iso)).inside;
    // An ordinary winter night: 23:00 CET = 22:00 UTC until 03:00 CET = 02:00 UTC.
    expect(at('2026-01-14T21:59:59Z')).toBe(false);
    expect(at('2026-01-14T22:00:00Z')).toBe(true);
    expect(at('2026-01-15T01:59:59Z')).toBe(true);
    expect(at('2026-01-15T02:00:00Z')).toBe(false);
    // Night into Sunday 29 March 2026 (clocks 02:00 → 03:00): 22:00 UTC until 03:00 CEST = 01:00 UTC, 3 hours.
    expect(at('2026-03-28T22:00:00Z')).toBe(true);
    expect(at('2026-03-29T00:59:59Z')).toBe(true);
    expect(at('2026-03-29T01:00:00Z')).toBe(false);
    // Night into Sunday 25 October 2026 (03:00 → 02:00): 21:00 UTC (CEST) until 03:00 CET = 02:00 UTC, 5 hours.
    expect(at('2026-10-24T20:59:59Z')).toBe(false);
    expect(at('2026-10-24T21:00:00Z')).toBe(true);
    expect(at('2026-10-25T01:59:59Z')).toBe(true);
    expect(at('2026-10-25T02:00:00Z')).toBe(false);
    // The cache answers until the next boundary, and the boundary is exact.
    expect(calendar.evaluate(d, utc('2026-10-25T00:00:00Z')).until).toBe(utc('2026-10-25T02:00:00Z'));
    windows.delete(w.id);
    expect(at('2026-01-14T22:30:00Z')).toBe(false);
  });

  it('monthly by weekday: third Tuesday 02:00-04:00 local, for every device of a site', () => {
    add({
      scope: 'site',
      target: 'acme-hamburg',
      recurrence: 'monthly',
      weekdays: [2],
      week_of_month: 3,
      start_time: '02:00',
      duration_min: 120,
    });
    const d = device('h1', 'acme-hamburg');
    // October 2026: Tuesdays 6, 13, 20, 27; the third is the 20th. 02:00 CEST = 00:00 UTC.
    expect(calendar.evaluate(d, utc('2026-10-20T00:30:00Z')).inside).toBe(true);
    expect(calendar.evaluate(d, utc('2026-10-20T02:00:00Z')).inside).toBe(false);
    expect(calendar.evaluate(d, utc('2026-10-13T00:30:00Z')).inside).toBe(false);
    expect(calendar.evaluate(d, utc('2026-10-27T00:30:00Z')).inside).toBe(false);
    // another site
    expect(calendar.evaluate(device('b1', 'acme-berlin'), utc('2026-10-20T00:30:00Z')).inside).toBe(false);
  });

  it('weekly, last-weekday-of-month, one-off, customer scope and a zone override', () => {
    add({
      scope: 'customer',
      target: 'volt',
      recurrence: 'weekly',
      weekdays: [0, 6],
      start_time: '06:00',
      duration_min: 60,
    });
    const lyon = device('v1', 'volt-lyon', 'volt');
    expect(calendar.evaluate(lyon, utc('2026-06-06T04:30:00Z')).inside).toBe(true); // Saturday 06:30 CEST
    expect(calendar.evaluate(lyon, utc('2026-06-08T04:30:00Z')).inside).toBe(false); // Monday
    add({
      target: 'last',
      recurrence: 'monthly',
      weekdays: [5],
      week_of_month: -1,
      start_time: '12:00',
      duration_min: 30,
      timezone: 'UTC',
    });
    // last Friday of October 2026
    expect(calendar.evaluate(device('last'), utc('2026-10-30T12:10:00Z')).inside).toBe(true);
    expect(calendar.evaluate(device('last'), utc('2026-10-23T12:10:00Z')).inside).toBe(false);
    add({
      target: 'once',
      recurrence: 'once',
      starts_at: utc('2026-05-01T10:00:00Z'),
      ends_at: utc('2026-05-01T11:00:00Z'),
    });
    expect(calendar.evaluate(device('once'), utc('2026-05-01T10:59:59Z')).inside).toBe(true);
    expect(calendar.evaluate(device('once'), utc('2026-05-01T11:00:00Z')).inside).toBe(false);
  });

  it('inMaintenance answers from its cache per place, and follows window changes and moves', () => {
    // A Wednesday noon: clear of the weekend window the test above gives customer volt (with
    // Date.now() this test failed every weekend morning in Lyon).
    const now = utc('2026-05-06T12:00:00Z');
    const a = device('cache-a', 'volt-lyon', 'volt');
    const b = device('cache-b', 'volt-lyon', 'volt');
    expect(calendar.inMaintenance(a, now)).toBe(false);
    const w = windows.create({
      scope: 'site',
      target: 'volt-lyon',
      recurrence: 'once',
      starts_at: now - 1000,
      ends_at: now + 60_000,
    });
    expect(calendar.inMaintenance(a, now)).toBe(true); // a new window drops the cache
    expect(calendar.inMaintenance(b, now)).toBe(true);
    expect(calendar.inMaintenance(b, now + 60_000)).toBe(false); // the cached answer ends at the window's end
    expect(calendar.inMaintenance({ ...a, site: 'acme-berlin', customer: 'acme' }, now)).toBe(false); // moved
    const own = windows.create({
      scope: 'device',
      target: 'cache-c',
      recurrence: 'once',
      starts_at: now - 1000,
      ends_at: now + 60_000,
    });
    expect(calendar.inMaintenance(device('cache-c', 'acme-berlin'), now)).toBe(true);
    expect(calendar.inMaintenance(device('cache-d', 'acme-berlin'), now)).toBe(false);
    windows.delete(w.id);
    windows.delete(own.id);
    expect(calendar.inMaintenance(b, now)).toBe(false);
    expect(calendar.inMaintenance(device('cache-c', 'acme-berlin'), now)).toBe(false);
  });

  it('refuses malformed windows naming the field', () => {
    expect(() => add({ start_time: '24:00', duration_min: 10 })).toThrow(
      expect.objectContaining({ field: 'start_time' }),
    );
    expect(() => add({ start_time: '01:00', duration_min: 0 })).toThrow(
      expect.objectContaining({ field: 'duration_min' }),
    );
    expect(() => add({ recurrence: 'weekly', start_time: '01:00', duration_min: 10 })).toThrow(
      expect.objectContaining({ field: 'weekdays' }),
    );
    expect(() =>
      add({ recurrence: 'monthly', weekdays: [1], week_of_month: 6, start_time: '01:00', duration_min: 10 }),
    ).toThrow(expect.objectContaining({ field: 'week_of_month' }));
    expect(() => add({ recurrence: 'once', starts_at: 2, ends_at: 1 })).toThrow(
      expect.objectContaining({ field: 'ends_at' }),
    );
    expect(() => add({ start_time: '01:00', duration_min: 10, timezone: 'Mars/Olympus' })).toThrow(
      expect.objectContaining({ field: 'timezone' }),
    );
  });

  it('the runtime writes device_status state maintenance inside a window', async () => {
    inventory.devices.create({ id: 'live-1', kind: 'widget', site: 'acme-berlin' });
    add({ target: 'live-1', recurrence: 'once', starts_at: Date.now() - 60_000, ends_at: Date.now() + 3_600_000 });
    const fleet = await startFleet(inventory, { maintenance: calendar });
    try {
      fleet.connect('live-1');
      fleet.collector.liveness.tick(Date.now());
      expect(fleet.collector.liveness.state('live-1')?.state).toBe('maintenance');
      expect(
        fleet.sink.lines.some(
          (l) => l.startsWith('device_status,') && l.includes('device=live-1') && l.includes('state="maintenance"'),
        ),
      ).toBe(true);
    } finally {
      await fleet.stop();
    }
  });
});
