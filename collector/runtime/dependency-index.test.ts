import Database from 'better-sqlite3';
import fc from 'fast-check';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { MemoryDirectory, type DeviceRecord, type Fields } from '../sdk/index.ts';
import { Liveness } from './liveness.ts';

/**
 * A tick relates again only the groups its transitions touched (dependency-index.ts); what it
 * writes must be what relating the whole fleet gives. The oracle is the status interval's full
 * pass, which relates every group: run one right after the last incremental tick, it must find
 * every device's cause and dependents as the incremental ticks left them.
 */
const T0 = Date.parse('2026-03-02T10:30:00Z');
/**
 * Offline after 20,001 ms silent: reports and ticks fall on whole seconds, and the full pass 1 ms
 * after the last tick, so no device expires between the two.
 */
const INTERVAL_S = 10.0005;

const GATEWAYS = ['pc-1', 'pc-2', 'pc-3'];
/** Terminals behind the gateways and at their sites, loners at a site, one behind an unknown gateway. */
const DEVICES: Array<Omit<DeviceRecord, 'lifecycle'>> = [
  ...GATEWAYS.map((id, i) => ({ id, kind: 'sensor', customer: 'acme', site: `store-${i % 2}` })),
  ...Array.from({ length: 9 }, (_, i) => ({
    id: `t-${i}`,
    kind: 'sensor',
    customer: 'acme',
    site: `store-${i % 2}`,
    gateway: GATEWAYS[i % 3],
  })),
  { id: 'lone-1', kind: 'sensor', customer: 'acme', site: 'store-1' },
  { id: 'lone-2', kind: 'sensor', customer: 'other', site: 'store-1' },
  { id: 'orphan', kind: 'sensor', site: 'store-0', gateway: 'pc-gone' },
];
const IDS = DEVICES.map((d) => d.id);

const step = fc.record({
  seconds: fc.integer({ min: 1, max: 15 }),
  /** Devices that report this step, and how. */
  reports: fc.array(fc.record({ id: fc.constantFrom(...IDS), error: fc.boolean() }), { maxLength: 8 }),
  /** A closed connection. */
  offline: fc.option(fc.constantFrom(...IDS), { nil: undefined }),
  /** A device entering or leaving maintenance. */
  maintenance: fc.option(fc.constantFrom(...IDS), { nil: undefined }),
  /** A terminal moved behind another gateway (an inventory edit). */
  move: fc.option(fc.record({ terminal: fc.integer({ min: 0, max: 8 }), to: fc.constantFrom(...GATEWAYS) }), {
    nil: undefined,
  }),
});

type Relation = Pick<Fields, 'state' | 'cause' | 'dependents' | 'dependents_offline'>;
const relation = (f: Fields): Relation => ({
  state: f.state,
  cause: f.cause,
  dependents: f.dependents,
  dependents_offline: f.dependents_offline,
});

describe('DependencyIndex through the liveness tracker', () => {
  it('after any transitions and inventory edits, each tick left the causes and dependents a full pass finds', () => {
    fc.assert(
      fc.property(fc.array(step, { minLength: 1, maxLength: 40 }), (steps) => {
        const db = new Database(':memory:');
        const directory = new MemoryDirectory();
        for (const d of DEVICES) directory.add(d);
        const inMaintenance = new Set<string>();
        const last = steps.reduce((t, s) => t + s.seconds * 1000, T0);
        const written = new Map<string, Relation>();
        let full = false;
        const fullPass: Array<[string, Relation]> = [];
        const liveness = new Liveness({
          db,
          directory,
          log: pino({ level: 'silent' }),
          intervalFor: () => INTERVAL_S,
          // Only the first tick and the oracle's are full.
          statusIntervalS: (last + 0.5 - T0) / 1000,
          siteOutage: { share: 0.6, windowS: 30, minDevices: 3 },
          maintenance: { inMaintenance: (d) => inMaintenance.has(d.id) },
          write: (measurement, fields, device) => {
            if (measurement !== 'device_status') return;
            if (full) fullPass.push([device, relation(fields)]);
            else written.set(device, relation(fields));
          },
        });
        liveness.load(T0);
        for (const id of IDS) liveness.seen(id, 'online', T0);
        liveness.tick(T0);
        let now = T0;
        for (const s of steps) {
          now += s.seconds * 1000;
          for (const r of s.reports) liveness.seen(r.id, r.error ? 'error' : 'online', now, r.error ? 'E1' : undefined);
          if (s.offline) liveness.offline(s.offline, now);
          if (s.maintenance && !inMaintenance.delete(s.maintenance)) inMaintenance.add(s.maintenance);
          if (s.move) directory.add({ ...DEVICES[GATEWAYS.length + s.move.terminal], gateway: s.move.to });
          liveness.tick(now);
        }
        const affected = GATEWAYS.map((g) => liveness.affectedBy('gateway_offline', g).sort());
        const outages = ['store-0', 'store-1'].map((site) => liveness.affectedBy('site_outage', site).sort());
        full = true;
        liveness.tick(last + 1);
        expect(fullPass.length).toBe(IDS.length);
        for (const [id, r] of fullPass) expect(written.get(id), id).toEqual(r);
        expect(affected).toEqual(GATEWAYS.map((g) => liveness.affectedBy('gateway_offline', g).sort()));
        expect(outages).toEqual(['store-0', 'store-1'].map((site) => liveness.affectedBy('site_outage', site).sort()));
        db.close();
      }),
      { numRuns: 200 },
    );
  });
});
