import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { PointsRefused } from '../sdk/errors.ts';
import { Spool, type SpoolOptions } from './spool.ts';
import { openStateDb } from './state-db.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function tempDbPath(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'fleetpulse-spool-'));
  dirs.push(dir);
  return path.join(dir, 'spool.db');
}

function openSpool(file: string, options: Omit<SpoolOptions, 'db'> = {}) {
  const db = openStateDb(file);
  // Rows of two lines: reads, acks and drops work on whole rows, which the tests must see.
  return { db, spool: new Spool({ db, commitIntervalMs: 5, linesPerRow: 2, ...options }) };
}

/** Every line of the spool, oldest first. */
function everything(spool: Spool): string[] {
  return spool.read(0, 1_000_000)?.lines() ?? [];
}

const line = (i: number) => `m,device=d${i % 7} v=${i}i ${1_700_000_000_000 + i}`;

describe('Spool', () => {
  it('holds appended lines once committed, and they survive closing the database', async () => {
    const file = tempDbPath();
    const a = openSpool(file);
    for (let i = 0; i < 10; i++) a.spool.append(line(i));
    expect(a.spool.size().points).toBe(10);
    await a.spool.committed();
    a.db.close(); // no close() of the spool: what is committed must be on disk already
    const b = openSpool(file);
    expect(everything(b.spool)).toEqual(Array.from({ length: 10 }, (_, i) => line(i)));
    expect(b.spool.size()).toEqual({ points: 10, bytes: everything(b.spool).join('').length });
    b.db.close();
  });

  it('removes an acknowledged batch and keeps what follows it', () => {
    const { db, spool } = openSpool(tempDbPath());
    for (let i = 0; i < 6; i++) spool.append(line(i));
    spool.commit();
    const first = spool.read(0, 4)!;
    expect(first.lines()).toHaveLength(4);
    spool.ack(first);
    expect(everything(spool)).toEqual([line(4), line(5)]);
    expect(spool.size().points).toBe(2);
    db.close();
  });

  it('keeps ids rising after the spool was emptied, so a reader past the old ids sees new lines', () => {
    // Regression: SQLite hands out rowid 1 again in an empty table; the drain reads ids above
    // the last batch it claimed and would never have seen these lines.
    const { db, spool } = openSpool(tempDbPath());
    for (let i = 0; i < 5; i++) spool.append(line(i));
    spool.commit();
    const batch = spool.read(0, 100)!;
    spool.ack(batch);
    expect(spool.size().points).toBe(0);
    spool.append(line(99));
    spool.commit();
    expect(spool.read(batch.lastId, 100)?.lines()).toEqual([line(99)]);
    db.close();
  });

  it('records dead letters with the error InfluxDB gave', () => {
    const { db, spool } = openSpool(tempDbPath());
    spool.append(line(1));
    spool.append('bad line');
    spool.commit();
    spool.ack(spool.read(0, 10)!, [{ line: 'bad line', error: 'unable to parse' }]);
    expect(spool.size().points).toBe(0);
    expect(spool.deadLetters()).toEqual([{ line: 'bad line', error: 'unable to parse' }]);
    db.close();
  });

  it('when full with drop_oldest: drops the oldest lines, keeps the newest, counts every drop', () => {
    let dropped = 0;
    const { db, spool } = openSpool(tempDbPath(), {
      maxBytes: 1024 * 10,
      whenFull: 'drop_oldest',
      onDrop: (n) => (dropped += n),
    });
    const total = 1000;
    for (let i = 0; i < total; i++) spool.append(line(i));
    spool.commit();
    const kept = everything(spool);
    expect(spool.size().bytes).toBeLessThanOrEqual(1024 * 10);
    expect(kept.length + dropped).toBe(total);
    expect(dropped).toBeGreaterThan(0);
    expect(kept.at(-1)).toBe(line(total - 1));
    // What is kept is a contiguous run of the newest lines.
    const firstKept = total - kept.length;
    expect(kept).toEqual(Array.from({ length: kept.length }, (_, i) => line(firstKept + i)));
    spool.append(line(total)); // still accepting
    spool.commit();
    expect(everything(spool).at(-1)).toBe(line(total));
    db.close();
  });

  it('when full with drop_newest: refuses new lines, keeps history, counts every drop', () => {
    let dropped = 0;
    const { db, spool } = openSpool(tempDbPath(), {
      maxBytes: 1024 * 10,
      whenFull: 'drop_newest',
      onDrop: (n) => (dropped += n),
    });
    const total = 1000;
    for (let i = 0; i < total; i++) spool.append(line(i));
    spool.commit();
    const kept = everything(spool);
    expect(kept.length + dropped).toBe(total);
    expect(dropped).toBeGreaterThan(0);
    expect(kept).toEqual(Array.from({ length: kept.length }, (_, i) => line(i)));
    // Room made by the writer is used again.
    spool.ack(spool.read(0, 10)!);
    spool.append(line(5000));
    spool.commit();
    expect(everything(spool).at(-1)).toBe(line(5000));
    db.close();
  });

  it('when full, never drops rows claimed by the drain: the oldest rows after them go', () => {
    let dropped = 0;
    const { db, spool } = openSpool(tempDbPath(), {
      maxBytes: 35 * line(10).length,
      whenFull: 'drop_oldest',
      onDrop: (n) => (dropped += n),
    });
    for (let i = 0; i < 20; i++) spool.append(line(i));
    spool.commit();
    const inFlight = spool.claim(10)!;
    for (let i = 20; i < 40; i++) spool.append(line(i));
    spool.commit();
    expect(dropped).toBeGreaterThan(0);
    // The claimed lines are all still there, and the drops came right after them.
    const held = everything(spool);
    expect(held.slice(0, 10)).toEqual(inFlight.lines());
    expect(held[10]).toBe(line(10 + dropped));
    expect(held.at(-1)).toBe(line(39));
    expect(held.length + dropped).toBe(40);
    spool.ack(inFlight);
    const rest = everything(spool);
    expect(spool.size()).toEqual({ points: rest.length, bytes: rest.join('').length });
    db.close();
  });

  it('when the drain has claimed over half the spool, drop_oldest drops those rows too and keeps the newest', () => {
    let dropped = 0;
    const { db, spool } = openSpool(tempDbPath(), {
      maxBytes: 10 * line(10).length,
      whenFull: 'drop_oldest',
      onDrop: (n) => (dropped += n),
    });
    for (let i = 0; i < 10; i++) spool.append(line(i));
    spool.commit();
    const inFlight = spool.claim(100)!;
    expect(inFlight.count).toBe(10);
    for (let i = 10; i < 20; i++) spool.append(line(i));
    spool.commit();
    expect(dropped).toBe(10);
    expect(everything(spool)).toEqual([10, 11, 12, 13, 14, 15, 16, 17, 18, 19].map(line));
    spool.ack(inFlight);
    expect(spool.size().points).toBe(10);
    db.close();
  });

  it('keeps its size right when rows of a batch read without claiming were dropped before the ack', () => {
    let dropped = 0;
    const { db, spool } = openSpool(tempDbPath(), {
      maxBytes: 35 * line(10).length,
      whenFull: 'drop_oldest',
      onDrop: (n) => (dropped += n),
    });
    for (let i = 0; i < 20; i++) spool.append(line(i));
    spool.commit();
    const read = spool.read(0, 10)!;
    for (let i = 20; i < 40; i++) spool.append(line(i)); // pushes out some of the batch's lines
    spool.commit();
    expect(dropped).toBeGreaterThan(0);
    expect(dropped).toBeLessThan(10);
    spool.ack(read);
    const rest = everything(spool);
    expect(rest[0]).toBe(line(10));
    expect(spool.size()).toEqual({ points: rest.length, bytes: rest.join('').length });
    db.close();
  });

  it('drops a single line larger than the whole spool, whatever the policy', () => {
    let dropped = 0;
    const { db, spool } = openSpool(tempDbPath(), { maxBytes: 1024, onDrop: (n) => (dropped += n) });
    spool.append(line(1));
    spool.append(`m v="${'x'.repeat(2000)}"`);
    spool.commit();
    expect(dropped).toBe(1);
    expect(everything(spool)).toEqual([line(1)]);
    db.close();
  });

  it('gives back lines holding newlines in string fields exactly, from rows of several lines', () => {
    const { db, spool } = openSpool(tempDbPath(), { linesPerRow: 3 });
    const lines = ['m note="two\nlines" 1', 'm note="" 2', 'm,t=a v=1i 3', 'm note="\n\n" 4', 'm v=5i 5'];
    for (const l of lines) spool.append(l);
    spool.commit();
    expect(everything(spool)).toEqual(lines);
    expect(spool.size()).toEqual({ points: 5, bytes: lines.join('').length });
    db.close();
  });

  it('reads whole rows only: never more than the limit, unless one row alone holds more', () => {
    const { db, spool } = openSpool(tempDbPath(), { linesPerRow: 3 });
    for (let i = 0; i < 7; i++) spool.append(line(i));
    spool.commit(); // rows of 3, 3, 1
    expect(spool.read(0, 5)!.lines()).toEqual([line(0), line(1), line(2)]);
    expect(spool.read(0, 6)!.lines()).toHaveLength(6);
    expect(spool.read(0, 2)!.lines()).toHaveLength(3);
    db.close();
  });

  it('reads a spool written by earlier versions (text rows of one line, then of several), and appends to it', () => {
    const file = tempDbPath();
    const old = new Database(file);
    old.exec('CREATE TABLE spool (id INTEGER PRIMARY KEY, line TEXT NOT NULL)');
    old.prepare('INSERT INTO spool (id, line) VALUES (?, ?), (?, ?)').run(1, line(0), 2, line(1));
    // The next version: several lines a row, joined by newlines, with their lengths.
    old.exec('ALTER TABLE spool ADD COLUMN lengths BLOB');
    const several = ['m note="a\nb" 2', line(3)];
    const lengths = Buffer.alloc(8);
    several.forEach((l, i) => lengths.writeUInt32LE(l.length, i * 4));
    old.prepare('INSERT INTO spool (id, line, lengths) VALUES (?, ?, ?)').run(3, several.join('\n'), lengths);
    old.close();
    const { db, spool } = openSpool(file);
    const before = [line(0), line(1), ...several];
    expect(spool.size()).toEqual({ points: 4, bytes: before.join('').length });
    for (let i = 4; i < 7; i++) spool.append(line(i));
    spool.commit();
    expect(everything(spool)).toEqual([...before, line(4), line(5), line(6)]);
    spool.ack(spool.read(0, 4)!); // rows [0] [1] [2, 3]
    expect(spool.size()).toEqual({ points: 3, bytes: line(4).length + line(5).length + line(6).length });
    db.close();
  });

  it('stores rows compressed, once: a batch is read as the gzip body a writer posts', () => {
    const { db, spool } = openSpool(tempDbPath(), { linesPerRow: 500 });
    const lines = Array.from(
      { length: 1000 },
      (_, i) =>
        `reading,customer=acme,device=sensor-${i % 50},site=lyon-3 temperature_c=${20 + (i % 9) / 10},uptime_s=${i}i ${1_700_000_000_000 + i}`,
    );
    for (const l of lines) spool.append(l);
    spool.commit();
    const stored = db
      .prepare('SELECT COUNT(*) AS rows, SUM(LENGTH(line)) AS bytes, MIN(typeof(line)) AS type FROM spool')
      .get() as { rows: number; bytes: number; type: string };
    expect(stored.rows).toBe(2);
    expect(stored.type).toBe('blob');
    // Line protocol compresses about tenfold; a quarter leaves room for other lines.
    expect(stored.bytes).toBeLessThan(lines.join('\n').length / 4);
    const batch = spool.read(0, 1000)!;
    expect(gunzipSync(batch.gzip).toString()).toBe(lines.join('\n') + '\n');
    expect(spool.size().bytes).toBe(lines.join('').length);
    db.close();
  });

  it("counts a reopened spool's size from the file and refuses appends after close", () => {
    const file = tempDbPath();
    const a = openSpool(file);
    a.spool.append(line(1));
    a.spool.close();
    expect(() => a.spool.append(line(2))).toThrow(/closed/);
    a.db.close();
    const b = openSpool(file);
    expect(b.spool.size().points).toBe(1);
    b.db.close();
  });

  it('packs rows as they fill, but stores, counts and resolves them only at the commit', async () => {
    const file = tempDbPath();
    const { db, spool } = openSpool(file, { commitIntervalMs: 60_000, commitLines: 1000 });
    let committed = false;
    for (let i = 0; i < 5; i++) spool.append(line(i)); // rows of 2, 2, and 1 being filled
    void spool.committed().then(() => (committed = true));
    await new Promise((r) => setImmediate(r));
    expect(committed).toBe(false);
    expect(spool.read(0, 100)).toBeUndefined();
    const other = new Database(file, { readonly: true });
    expect(other.prepare('SELECT COUNT(*) FROM spool').pluck().get()).toBe(0);
    expect(spool.size().points).toBe(5); // waiting, as before: held, not yet stored

    spool.commit();
    await new Promise((r) => setImmediate(r));
    expect(committed).toBe(true);
    expect(other.prepare('SELECT COUNT(*) FROM spool').pluck().get()).toBe(3);
    expect(everything(spool)).toEqual([0, 1, 2, 3, 4].map(line));
    expect(spool.read(0, 2)!.lines()).toEqual([line(0), line(1)]);
    other.close();
    db.close();
  });

  it('a full disk is a state: a failed commit refuses its lines, acks go on, and a probe ends it', async () => {
    const drops: Array<[number, string]> = [];
    const states: boolean[] = [];
    const { db, spool } = openSpool(tempDbPath(), {
      linesPerRow: 100,
      diskProbeMs: 10,
      onDrop: (n, reason) => drops.push([n, reason]),
      onDiskFull: (full) => states.push(full),
    });
    // Random text: it does not compress away, so rows take real pages.
    const big = (i: number) => `m,device=d v="${randomBytes(400).toString('hex')}" ${1_700_000_000_000 + i}`;
    for (let i = 0; i < 1000; i++) spool.append(big(i));
    spool.commit();
    // SQLite's own limit on the file: the next page it needs fails with SQLITE_FULL, as on a full disk.
    db.pragma(`max_page_count = ${db.pragma('page_count', { simple: true }) as number}`);

    for (let i = 0; i < 200; i++) expect(spool.append(big(1000 + i))).toBeUndefined();
    // The commit runs in the spool's timer: it must not throw there, and the waiter learns.
    await expect(spool.committed()).rejects.toBeInstanceOf(PointsRefused);
    expect(spool.diskFull).toBe(true);
    expect(spool.append(big(2000))).toBe('disk_full');
    await expect(spool.committed()).rejects.toThrow(/disk full/);
    expect(drops).toEqual([
      [200, 'disk_full'],
      [1, 'disk_full'],
    ]);
    expect(spool.size().points).toBe(1000);
    expect(states).toEqual([true]);

    // The drain keeps acknowledging: the deleted rows' pages are reused, and the probe ends the state.
    spool.ack(spool.claim(1000)!);
    expect(spool.size().points).toBe(0);
    for (let i = 0; i < 500 && spool.diskFull; i++) await new Promise((r) => setTimeout(r, 10));
    expect(states).toEqual([true, false]);
    for (let i = 0; i < 200; i++) expect(spool.append(big(3000 + i))).toBeUndefined();
    await spool.committed();
    expect(everything(spool)).toHaveLength(200);
    spool.close();
    db.close();
  });

  it('stops at the disk reserve: below it commits are refused as disk_full, until the disk has room', async () => {
    let free = 10 * 1024 ** 2;
    const drops: Array<[number, string]> = [];
    const { db, spool } = openSpool(tempDbPath(), {
      diskReserveBytes: 4 * 1024 ** 2,
      diskFree: () => free,
      diskProbeMs: 10,
      onDrop: (n, reason) => drops.push([n, reason]),
    });
    spool.append(line(1));
    await spool.committed();
    free = 4 * 1024 ** 2 - 1; // below the reserve, and the file has no free pages
    spool.append(line(2));
    await expect(spool.committed()).rejects.toBeInstanceOf(PointsRefused);
    expect(spool.diskFull).toBe(true);
    expect(spool.append(line(3))).toBe('disk_full');
    expect(drops).toEqual([
      [1, 'disk_full'],
      [1, 'disk_full'],
    ]);
    free = 8 * 1024 ** 2;
    for (let i = 0; i < 500 && spool.diskFull; i++) await new Promise((r) => setTimeout(r, 10));
    expect(spool.diskFull).toBe(false);
    spool.append(line(4));
    await spool.committed();
    expect(everything(spool)).toEqual([line(1), line(4)]);
    spool.close();
    db.close();
  });
});
