import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { int, MemoryDirectory, type Fields, type Tags } from '../sdk/index.ts';
import { Emitter } from './emitter.ts';
import { Liveness, type LivenessOptions } from './liveness.ts';
import { SelfMetrics } from './self-metrics.ts';

/** A device with no gateway role, offline (if at all) by itself. */
const ALONE = { cause: 'self', dependents: 0, dependents_offline: 0 };

/** Time is passed explicitly (`tick(now)`, `seen(id, state, now)`): no waiting in these tests. */
const HOUR = 3_600_000;
const T0 = Date.parse('2026-03-02T10:30:00Z');
const s = (seconds: number) => seconds * 1000;

interface Written {
  measurement: string;
  fields: Fields;
  device: string;
  time: number;
}

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function setUp(extra: Partial<LivenessOptions> = {}, file?: string) {
  if (!file) {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'fleetpulse-liveness-'));
    dirs.push(dir);
    file = path.join(dir, 'state.db');
  }
  const db = new Database(file);
  const directory = new MemoryDirectory();
  directory.add({ id: 'sensor-1', kind: 'sensor' });
  const written: Written[] = [];
  const liveness = new Liveness({
    db,
    directory,
    log: pino({ level: 'silent' }),
    intervalFor: (kind) => (kind === 'sensor' ? 10 : undefined),
    write: (measurement, fields, device, time) => written.push({ measurement, fields, device, time }),
    statusIntervalS: 60,
    ...extra,
  });
  return { db, file, directory, written, liveness };
}

const statuses = (w: Written[]) => w.filter((x) => x.measurement === 'device_status');
const rollups = (w: Written[]) => w.filter((x) => x.measurement === 'device_availability');
const attention = (w: Written[]) => w.filter((x) => x.measurement === 'device_attention');

describe('Liveness', () => {
  it('writes every transition, and offline only after two missed reporting intervals', () => {
    const { liveness, written, directory, db } = setUp();
    liveness.load(T0);
    liveness.tick(T0); // the first tick writes every status
    expect(statuses(written)).toEqual([
      { measurement: 'device_status', fields: { online: 0, state: 'offline', ...ALONE }, device: 'sensor-1', time: T0 },
      { measurement: 'device_status', fields: { online: 0, state: 'offline', ...ALONE }, device: 'sensor-1', time: T0 },
    ]);
    written.length = 0;
    liveness.seen('sensor-1', 'online', T0 + s(1));
    expect(statuses(written).map((w) => w.fields)).toEqual([{ online: 1, state: 'online', ...ALONE, last_seen_s: 0 }]);
    liveness.tick(T0 + s(21)); // 20 s of silence = two intervals, not more
    expect(liveness.state('sensor-1')?.state).toBe('online');
    liveness.tick(T0 + s(22));
    expect(liveness.state('sensor-1')?.state).toBe('offline');
    expect(statuses(written).map((w) => [w.fields, w.time])).toEqual([
      [{ online: 1, state: 'online', ...ALONE, last_seen_s: 0 }, T0 + s(1)],
      [{ online: 0, state: 'offline', ...ALONE, last_seen_s: 21 }, T0 + s(22)],
    ]);
    expect(directory.statuses.get('sensor-1')).toEqual({ state: 'offline', lastSeen: T0 + s(1) });
    liveness.seen('sensor-1', 'error', T0 + s(30));
    expect(statuses(written).at(-1)!.fields).toEqual({ online: 1, state: 'error', ...ALONE, last_seen_s: 0 });
    liveness.offline('sensor-1', T0 + s(31)); // connection closed: offline at once
    expect(statuses(written).at(-1)!.fields).toMatchObject({ online: 0, state: 'offline' });
    db.close();
  });

  it('writes the status of every known device every status interval, so offline is a value', () => {
    const { liveness, written, directory, db } = setUp();
    directory.add({ id: 'sensor-2', kind: 'sensor' });
    liveness.load(T0);
    liveness.tick(T0);
    liveness.seen('sensor-1', 'online', T0 + s(5));
    written.length = 0;
    for (let t = 6; t <= 59; t++) {
      if (t % 5 === 0) liveness.seen('sensor-1', 'online', T0 + s(t));
      liveness.tick(T0 + s(t)); // within the interval and no transition: nothing written
    }
    expect(statuses(written)).toEqual([]);
    liveness.tick(T0 + s(60));
    const at60 = statuses(written);
    expect(at60.map((w) => [w.device, w.fields.state, w.time])).toEqual([
      ['sensor-1', 'online', T0 + s(60)],
      ['sensor-2', 'offline', T0 + s(60)],
    ]);
    expect(at60[0].fields.last_seen_s).toBe(5);
    db.close();
  });

  it('rolls availability up per hour; the seconds add up to the time watched, also across a restart', () => {
    const a = setUp();
    a.liveness.load(T0); // 10:30
    a.liveness.seen('sensor-1', 'online', T0);
    for (let t = 0; t <= 20 * 60; t += 5) {
      a.liveness.seen('sensor-1', 'online', T0 + s(t));
      a.liveness.tick(T0 + s(t));
    } // online until 10:50, then silent: offline at 10:50:21 (more than 2 × 10 s)
    for (let t = 20 * 60 + 1; t <= 50 * 60; t += 1) a.liveness.tick(T0 + s(t)); // across 11:00, to 11:20
    const first = rollups(a.written);
    expect(first).toHaveLength(1);
    expect(first[0].time).toBe(T0 - 30 * 60_000); // stamped 10:00
    expect(first[0].fields).toEqual({
      online_s: 20 * 60 + 21,
      error_s: 0,
      offline_s: 30 * 60 - (20 * 60 + 21),
      maintenance_s: 0,
    });

    // Restart at 11:20: the partial hour is written and saved; the new Liveness goes on from it.
    const restartAt = T0 + s(50 * 60);
    a.liveness.stop(restartAt);
    const partial = rollups(a.written).at(-1)!;
    expect(partial.time).toBe(T0 + 30 * 60_000); // 11:00
    expect(partial.fields).toMatchObject({ offline_s: 20 * 60 });
    a.db.close();

    const b = setUp({}, a.file);
    b.liveness.load(restartAt);
    b.liveness.seen('sensor-1', 'online', restartAt + s(60));
    for (let t = 61; t <= 40 * 60; t += 5) {
      b.liveness.seen('sensor-1', 'online', restartAt + s(t));
      b.liveness.tick(restartAt + s(t));
    }
    b.liveness.tick(restartAt + s(40 * 60)); // 12:00
    const hour11 = rollups(b.written).find((w) => w.time === T0 + 30 * 60_000)!;
    const f = hour11.fields as Record<string, number>;
    expect(f.online_s + f.error_s + f.offline_s + f.maintenance_s).toBe(HOUR / 1000);
    expect(f).toEqual({ online_s: 40 * 60 - 60, error_s: 0, offline_s: 20 * 60 + 60, maintenance_s: 0 });
    b.db.close();
  });

  it('counts time in a maintenance window as maintenance, not offline', () => {
    const windowEnd = T0 + s(600);
    const { liveness, written, db } = setUp({ maintenance: { inMaintenance: (_d, now) => now < windowEnd } });
    liveness.load(T0);
    expect(liveness.state('sensor-1')?.state).toBe('maintenance');
    liveness.tick(windowEnd);
    expect(liveness.state('sensor-1')?.state).toBe('offline');
    liveness.stop(T0 + s(900));
    expect(rollups(written).at(-1)!.fields).toEqual({ online_s: 0, error_s: 0, offline_s: 300, maintenance_s: 600 });
    db.close();
  });

  it('writes fleet_status every status interval: counts per (customer, site, kind, model), no device tag', () => {
    const groups: Array<{ measurement: string; fields: Fields; tags: Tags; time: number }> = [];
    const { liveness, directory, db } = setUp({
      intervalFor: () => 10,
      writeGroup: (measurement, fields, tags, time) => groups.push({ measurement, fields, tags, time }),
    });
    directory.add({ id: 'term-1', kind: 'terminal', model: 'TC-200', customer: 'acme', site: 'acme-s1' });
    directory.add({ id: 'term-2', kind: 'terminal', model: 'TC-200', customer: 'acme', site: 'acme-s1' });
    directory.add({ id: 'term-3', kind: 'terminal', model: 'TC-200', customer: 'acme', site: 'acme-s2' });
    liveness.load(T0);
    for (const id of ['term-1', 'term-2', 'term-3']) liveness.seen(id, 'online', T0 + s(1));
    liveness.seen('term-2', 'error', T0 + s(2));
    liveness.tick(T0 + s(5)); // first tick: a full status interval
    liveness.seen('term-1', 'online', T0 + s(50));
    liveness.seen('term-2', 'error', T0 + s(50));
    liveness.tick(T0 + s(65)); // term-3 silent for 64 s: offline
    const last = groups.filter((g) => g.time === T0 + s(65) && g.measurement === 'fleet_status');
    const counts = (total: number, online: number, offline: number, error: number) => ({
      total: int(total),
      online: int(online),
      offline: int(offline),
      error: int(error),
      maintenance: int(0),
    });
    expect(last.map((g) => g.measurement)).toEqual(['fleet_status', 'fleet_status', 'fleet_status']);
    expect(Object.fromEntries(last.map((g) => [g.tags.site ?? '(none)', { tags: g.tags, fields: g.fields }]))).toEqual({
      'acme-s1': {
        tags: { customer: 'acme', site: 'acme-s1', kind: 'terminal', model: 'TC-200' },
        fields: counts(2, 1, 0, 1),
      },
      'acme-s2': {
        tags: { customer: 'acme', site: 'acme-s2', kind: 'terminal', model: 'TC-200' },
        fields: counts(1, 0, 1, 0),
      },
      // sensor-1 has only a kind: counted in a group without the missing tags.
      '(none)': { tags: { kind: 'sensor' }, fields: counts(1, 0, 1, 0) },
    });
    // Between status intervals nothing is written; the previous interval had term-3 online.
    expect(groups.filter((g) => g.time !== T0 + s(65) && g.measurement === 'fleet_status').map((g) => g.time)).toEqual([
      T0 + s(5),
      T0 + s(5),
      T0 + s(5),
    ]);
    expect(groups.find((g) => g.time === T0 + s(5) && g.tags.site === 'acme-s2')!.fields).toEqual(counts(1, 1, 0, 0));
    db.close();
  });

  it('fleet_status through the Emitter: a tag set without device gets no inventory tags', () => {
    const lines: string[] = [];
    const directory = new MemoryDirectory().add({
      id: 'acme',
      kind: 'terminal',
      model: 'X',
      customer: 'other',
      site: 'other-s1',
    });
    const emitter = new Emitter(
      { append: (l) => void lines.push(l), committed: async () => {} },
      directory,
      new SelfMetrics('test'),
      pino({ level: 'silent' }),
      { now: () => T0 },
    );
    emitter.system({
      measurement: 'fleet_status',
      fields: { total: int(1), online: int(1), offline: int(0), error: int(0), maintenance: int(0) },
      tags: { customer: 'acme', site: 'acme-s1', kind: 'terminal' },
      time: T0,
    });
    expect(lines).toEqual([
      `fleet_status,customer=acme,kind=terminal,site=acme-s1 total=1i,online=1i,offline=0i,error=0i,maintenance=0i ${T0}`,
    ]);
  });

  it('device_attention: only devices offline or in error, every interval and transition, one closing point on recovery', () => {
    const { liveness, written, directory, db } = setUp();
    directory.add({ id: 'sensor-2', kind: 'sensor' });
    liveness.load(T0); // never seen yet: both offline, listed
    for (const id of ['sensor-1', 'sensor-2']) liveness.seen(id, 'online', T0);
    liveness.tick(T0);
    expect(attention(written).map((w) => [w.device, w.fields.state])).toEqual([
      ['sensor-1', 'offline'],
      ['sensor-2', 'offline'],
      ['sensor-1', 'online'],
      ['sensor-2', 'online'],
    ]);
    written.length = 0;
    for (let t = 10; t <= 120; t += 10) {
      liveness.seen('sensor-2', 'online', T0 + s(t));
      liveness.tick(T0 + s(t));
    } // sensor-1 silent: offline at 21 s, listed then and at the status interval
    expect(attention(written).map((w) => [w.device, w.fields, w.time])).toEqual([
      ['sensor-1', { state: 'offline', since_s: 0, reason: '', last_seen_s: 30 }, T0 + s(30)],
      ['sensor-1', { state: 'offline', since_s: 30, reason: '', last_seen_s: 60 }, T0 + s(60)],
      ['sensor-1', { state: 'offline', since_s: 90, reason: '', last_seen_s: 120 }, T0 + s(120)],
    ]);
    written.length = 0;
    liveness.seen('sensor-1', 'online', T0 + s(125)); // recovered: one closing point, then nothing
    for (const t of [175, 235]) {
      for (const id of ['sensor-1', 'sensor-2']) liveness.seen(id, 'online', T0 + s(t));
      liveness.tick(T0 + s(t + 5)); // full status intervals at 180 and 240 s
    }
    expect(attention(written).map((w) => [w.device, w.fields.state, w.time])).toEqual([
      ['sensor-1', 'online', T0 + s(125)],
    ]);
    db.close();
  });

  it('device_attention: the reason of an error is kept, a new one written at once, dropped when the error ends; a flap ends listed', () => {
    const { liveness, written, db } = setUp();
    liveness.load(T0);
    liveness.seen('sensor-1', 'error', T0 + s(1), 'E42');
    liveness.seen('sensor-1', 'error', T0 + s(2), 'E42'); // same reason, same state: nothing new
    liveness.seen('sensor-1', 'error', T0 + s(3), 'E7'.padEnd(100, 'x')); // a new reason, cut to 64 characters
    liveness.seen('sensor-1', 'online', T0 + s(4));
    liveness.seen('sensor-1', 'error', T0 + s(5)); // no reason given
    liveness.offline('sensor-1', T0 + s(6)); // connection closed
    liveness.seen('sensor-1', 'error', T0 + s(7), 'bad\nline'); // a control character would make the point unwritable
    expect(attention(written).map((w) => [w.fields.state, w.fields.reason, w.time])).toEqual([
      ['offline', '', T0], // never seen yet at load: offline
      ['error', 'E42', T0 + s(1)],
      ['error', 'E7'.padEnd(64, 'x'), T0 + s(3)],
      ['online', '', T0 + s(4)],
      ['error', '', T0 + s(5)],
      ['offline', '', T0 + s(6)],
      ['error', 'bad line', T0 + s(7)],
    ]);
    db.close();
  });

  it('device_attention: entering maintenance closes the entry; a device offline in maintenance writes nothing', () => {
    let inWindow = false;
    const { liveness, written, db } = setUp({ maintenance: { inMaintenance: () => inWindow } });
    liveness.load(T0);
    liveness.seen('sensor-1', 'error', T0 + s(1), 'E1');
    inWindow = true;
    liveness.tick(T0 + s(2));
    for (let t = 60; t <= 300; t += 60) liveness.tick(T0 + s(t)); // silent, but in maintenance
    expect(attention(written).map((w) => [w.fields.state, w.time])).toEqual([
      ['offline', T0],
      ['error', T0 + s(1)],
      ['maintenance', T0 + s(2)],
    ]);
    inWindow = false;
    liveness.tick(T0 + s(301)); // window over: offline, listed again
    expect(attention(written).at(-1)!.fields).toMatchObject({ state: 'offline', since_s: 0 });
    db.close();
  });

  it('device_attention across a restart: an open entry is closed when the device came back; a closed one stays silent', () => {
    const a = setUp();
    a.directory.add({ id: 'sensor-2', kind: 'sensor' });
    a.liveness.load(T0);
    a.liveness.seen('sensor-2', 'online', T0);
    a.liveness.tick(T0); // sensor-1 never seen: listed offline
    a.liveness.stop(T0 + s(5));
    a.db.close();
    const b = setUp({}, a.file);
    b.directory.add({ id: 'sensor-2', kind: 'sensor' });
    b.liveness.load(T0 + s(10));
    b.liveness.seen('sensor-1', 'online', T0 + s(11));
    b.liveness.seen('sensor-2', 'online', T0 + s(11));
    b.liveness.tick(T0 + s(20)); // a full status interval (the first tick), both online
    expect(attention(b.written).map((w) => [w.device, w.fields.state])).toEqual([['sensor-1', 'online']]);
    b.db.close();
  });

  it('opens a liveness table saved before device_attention (no state, since, attention columns)', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'fleetpulse-liveness-'));
    dirs.push(dir);
    const file = path.join(dir, 'old.db');
    const old = new Database(file);
    old.exec(`CREATE TABLE liveness (device TEXT PRIMARY KEY, reported TEXT NOT NULL, last_seen INTEGER, hour_start INTEGER NOT NULL,
      online_ms INTEGER NOT NULL, error_ms INTEGER NOT NULL, offline_ms INTEGER NOT NULL, maintenance_ms INTEGER NOT NULL)`);
    old
      .prepare('INSERT INTO liveness VALUES (?, ?, ?, ?, 0, 0, 0, 0)')
      .run('sensor-1', 'online', T0 - s(5), T0 - (T0 % HOUR));
    old.close();
    const { liveness, written, db } = setUp({}, file);
    liveness.load(T0);
    expect(liveness.state('sensor-1')?.state).toBe('online');
    liveness.tick(T0 + s(30)); // 35 s silent: offline, listed
    expect(attention(written).map((w) => w.fields.state)).toEqual(['offline']);
    liveness.stop(T0 + s(31));
    expect(db.prepare('SELECT state, attention FROM liveness').get()).toEqual({ state: 'offline', attention: 1 });
    db.close();
  });

  it('writes fleet_firmware with fleet_status: devices per (customer, site, kind, model, firmware)', () => {
    const groups: Array<{ measurement: string; fields: Fields; tags: Tags }> = [];
    const { liveness, directory, db } = setUp({
      writeGroup: (measurement, fields, tags) => groups.push({ measurement, fields, tags }),
    });
    directory.add({ id: 't1', kind: 'terminal', model: 'TC-200', customer: 'acme', site: 's1', firmware: '1.5.0' });
    directory.add({ id: 't2', kind: 'terminal', model: 'TC-200', customer: 'acme', site: 's1', firmware: '1.5.0' });
    directory.add({ id: 't3', kind: 'terminal', model: 'TC-200', customer: 'acme', site: 's1', firmware: '1.4.2' });
    liveness.load(T0);
    liveness.tick(T0);
    const firmware = groups
      .filter((g) => g.measurement === 'fleet_firmware')
      .map((g) => [g.tags.firmware ?? '(unknown)', g.tags.kind, g.fields.devices]);
    expect(firmware).toEqual([
      ['(unknown)', 'sensor', int(1)],
      ['1.5.0', 'terminal', int(2)],
      ['1.4.2', 'terminal', int(1)],
    ]);
    db.close();
  });

  it('device_status.cause: devices behind an unreachable gateway are gateway_offline, the gateway counts them', () => {
    const { liveness, written, directory, db } = setUp();
    directory.add({ id: 'pc-1', kind: 'sensor', site: 'store-1' });
    const terminals = ['t-1', 't-2', 't-3'];
    for (const id of terminals) directory.add({ id, kind: 'sensor', site: 'store-1', gateway: 'pc-1' });
    directory.add({ id: 't-alone', kind: 'sensor', site: 'store-2', gateway: 'pc-2' });
    directory.add({ id: 'pc-2', kind: 'sensor', site: 'store-2' });
    liveness.load(T0);
    const all = ['pc-1', ...terminals, 'pc-2', 't-alone'];
    for (const id of all) liveness.seen(id, 'online', T0);
    liveness.tick(T0);
    // pc-1 and its terminals go silent; behind healthy pc-2, t-alone goes silent too.
    for (let t = T0 + s(10); t <= T0 + s(30); t += s(10)) {
      liveness.seen('pc-2', 'online', t);
      liveness.tick(t);
    }
    const last = (id: string) =>
      statuses(written)
        .filter((w) => w.device === id)
        .at(-1)!.fields;
    for (const id of terminals) expect(last(id)).toMatchObject({ state: 'offline', cause: 'gateway_offline' });
    expect(last('pc-1')).toMatchObject({ state: 'offline', cause: 'self', dependents: 3, dependents_offline: 3 });
    expect(last('t-alone')).toMatchObject({ state: 'offline', cause: 'self' });
    expect(last('pc-2')).toMatchObject({ state: 'online', cause: 'self', dependents: 1, dependents_offline: 0 });
    expect(liveness.affectedBy('gateway_offline', 'pc-1').sort()).toEqual(terminals);
    // The gateway comes back, t-1 does not: t-1 is now down by itself.
    const back = T0 + s(40);
    for (const id of ['pc-1', 't-2', 't-3', 'pc-2']) liveness.seen(id, 'online', back);
    liveness.tick(back);
    expect(last('t-1')).toMatchObject({ state: 'offline', cause: 'self' });
    expect(last('pc-1')).toMatchObject({ state: 'online', dependents_offline: 0 });
    expect(liveness.affectedBy('gateway_offline', 'pc-1')).toEqual([]);
    db.close();
  });

  it('site_status: most of a site offline at once is one outage (cause site_outage); one by one is not', () => {
    const groups: Array<{ measurement: string; fields: Fields; tags: Tags }> = [];
    const { liveness, written, directory, db } = setUp({
      writeGroup: (measurement, fields, tags) => groups.push({ measurement, fields, tags }),
      siteOutage: { share: 0.8, windowS: 30, minDevices: 5 },
    });
    const wan = Array.from({ length: 10 }, (_, i) => `wan-${i}`);
    const slow = Array.from({ length: 5 }, (_, i) => `slow-${i}`);
    for (const id of wan) directory.add({ id, kind: 'sensor', customer: 'acme', site: 'wan-site' });
    for (const id of slow) directory.add({ id, kind: 'sensor', customer: 'acme', site: 'slow-site' });
    liveness.load(T0);
    // wan-site: 8 of 10 fall silent together; slow-site: its devices fall silent one a minute.
    for (let t = T0; t <= T0 + s(360); t += s(10)) {
      for (const [i, id] of wan.entries()) if (t === T0 || i >= 8) liveness.seen(id, 'online', t);
      for (const [i, id] of slow.entries()) if (t <= T0 + s(60 * i)) liveness.seen(id, 'online', t);
      liveness.tick(t);
    }
    const sites = groups.filter((g) => g.measurement === 'site_status');
    const lastOf = (site: string) => sites.filter((g) => g.tags.site === site).at(-1)!;
    expect(lastOf('wan-site')).toEqual({
      measurement: 'site_status',
      tags: { customer: 'acme', site: 'wan-site' },
      fields: { total: int(10), offline: int(8), offline_share: 0.8, outage: int(1), outage_devices: int(8) },
    });
    expect(lastOf('slow-site').fields).toMatchObject({ total: int(5), offline: int(5), outage: int(0) });
    const last = (id: string) =>
      statuses(written)
        .filter((w) => w.device === id)
        .at(-1)!.fields;
    for (const id of wan.slice(0, 8)) expect(last(id).cause).toBe('site_outage');
    for (const id of slow) expect(last(id)).toMatchObject({ state: 'offline', cause: 'self' });
    expect(liveness.affectedBy('site_outage', 'wan-site').sort()).toEqual(wan.slice(0, 8).sort());
    db.close();
  });
});
