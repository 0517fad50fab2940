import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryDirectory } from '../../collector/sdk/index.ts';
import { startRig, token, type Rig } from './testing.ts';

/**
 * Display messages (2.0.1) through `POST /api/v1/commands` to a real strict-mode ocpp-rpc
 * charger, the NotifyDisplayMessages report it sends back, and what the API lists.
 */
const directory = new MemoryDirectory()
  .add({ id: 'DM16', kind: 'charger' }, { type: 'ocpp_password', value: 'p16' })
  .add({ id: 'DM201', kind: 'charger' }, { type: 'ocpp_password', value: 'p201' });
let rig: Rig;
beforeAll(async () => {
  rig = await startRig(directory, {}, 5, { commands: true });
});
afterAll(() => rig?.stop());

const listed = async (id: string) =>
  (await (
    await fetch(`${rig.url}/api/v1/chargers/${id}/display-messages`, { headers: { authorization: token('viewer') } })
  ).json()) as { messages: Array<Record<string, unknown>> };

describe('display messages', () => {
  it('set, get (answered by NotifyDisplayMessages in parts) and clear, each kept in what the API lists', async () => {
    const cp = await rig.charger('DM201', 'ocpp2.0.1', { password: 'p201' });
    const calls: Array<{ action: string; params: any }> = [];
    cp.handle((async ({ method, params }: { method: string; params: any }) => {
      calls.push({ action: method, params });
      if (method === 'ClearDisplayMessage') return { status: params.id === 9 ? 'Unknown' : 'Accepted' };
      return { status: 'Accepted' };
    }) as never);
    const set = await rig.command('DM201', 'set_display_message', {
      id: 1,
      priority: 'always_front',
      message: { content: 'Welcome', language: 'en' },
      state: 'idle',
      end_at: '2030-01-01T00:00:00Z',
      evse: 2,
    });
    expect(set).toMatchObject({ http: 201, status: 'succeeded' });
    expect(calls[0]).toEqual({
      action: 'SetDisplayMessage',
      params: {
        message: {
          id: 1,
          priority: 'AlwaysFront',
          state: 'Idle',
          endDateTime: '2030-01-01T00:00:00Z',
          message: { format: 'UTF8', content: 'Welcome', language: 'en' },
          display: { name: 'Display', evse: { id: 2 } },
        },
      },
    });
    expect((await listed('DM201')).messages).toMatchObject([
      { id: 1, priority: 'always_front', state: 'idle', content: 'Welcome', evse: 2, source: 'operator' },
    ]);

    expect(await rig.command('DM201', 'get_display_messages', { priority: 'normal_cycle' })).toMatchObject({
      status: 'succeeded',
    });
    const { requestId } = calls[1].params;
    expect(calls[1]).toEqual({ action: 'GetDisplayMessages', params: { requestId, priority: 'NormalCycle' } });
    const info = (id: number, content: string) => ({
      id,
      priority: 'NormalCycle',
      message: { format: 'ASCII', content },
    });
    await cp.call('NotifyDisplayMessages', { requestId, tbc: true, messageInfo: [info(5, 'Tariff 0.39/kWh')] });
    await cp.call('NotifyDisplayMessages', { requestId, messageInfo: [info(6, 'Free parking')] });
    expect((await listed('DM201')).messages).toMatchObject([
      { id: 1, source: 'operator' },
      { id: 5, priority: 'normal_cycle', format: 'ascii', content: 'Tariff 0.39/kWh', source: 'charger' },
      { id: 6, content: 'Free parking', source: 'charger' },
    ]);

    expect(await rig.command('DM201', 'clear_display_message', { id: 5 })).toMatchObject({ status: 'succeeded' });
    expect(await rig.command('DM201', 'clear_display_message', { id: 9 })).toMatchObject({
      status: 'rejected',
      error: 'ClearDisplayMessage: Unknown',
    });
    expect((await listed('DM201')).messages.map((m) => m.id)).toEqual([1, 6]);
    await cp.close({ force: true });
  });

  it('a bad priority lists the allowed ones; 1.6 has no display messages', async () => {
    const bad = await rig.command('DM201', 'set_display_message', {
      id: 1,
      priority: 'AlwaysFront',
      message: { content: 'x' },
    });
    expect(bad).toMatchObject({
      http: 400,
      error: {
        field: 'params.priority',
        message:
          'DM201: set_display_message: parameter "priority" must be one of "always_front", "in_front", "normal_cycle"',
      },
    });
    const format = await rig.command('DM201', 'set_display_message', {
      id: 1,
      priority: 'in_front',
      message: { content: 'x', format: 'pdf' },
    });
    expect(format.error).toMatchObject({ message: expect.stringContaining('"ascii", "html", "uri", "utf8"') });
    const cp = await rig.charger('DM16', 'ocpp1.6', { password: 'p16' });
    expect(await rig.command('DM16', 'get_display_messages', {})).toMatchObject({
      status: 'rejected',
      error: expect.stringContaining('OCPP 2.0.1 only'),
    });
    await cp.close({ force: true });
  });
});
