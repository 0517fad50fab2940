import { createHmac } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sha256 } from './credentials.ts';
import { fromColumns } from './device-records.ts';
import { DEVICE_COLUMNS } from './device-query.ts';
import { seedOwners, tempInventory } from './testing.ts';

let t: ReturnType<typeof tempInventory>;
beforeEach(() => {
  t = tempInventory({ autoAccept: ['plug'] });
  seedOwners(t.inventory);
});
afterEach(() => t.cleanup());

describe('device directory', () => {
  it('records an unknown device as pending, and an auto-accepted kind as active', async () => {
    const dir = t.inventory.directory;
    expect(dir.lookup('CP-NEW')).toBeUndefined();
    const rec = await dir.discover('CP-NEW', { kind: 'charger', model: 'Wallbox Pulsar', firmware: '5.1' });
    expect(rec).toMatchObject({ id: 'CP-NEW', kind: 'charger', lifecycle: 'pending', model: 'Wallbox Pulsar' });
    expect(t.inventory.devices.list({ limit: 10, lifecycle: 'pending' }).items.map((d) => d.id)).toEqual(['CP-NEW']);
    expect(t.inventory.devices.get('CP-NEW')?.first_seen).toBeTypeOf('number');
    expect([...dir.all()].map((d) => d.id)).not.toContain('CP-NEW');
    expect(await dir.authenticate('CP-NEW', { type: 'ocpp_password', secret: 'x' })).toEqual({
      ok: false,
      reason: 'pending',
    });

    expect(await dir.discover('PLUG-1', { kind: 'plug' })).toMatchObject({ lifecycle: 'active' });
    expect([...dir.all()].map((d) => d.id)).toContain('PLUG-1');

    t.inventory.devices.approve('CP-NEW');
    expect(dir.lookup('CP-NEW')?.lifecycle).toBe('active');
    expect([...dir.all()].map((d) => d.id)).toContain('CP-NEW');
  });

  it('a secret issued beside the current one works with it until the others are retired', async () => {
    const dir = t.inventory.directory;
    await dir.discover('CP-ROT', { kind: 'charger' });
    t.inventory.devices.approve('CP-ROT');
    const old = t.inventory.credentials.issue('CP-ROT', 'ocpp_password');
    const fresh = await dir.issueSecret('CP-ROT', 'ocpp_password');
    expect(fresh.secret).toMatch(/^[A-Za-z0-9]{20}$/);
    const withOld = await dir.authenticate('CP-ROT', { type: 'ocpp_password', secret: old.secret });
    expect(withOld).toMatchObject({ ok: true, credential: old.id });
    const withNew = await dir.authenticate('CP-ROT', { type: 'ocpp_password', secret: fresh.secret });
    expect(withNew).toMatchObject({ ok: true, credential: fresh.credential });
    await dir.retireOthers('CP-ROT', 'ocpp_password', fresh.credential);
    expect(await dir.authenticate('CP-ROT', { type: 'ocpp_password', secret: old.secret })).toMatchObject({
      ok: false,
      reason: 'bad_secret',
    });
    expect(await dir.authenticate('CP-ROT', { type: 'ocpp_password', secret: fresh.secret })).toMatchObject({
      ok: true,
    });
    await dir.revokeCredential('CP-ROT', fresh.credential);
    expect(await dir.authenticate('CP-ROT', { type: 'ocpp_password', secret: fresh.secret })).toMatchObject({
      reason: 'no_credential',
    });
  });

  it('refuses an unknown id that breaks the device id rule at every door, auto-accepted kinds too', async () => {
    for (const id of ['', 'has space', 'tab\there', 'trailing\\', '-dash', 'x'.repeat(65)]) {
      await expect(t.inventory.directory.discover(id, { kind: 'plug' }), JSON.stringify(id)).rejects.toMatchObject({
        name: 'DiscoveryRefused',
        reason: 'bad_id',
      });
    }
    expect(t.inventory.devices.list({ limit: 10 }).items).toEqual([]);
    expect(await t.inventory.directory.discover('OK.id:1', { kind: 'plug' })).toMatchObject({ lifecycle: 'active' });
  });

  it('takes what a known device reports about itself, and keeps its kind', async () => {
    t.inventory.devices.create({ id: 'CP-1', kind: 'charger', firmware: '1.0', site: 'volt-lyon' });
    const rec = await t.inventory.directory.discover('CP-1', { kind: 'pc', firmware: '1.1', gateway: 'AG-9' });
    expect(rec).toMatchObject({
      kind: 'charger',
      firmware: '1.1',
      gateway: 'AG-9',
      customer: 'volt',
      site: 'volt-lyon',
    });
    const before = t.inventory.devices.get('CP-1')!.updated_at;
    await t.inventory.directory.discover('CP-1', { kind: 'charger', firmware: '1.1' });
    expect(t.inventory.devices.get('CP-1')!.updated_at).toBe(before);
  });

  it('rejects a revoked credential at once, and an old secret after rotation', async () => {
    const inv = t.inventory;
    inv.devices.create({ id: 'CP-1', kind: 'charger' });
    const auth = (secret: string) => inv.directory.authenticate('CP-1', { type: 'ocpp_password', secret });
    expect(await auth('anything')).toEqual({ ok: false, reason: 'no_credential' });

    const a = inv.credentials.issue('CP-1', 'ocpp_password');
    expect(a.secret).toMatch(/^[A-Za-z0-9]{20}$/);
    const b = inv.credentials.issue('CP-1', 'ocpp_password');
    expect(await auth(a.secret)).toMatchObject({ ok: true, device: { id: 'CP-1' } });
    expect(await auth(b.secret)).toMatchObject({ ok: true });
    expect(await auth(a.secret + 'x')).toEqual({ ok: false, reason: 'bad_secret' });
    expect(await inv.directory.authenticate('CP-1', { type: 'agent_token', secret: a.secret })).toEqual({
      ok: false,
      reason: 'no_credential',
    });

    inv.credentials.revoke('CP-1', a.id);
    expect(await auth(a.secret)).toEqual({ ok: false, reason: 'bad_secret' });
    expect(await auth(b.secret)).toMatchObject({ ok: true });

    const rotated = inv.credentials.rotate('CP-1', b.id);
    expect(rotated.secret).not.toBe(b.secret);
    expect(await auth(b.secret)).toEqual({ ok: false, reason: 'bad_secret' });
    expect(await auth(rotated.secret)).toMatchObject({ ok: true });
    inv.credentials.revoke('CP-1', b.id);
    expect(await auth(rotated.secret)).toEqual({ ok: false, reason: 'no_credential' });
    expect(inv.credentials.list('CP-1').map((c) => c.revoked_at !== null)).toEqual([true, true]);

    inv.devices.update('CP-1', { lifecycle: 'retired' });
    expect(await auth(rotated.secret)).toEqual({ ok: false, reason: 'retired' });
    expect(await inv.directory.authenticate('NOPE', { type: 'ocpp_password', secret: 'x' })).toEqual({
      ok: false,
      reason: 'unknown_device',
    });
  });

  it('stores tokens as sha256 only, and seals HMAC keys so the POS plugin can verify signatures', async () => {
    const inv = t.inventory;
    inv.devices.create({ id: 'POS-1', kind: 'pos' });
    const token = inv.credentials.issue('POS-1', 'agent_token');
    expect(token.secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const stored = inv.db.prepare('SELECT scheme, material FROM credentials WHERE id = ?').get(token.id) as {
      scheme: string;
      material: Buffer;
    };
    expect(stored.scheme).toBe('sha256');
    expect(stored.material.equals(sha256(token.secret))).toBe(true);

    const hmac = inv.credentials.issue('POS-1', 'pos_hmac');
    const sealed = inv.db.prepare('SELECT scheme, material FROM credentials WHERE id = ?').get(hmac.id) as {
      scheme: string;
      material: Buffer;
    };
    expect(sealed.scheme).toBe('sealed');
    expect(sealed.material.includes(Buffer.from(hmac.secret))).toBe(false);

    const body = '{"event":"order.paid"}';
    const signature = createHmac('sha256', hmac.secret).update(body).digest('hex');
    const verify = (sig: string) => (key: Buffer) => createHmac('sha256', key).update(body).digest('hex') === sig;
    expect(await inv.directory.authenticate('POS-1', { type: 'pos_hmac', verify: verify(signature) })).toMatchObject({
      ok: true,
    });
    expect(await inv.directory.authenticate('POS-1', { type: 'pos_hmac', verify: verify('00') })).toEqual({
      ok: false,
      reason: 'bad_secret',
    });
    const throwing = () => {
      throw new Error('malformed header');
    };
    expect(await inv.directory.authenticate('POS-1', { type: 'pos_hmac', verify: throwing })).toEqual({
      ok: false,
      reason: 'bad_secret',
    });
    // a sealed row copied onto another credential does not open there
    const other = inv.credentials.issue('POS-1', 'pos_hmac');
    inv.db.prepare('UPDATE credentials SET material = ? WHERE id = ?').run(sealed.material, other.id);
    inv.credentials.revoke('POS-1', hmac.id);
    expect(() => inv.credentials.check('POS-1', { type: 'pos_hmac', verify: verify(signature) })).toThrow();
  });

  it('keeps live state and last_seen from the runtime, written in batches', async () => {
    const inv = t.inventory;
    inv.devices.create({ id: 'TC-1', kind: 'terminal' });
    inv.directory.reportStatus('TC-1', 'online', 5_000);
    inv.directory.reportStatus('TC-1', 'offline', 9_000);
    inv.directory.reportStatus('GHOST', 'online', 9_000);
    expect(inv.devices.get('TC-1')).toMatchObject({ state: 'offline', last_seen: 9_000, first_seen: 9_000 });
    expect(inv.devices.list({ limit: 10, state: 'offline' }).items).toEqual([
      expect.objectContaining({ id: 'TC-1', state: 'offline', last_seen: 9_000 }),
    ]);
    inv.directory.reportStatus('TC-1', 'online', 7_000);
    await new Promise((resolve) => setImmediate(resolve));
    const raw = inv.db.prepare('SELECT state, last_seen FROM devices WHERE id = ?').get('TC-1');
    expect(raw).toEqual({ state: 'online', last_seen: 9_000 });
    expect(inv.devices.list({ limit: 10 }).items[0]).toMatchObject({ state: 'online', last_seen: 9_000 });
    expect(Object.isFrozen(inv.devices.get('TC-1'))).toBe(true);
  });

  it('after status writes the cached devices are the rows SQLite holds; the runtime records stay the same', async () => {
    const inv = t.inventory;
    for (const id of ['TC-NEVER', 'TC-BACK', 'TC-GONE']) inv.devices.create({ id, kind: 'terminal' });
    const record = inv.directory.lookup('TC-BACK');
    inv.directory.reportStatus('TC-NEVER', 'offline', 0);
    inv.directory.reportStatus('TC-BACK', 'online', 5_000);
    inv.directory.reportStatus('TC-GONE', 'online', 4_000);
    await new Promise((resolve) => setImmediate(resolve));
    // An older report after a newer one keeps last_seen; first_seen stays the first.
    inv.directory.reportStatus('TC-BACK', 'error', 3_000);
    inv.directory.reportStatus('TC-GONE', 'offline', 8_000);
    await new Promise((resolve) => setImmediate(resolve));
    const rows = (
      inv.db.prepare(`SELECT ${DEVICE_COLUMNS}, d.seq FROM devices d ORDER BY d.seq`).raw(true).all() as unknown[][]
    ).map(fromColumns);
    expect(rows.map((d) => [d.id, d.state, d.first_seen, d.last_seen])).toEqual([
      ['TC-NEVER', 'offline', 0, 0],
      ['TC-BACK', 'error', 5_000, 5_000],
      ['TC-GONE', 'offline', 4_000, 8_000],
    ]);
    for (const row of rows) expect(inv.devices.get(row.id)).toEqual(row);
    // A text search takes its rows from the cache by rowid.
    expect(inv.devices.list({ limit: 10, q: 'TC-' }).items).toEqual(expect.arrayContaining(rows));
    // Liveness groups devices by their record's identity (dependency-index.ts): live state is not in it.
    expect(inv.directory.lookup('TC-BACK')).toBe(record);
  });

  it('answers lookups from memory and sees every write', () => {
    const inv = t.inventory;
    inv.devices.create({ id: 'TC-1', kind: 'terminal' });
    expect(inv.directory.lookup('TC-1')?.site).toBeUndefined();
    inv.devices.update('TC-1', { site: 'acme-berlin', model: 'TC-200' });
    expect(inv.directory.lookup('TC-1')).toEqual({
      id: 'TC-1',
      kind: 'terminal',
      lifecycle: 'active',
      customer: 'acme',
      contract: 'premium',
      site: 'acme-berlin',
      model: 'TC-200',
    });
    // From memory: a change behind the store's back (raw SQL) is not seen by a lookup.
    inv.db.prepare("UPDATE devices SET model = 'raw' WHERE id = 'TC-1'").run();
    expect(inv.directory.lookup('TC-1')?.model).toBe('TC-200');
    inv.devices.delete('TC-1');
    expect(inv.directory.lookup('TC-1')).toBeUndefined();
  });
});
