import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { migrate } from './migrations.ts';
import { ReportParts } from './report-parts.ts';

/** Report parts on a real SQLite database with the plugin's migrations. */
function parts() {
  const db = new Database(':memory:');
  migrate(db);
  const completed: unknown[][] = [];
  const store = new ReportParts(db);
  const add = (seqNo: number, tbc: boolean, data: string[], now = 1_000, requestId = 7) =>
    store.add('CP-1', 'report', requestId, seqNo, tbc, data, now, (d) => completed.push(d));
  const pending = () => db.prepare('SELECT COUNT(*) FROM ocpp_report_parts').pluck().get();
  return { add, completed, pending };
}

describe('report parts', () => {
  it('completes once every seqNo up to the last is in, in any order, and a resent part counts once', () => {
    const p = parts();
    expect(p.add(1, true, ['b'])).toBe(false);
    expect(p.add(1, true, ['b'])).toBe(false);
    expect(p.add(2, false, ['c'])).toBe(false);
    expect(p.completed).toEqual([]);
    expect(p.add(0, true, ['a'])).toBe(true);
    expect(p.completed).toEqual([['a', 'b', 'c']]);
    expect(p.pending()).toBe(0);
  });

  it('drops the parts of a report still incomplete after a day', () => {
    const p = parts();
    p.add(0, true, ['old'], 1_000, 1);
    expect(p.pending()).toBe(1);
    p.add(0, true, ['new'], 1_000 + 86_400_001, 2);
    expect(p.pending()).toBe(1);
    // The stale report's last part alone completes nothing: its first part is gone.
    expect(p.add(1, false, ['late'], 1_000 + 86_400_002, 1)).toBe(false);
  });
});
