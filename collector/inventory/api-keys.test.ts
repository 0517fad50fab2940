import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ApiKeys } from './api-keys.ts';
import { tempInventory } from './testing.ts';

let t: ReturnType<typeof tempInventory>;
beforeEach(() => {
  t = tempInventory();
});
afterEach(() => t.cleanup());

describe('api keys', () => {
  it('shows a generated key once and keeps only its hash', () => {
    const created = t.inventory.apiKeys.create({ name: 'ops', role: 'operator' });
    expect(created.key).toMatch(/^fpk_[a-z2-7]{8}_[A-Za-z0-9_-]{43}$/);
    const row = t.inventory.db.prepare('SELECT * FROM api_keys').get() as Record<string, unknown>;
    expect(JSON.stringify(row)).not.toContain(created.key.slice(13));
    expect(t.inventory.apiKeys.list()[0]).not.toHaveProperty('key');
    expect(t.inventory.apiKeys.verify(created.key)).toMatchObject({ id: created.id, role: 'operator' });
    expect(t.inventory.apiKeys.verify(created.key.slice(0, -1) + (created.key.endsWith('A') ? 'B' : 'A'))).toBeNull();
    expect(t.inventory.apiKeys.verify('not-a-key')).toBeNull();
  });

  it('revokes at once', async () => {
    const created = t.inventory.apiKeys.create({ name: 'ops', role: 'admin' });
    t.inventory.apiKeys.revoke(created.id);
    expect(t.inventory.apiKeys.verify(created.key)).toBeNull();
    expect(() => t.inventory.apiKeys.revoke(created.id)).toThrow(/already revoked/);
  });

  it('keeps an operator-chosen key with scrypt, and checks requests against the value admitted at start', async () => {
    const keys = t.inventory.apiKeys;
    const info = await keys.createWithValue({
      name: 'bootstrap',
      role: 'admin',
      value: 'correct horse battery staple',
      createdBy: 'env',
    });
    const row = t.inventory.db.prepare('SELECT scheme, salt FROM api_keys WHERE id = ?').get(info.id) as {
      scheme: string;
      salt: Buffer;
    };
    expect(row.scheme).toBe('scrypt');
    expect(row.salt).toHaveLength(16);
    expect(keys.verify('correct horse battery staple')).toMatchObject({ id: info.id, role: 'admin' });
    expect(keys.verify('wrong horse')).toBeNull();

    // another process over the same file: refused until the value is admitted (one scrypt)
    const restarted = new ApiKeys(t.inventory.db, Date.now);
    expect(restarted.verify('correct horse battery staple')).toBeNull();
    expect(restarted.unadmittedChosen()).toBe(1);
    expect(await restarted.admitChosen('wrong horse')).toBeNull();
    expect(await restarted.admitChosen('correct horse battery staple')).toMatchObject({ id: info.id });
    expect(restarted.verify('correct horse battery staple')).toMatchObject({ id: info.id });
    expect(restarted.unadmittedChosen()).toBe(0);

    keys.revoke(info.id);
    expect(keys.verify('correct horse battery staple')).toBeNull();
    expect(restarted.verify('correct horse battery staple')).toBeNull();
    expect(await restarted.admitChosen('correct horse battery staple')).toBeNull();
    expect(keys.verify('anything else')).toBeNull();
  });

  it('refuses unknown roles and empty names', () => {
    expect(() => t.inventory.apiKeys.create({ name: ' ', role: 'admin' })).toThrow(/name/);
    expect(() => t.inventory.apiKeys.create({ name: 'x', role: 'root' as never })).toThrow(
      /role must be one of viewer, support, operator, admin/,
    );
  });
});

describe('audit log', () => {
  it('filters by time, actor (id or name) and target, newest first, in pages', () => {
    const audit = t.inventory.audit;
    for (let i = 0; i < 10; i++) {
      audit.record({
        at: 1000 + i,
        actor: i % 2 ? 'k1' : 'k2',
        actor_name: i % 2 ? 'ops' : 'noc',
        role: 'admin',
        action: 'devices.update',
        target: `D-${i % 3}`,
        method: 'PATCH',
        path: `/api/v1/devices/D-${i % 3}`,
        status: 200,
        result: 'ok',
        source: '10.0.0.1',
        details: i === 0 ? { fields: ['site'] } : null,
      });
    }
    expect(audit.list({ limit: 3 }).items.map((e) => e.at)).toEqual([1009, 1008, 1007]);
    expect(audit.list({ limit: 100, from: 1003, to: 1006 }).items.map((e) => e.at)).toEqual([1005, 1004, 1003]);
    expect(audit.list({ limit: 100, actor: 'ops' }).items.every((e) => e.actor === 'k1')).toBe(true);
    expect(audit.list({ limit: 100, actor: 'k2' }).items).toHaveLength(5);
    expect(audit.list({ limit: 100, target: 'D-0' }).items.map((e) => e.at)).toEqual([1009, 1006, 1003, 1000]);
    expect(audit.list({ limit: 100, target: 'D-0' }).items.at(-1)?.details).toEqual({ fields: ['site'] });
    const first = audit.list({ limit: 4 });
    expect(first.more).toBe(true);
    const second = audit.list({ limit: 4, before: first.items.at(-1)!.id });
    expect(second.items.map((e) => e.at)).toEqual([1005, 1004, 1003, 1002]);
  });
});
