import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryDirectory } from '../../collector/sdk/index.ts';
import { ChargerAuthority } from './simulated-auth.ts';
import { boot16, boot201, eventually, startRig, token, type Rig } from './testing.ts';

/**
 * Local authorization lists end to end: real ocpp-rpc chargers (strict mode) of both versions
 * keep what they are sent, as charge points do, and authorize from it once their uplink is down.
 * `local_list: auto`: a list at each accepted boot and a differential one after id-tag changes.
 */
const directory = new MemoryDirectory()
  .add({ id: 'LL16', kind: 'charger', customer: 'acme', site: 'acme-hq' }, { type: 'ocpp_password', value: 'p16' })
  .add({ id: 'LL201', kind: 'charger', customer: 'acme', site: 'acme-hq' }, { type: 'ocpp_password', value: 'p201' });
let rig: Rig;
const putTag = async (id: string, body: object) => {
  const res = await fetch(`${rig.url}/api/v1/id-tags/${id}`, {
    method: 'PUT',
    headers: { authorization: token('admin'), 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  expect(res.status).toBe(200);
};
const run = (id: string, name: string, params: object = {}) =>
  rig.collector.bus.dispatch(id, { name, params, timeout_s: 5 });

beforeAll(async () => {
  rig = await startRig(directory, { local_list: 'auto' });
  await putTag('ACME-1', { status: 'accepted', customer: 'acme' });
  await putTag('ACME-2', {
    status: 'accepted',
    customer: 'acme',
    expires_at: '2031-01-01T00:00:00.000Z',
    parent_id_tag: 'ACME-GROUP',
  });
  await putTag('FLEET', { status: 'accepted' });
  await putTag('GLOBEX-1', { status: 'accepted', customer: 'globex' });
});
afterAll(() => rig?.stop());

/** The customer's id tags as the list must hold them (GLOBEX-1 is another customer's). */
const acmeList = (acme1: string) =>
  new Map([
    ['ACME-1', { status: acme1 }],
    ['ACME-2', { status: 'Accepted', expiry: '2031-01-01T00:00:00.000Z', parent: 'ACME-GROUP' }],
    ['FLEET', { status: 'Accepted' }],
  ]);

describe('local authorization list', () => {
  it('1.6: pushed at boot and on demand, updated differentially after a block, used offline', async () => {
    const cp = await rig.charger('LL16', 'ocpp1.6', { password: 'p16' });
    const charger = new ChargerAuthority('ocpp1.6');
    charger.serve(cp);
    await cp.call('BootNotification', boot16);
    expect(await eventually(() => charger.version === 1)).toBe(true);
    expect(charger.list).toEqual(acmeList('Accepted'));
    expect(charger.received[0]).toMatchObject({ updateType: 'Full', listVersion: 1 });

    expect(await run('LL16', 'send_local_list', { update: 'full' })).toMatchObject({
      status: 'succeeded',
      result: { status: 'Accepted', version: 2, entries: 3 },
    });
    expect(charger.version).toBe(2);
    expect(await run('LL16', 'get_local_list_version')).toMatchObject({
      status: 'succeeded',
      result: { version: 2, pushed_version: 2, in_sync: true },
    });

    await putTag('ACME-1', { status: 'blocked', customer: 'acme' });
    expect(await eventually(() => charger.version === 3)).toBe(true);
    // Only the change travels: the blocked tag, nothing else.
    expect(charger.received.at(-1)).toEqual({
      listVersion: 3,
      updateType: 'Differential',
      localAuthorizationList: [{ idTag: 'ACME-1', idTagInfo: { status: 'Blocked' } }],
    });
    expect(charger.list).toEqual(acmeList('Blocked'));

    await cp.close({ force: true }); // uplink down: the charger decides alone
    expect(charger.authorizeOffline('acme-1')).toBe('Blocked');
    expect(charger.authorizeOffline('ACME-2')).toBe('Accepted');
    expect(charger.authorizeOffline('FLEET')).toBe('Accepted');
    expect(charger.authorizeOffline('GLOBEX-1')).toBe('Invalid');
  });

  it('2.0.1: idToken types and group id tokens; explicit lists, removals, a charger out of step', async () => {
    const cp = await rig.charger('LL201', 'ocpp2.0.1', { password: 'p201' });
    const charger = new ChargerAuthority('ocpp2.0.1');
    charger.serve(cp);
    await cp.call('BootNotification', boot201);
    expect(await eventually(() => charger.version === 1)).toBe(true);
    expect(charger.received[0].localAuthorizationList).toContainEqual({
      idToken: { idToken: 'ACME-2', type: 'ISO14443' },
      idTokenInfo: {
        status: 'Accepted',
        cacheExpiryDateTime: '2031-01-01T00:00:00.000Z',
        groupIdToken: { idToken: 'ACME-GROUP', type: 'Central' },
      },
    });

    const explicit = await run('LL201', 'send_local_list', {
      update: 'full',
      id_tags: [
        { id_tag: 'PIN-0042', type: 'KeyCode', parent_id_tag: 'DEPOT' },
        { id_tag: 'CARD-7', status: 'Blocked' },
      ],
    });
    expect(explicit).toMatchObject({ status: 'succeeded', result: { version: 2, entries: 2 } });
    expect(charger.list).toEqual(
      new Map([
        ['PIN-0042', { status: 'Accepted', parent: 'DEPOT', type: 'KeyCode' }],
        ['CARD-7', { status: 'Blocked', type: 'ISO14443' }],
      ]),
    );

    const removal = await run('LL201', 'send_local_list', {
      update: 'differential',
      id_tags: [],
      remove: ['PIN-0042'],
    });
    expect(removal).toMatchObject({ status: 'succeeded', result: { version: 3, entries: 1 } });
    expect(charger.received.at(-1)).toEqual({
      versionNumber: 3,
      updateType: 'Differential',
      localAuthorizationList: [{ idToken: { idToken: 'PIN-0042', type: 'KeyCode' } }],
    });
    expect([...charger.list.keys()]).toEqual(['CARD-7']);

    // A charger that lost its list (factory reset) says so; a differential update is refused.
    charger.version = 7;
    expect(await run('LL201', 'get_local_list_version')).toMatchObject({
      result: { version: 7, pushed_version: 3, in_sync: false },
    });
    expect(await run('LL201', 'send_local_list', { update: 'differential', id_tags: [] })).toMatchObject({
      status: 'rejected',
      error: expect.stringContaining('VersionMismatch'),
    });
    expect(await run('LL201', 'get_local_list_version')).toMatchObject({ result: { pushed_version: 3 } });
  });

  it('an id token type not in IdTokenEnumType is refused with every allowed one, before sending', async () => {
    const cp = await rig.charger('LL201', 'ocpp2.0.1', { password: 'p201' });
    const charger = new ChargerAuthority('ocpp2.0.1');
    charger.serve(cp);
    await expect(
      run('LL201', 'send_local_list', { update: 'full', id_tags: [{ id_tag: 'X', type: 'Barcode' }] }),
    ).rejects.toThrow(
      'parameter "id_tags.0.type" must be one of "Central", "eMAID", "ISO14443", "ISO15693", "KeyCode", "Local", "MacAddress"',
    );
    expect(charger.received).toEqual([]);
  });
});
