import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { INVENTORY_HISTORY, pruneHistory } from './history.ts';
import { tempInventory } from './testing.ts';

const DAY = 86_400_000;
const NOW = Date.UTC(2026, 11, 7);
let t: ReturnType<typeof tempInventory>;

beforeEach(() => {
  t = tempInventory();
});
afterEach(() => t.cleanup());

function seed(): void {
  const db = t.inventory.db;
  const audit = db.prepare("INSERT INTO audit (at, action, result) VALUES (?, 'x', 'ok')");
  for (let i = 0; i < 1200; i++) audit.run(NOW - 400 * DAY + i); // old: three batches' worth
  audit.run(NOW - 10 * DAY);
  const command = db.prepare(
    "INSERT INTO commands (id, device, kind, name, params, status, source, created_at, expires_at, ended_at) VALUES (?, 'd', 'pc', 'lock', '{}', ?, 'api', ?, ?, ?)",
  );
  command.run('old-done', 'succeeded', NOW - 500 * DAY, NOW, NOW - 400 * DAY);
  command.run('old-queued', 'queued', NOW - 500 * DAY, NOW + DAY, null);
  command.run('new-done', 'failed', NOW - 20 * DAY, NOW, NOW - 20 * DAY);
  const incident = db.prepare(
    "INSERT INTO incidents (fingerprint, starts_at, rule, severity, labels, status, resolved_at, created_at, updated_at) VALUES (?, 0, 'r', 'critical', '{}', ?, ?, 0, 0)",
  );
  const resolved = incident.run('old-resolved', 'resolved', NOW - 400 * DAY).lastInsertRowid;
  db.prepare("INSERT INTO incident_events (incident_id, at, type) VALUES (?, 0, 'opened')").run(resolved);
  // An incident open for over a year is still open: never history.
  incident.run('old-open', 'open', null);
}

describe('history retention', () => {
  it('deletes ended history older than the cut-off in batches, with its children, and keeps the rest', async () => {
    seed();
    const deleted = await pruneHistory(t.inventory.db, INVENTORY_HISTORY, NOW - 365 * DAY);
    expect(deleted).toMatchObject({ audit: 1200, commands: 1, incidents: 1, rollouts: 0, recovery_attempts: 0 });
    const db = t.inventory.db;
    expect(db.prepare('SELECT count(*) FROM audit').pluck().get()).toBe(1);
    expect(db.prepare('SELECT id FROM commands ORDER BY id').pluck().all()).toEqual(['new-done', 'old-queued']);
    expect(db.prepare('SELECT fingerprint FROM incidents').pluck().all()).toEqual(['old-open']);
    expect(db.prepare('SELECT count(*) FROM incident_events').pluck().get()).toBe(0);
  });

  it('passes over history tables that do not exist yet (timed sessions are created by their scheduler)', async () => {
    expect(await pruneHistory(t.inventory.db, INVENTORY_HISTORY, NOW)).not.toHaveProperty('sessions');
  });

  it('finds each batch from an index, not by scanning the table', () => {
    for (const { table, at, ended } of INVENTORY_HISTORY.filter((h) => h.table !== 'sessions')) {
      const plan = t.inventory.db
        .prepare(
          `EXPLAIN QUERY PLAN SELECT rowid FROM ${table} WHERE ${at} < ?${ended ? ` AND ${ended}` : ''} LIMIT 500`,
        )
        .all(NOW)
        .map((r) => (r as { detail: string }).detail)
        .join('; ');
      expect(plan, table).toMatch(/USING (COVERING )?INDEX|INTEGER PRIMARY KEY/);
    }
  });
});
