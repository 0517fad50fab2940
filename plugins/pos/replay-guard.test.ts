import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { ReplayGuard } from './replay-guard.ts';

// A real SQLite file in a temporary directory; time is the `now` each call is given.
const HOUR = 3_600_000;
const T0 = Date.parse('2025-05-01T12:00:00Z');
const dirs: string[] = [];
const openDb = (dir: string) => new Database(join(dir, 'inventory.db'));
const tempDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'fleetpulse-pos-guard-'));
  dirs.push(dir);
  return dir;
};
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('pos replay guard', () => {
  it('forgets ids only once they are older than the retention, per sender', () => {
    const db = openDb(tempDir());
    const guard = new ReplayGuard(db, 24 * HOUR);
    guard.remember('bo-1', ['e1', 'e2'], T0);
    guard.remember('bo-1', ['e3'], T0 + HOUR);
    guard.remember('bo-2', ['e1'], T0 + 2 * HOUR);
    expect(guard.seen('bo-1', 'e1')).toBe(true);
    expect(guard.seen('bo-2', 'e2')).toBe(false); // ids are per back office

    expect(guard.forgetOld(T0 + 24 * HOUR)).toBe(0); // exactly the retention: still kept
    expect(guard.seen('bo-1', 'e1')).toBe(true);
    expect(guard.forgetOld(T0 + 24 * HOUR + 1)).toBe(2);
    expect([
      guard.seen('bo-1', 'e1'),
      guard.seen('bo-1', 'e2'),
      guard.seen('bo-1', 'e3'),
      guard.seen('bo-2', 'e1'),
    ]).toEqual([false, false, true, true]);
    expect(guard.forgetOld(T0 + 26 * HOUR + 1)).toBe(2);
    expect(guard.seen('bo-2', 'e1')).toBe(false);
    db.close();
  });

  it("a replay does not extend an id's retention: it counts from the first delivery", () => {
    const db = openDb(tempDir());
    const guard = new ReplayGuard(db, HOUR);
    guard.remember('bo-1', ['e1'], T0);
    guard.remember('bo-1', ['e1'], T0 + 50 * 60_000);
    expect(guard.forgetOld(T0 + HOUR + 1)).toBe(1);
    db.close();
  });

  it('delivered ids survive a restart (the table lives in the database file)', () => {
    const dir = tempDir();
    const before = openDb(dir);
    new ReplayGuard(before, 24 * HOUR).remember('bo-1', ['e1', 'e2'], T0);
    before.close();

    const after = openDb(dir);
    const guard = new ReplayGuard(after, 24 * HOUR); // CREATE ... IF NOT EXISTS keeps the rows
    expect([guard.seen('bo-1', 'e1'), guard.seen('bo-1', 'e2'), guard.seen('bo-1', 'e3')]).toEqual([true, true, false]);
    // the retention still counts from the first delivery, not from the restart
    expect(guard.forgetOld(T0 + 24 * HOUR + 1)).toBe(2);
    after.close();
  });
});
