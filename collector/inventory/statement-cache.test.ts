import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { StatementCache } from './statement-cache.ts';

describe('StatementCache', () => {
  const db = new Database(':memory:');
  db.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO t (name) VALUES ('a'), ('b')");
  afterAll(() => db.close());

  it('prepares a SQL text once, and keeps plucked and whole-row statements apart', () => {
    const cache = new StatementCache(db);
    const sql = 'SELECT name, id FROM t ORDER BY id';
    const rows = cache.get(sql);
    expect(cache.get(sql)).toBe(rows);
    expect(cache.get(sql, { pluck: true })).toBe(cache.get(sql, { pluck: true }));
    expect(cache.get(sql, { pluck: true })).not.toBe(rows);
    expect(rows.all()).toEqual([
      { name: 'a', id: 1 },
      { name: 'b', id: 2 },
    ]);
    expect(cache.get(sql, { pluck: true }).all()).toEqual(['a', 'b']);
  });

  it('starts again past its size, so that built SQL cannot grow it without bound', () => {
    const cache = new StatementCache(db, 2);
    const first = cache.get('SELECT 1');
    cache.get('SELECT 2');
    expect(cache.get('SELECT 1')).toBe(first);
    cache.get('SELECT 3');
    expect(cache.get('SELECT 1')).not.toBe(first);
  });
});
