import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { validatePluginConfig } from '../../collector/runtime/plugin-config.ts';
import { TestAccumulator } from '../../collector/sdk/testing.ts';
import host from './index.ts';
import { StationSession } from './station-session.ts';

// The station's local copy under the SDK's TestAccumulator (a moved clock, a real SQLite file in
// memory); the enforcement arm records what it was asked and fails on demand.
function setUp(db = new Database(':memory:')) {
  const acc = new TestAccumulator(host, validatePluginConfig(host, 'host', {}), { db });
  const done: string[] = [];
  let failWith: string | undefined;
  const session = new StationSession(acc.context, 'pc-1', async (action) => {
    if (failWith) throw new Error(failWith);
    done.push(action);
  });
  const events = () => acc.of('host_session').map((p) => p.fields.event);
  return { acc, db, session, done, events, fail: (m: string | undefined) => (failWith = m) };
}

describe('StationSession (the agent’s copy of a timed session)', () => {
  it('enforces at the end once, keeps the enforced end for session_status, and a re-sent end does not lock again', async () => {
    const { acc, session, done, events } = setUp();
    const endsAt = acc.now + 60_000;
    expect(session.set(endsAt, 'lock')).toEqual({
      state: 'active',
      ends_at_ms: endsAt,
      action: 'lock',
      enforced_at_ms: null,
      error: null,
    });
    await session.check();
    expect(done).toEqual([]);
    acc.now = endsAt;
    await session.check();
    expect(done).toEqual(['lock']);
    expect(session.status()).toEqual({
      state: 'enforced',
      ends_at_ms: endsAt,
      action: 'lock',
      enforced_at_ms: endsAt,
      error: null,
    });
    expect(session.current()).toBeUndefined();
    // The server re-sends the same end after a reconnect: nothing happens twice.
    expect(session.set(endsAt, 'lock')).toMatchObject({ state: 'enforced' });
    await session.check();
    expect(done).toEqual(['lock']);
    // A new end (the next customer) is a new session.
    session.set(endsAt + 60_000, 'log_off');
    acc.now += 60_000;
    await session.check();
    expect(done).toEqual(['lock', 'log_off']);
    expect(events()).toEqual(['set', 'enforced', 'set', 'enforced']);
  });

  it('keeps a failed enforcement as the error, retries after 30 s, and clears the error once it worked', async () => {
    const { acc, session, done, events, fail } = setUp();
    const endsAt = acc.now;
    fail('screen locker missing');
    session.set(endsAt, 'lock');
    await session.check();
    expect(session.status()).toMatchObject({ state: 'active', error: 'screen locker missing' });
    expect(acc.events.get('enforce_failed')).toBe(1);
    fail(undefined);
    acc.now += 29_000;
    await session.check();
    expect(done).toEqual([]); // not before the retry delay
    acc.now += 1_000;
    await session.check();
    expect(done).toEqual(['lock']);
    expect(session.status()).toMatchObject({ state: 'enforced', error: null, enforced_at_ms: acc.now });
    expect(events()).toEqual(['set', 'enforce_failed', 'enforced']);
  });

  it('forgets a cleared session (stopped: no lock later), and reports none', async () => {
    const { acc, session, done, events } = setUp();
    session.set(acc.now + 1000, 'lock');
    expect(session.clear()).toBe(true);
    expect(session.clear()).toBe(false);
    acc.now += 5000;
    await session.check();
    expect(done).toEqual([]);
    expect(session.status()).toEqual({ state: 'none' });
    expect(events()).toEqual(['set', 'cleared']);
  });

  it('an agent upgraded in place keeps the session it held (older table without the new columns)', async () => {
    const db = new Database(':memory:');
    db.exec('CREATE TABLE host_sessions (device TEXT PRIMARY KEY, ends_at INTEGER NOT NULL, action TEXT NOT NULL)');
    db.prepare('INSERT INTO host_sessions VALUES (?, ?, ?)').run('pc-1', 1000, 'lock');
    const { acc, session, done } = setUp(db);
    expect(session.status()).toEqual({
      state: 'active',
      ends_at_ms: 1000,
      action: 'lock',
      enforced_at_ms: null,
      error: null,
    });
    acc.now = Math.max(acc.now, 1000);
    await session.check();
    expect(done).toEqual(['lock']);
  });
});
