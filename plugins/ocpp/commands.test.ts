import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeviceUnreachable, MemoryDirectory } from '../../collector/sdk/index.ts';
import { startRig, type Rig } from './testing.ts';

/**
 * Commands through `POST /api/v1/commands` (the durable queue and the bus) to real ocpp-rpc
 * chargers of both versions; the bus's own behaviour (unreachable, timeouts) through the bus.
 */
const directory = new MemoryDirectory()
  .add({ id: 'CMD16', kind: 'charger' }, { type: 'ocpp_password', value: 'p16' })
  .add({ id: 'CMD201', kind: 'charger' }, { type: 'ocpp_password', value: 'p201' })
  .add({ id: 'GONE', kind: 'charger' }, { type: 'ocpp_password', value: 'pg' });
let rig: Rig;
beforeAll(async () => {
  rig = await startRig(directory, {}, 5, { commands: true });
});
afterAll(() => rig?.stop());

/** A charger that records every call it gets and answers with `answer(action, params)`. */
async function recordingCharger(
  id: string,
  version: 'ocpp1.6' | 'ocpp2.0.1',
  password: string,
  answer: (action: string, params: any) => unknown,
) {
  const cp = await rig.charger(id, version, { password });
  const calls: Array<{ action: string; params: any }> = [];
  cp.handle((async ({ method, params }: { method: string; params: any }) => {
    calls.push({ action: method, params });
    return answer(method, params);
  }) as never);
  return { cp, calls };
}

describe('command vocabulary', () => {
  it('maps each operator command to the 1.6 action and reads its answer', async () => {
    const { calls } = await recordingCharger('CMD16', 'ocpp1.6', 'p16', (action) => {
      if (action === 'GetConfiguration')
        return { configurationKey: [{ key: 'HeartbeatInterval', readonly: false, value: '300' }] };
      if (action === 'UnlockConnector') return { status: 'Unlocked' };
      if (action === 'UpdateFirmware') return {};
      if (action === 'GetDiagnostics') return { fileName: 'diag.tgz' };
      return { status: 'Accepted' };
    });
    const run = (name: string, params: object = {}) => rig.command('CMD16', name, params);
    expect(await run('reset', { type: 'hard' })).toMatchObject({ status: 'succeeded' });
    expect(await run('remote_start', { id_tag: 'TAG1', connector: 2 })).toMatchObject({ status: 'succeeded' });
    expect(await run('remote_stop', { transaction_id: '42' })).toMatchObject({ status: 'succeeded' });
    expect(await run('unlock_connector', { connector: 1 })).toMatchObject({ status: 'succeeded' });
    expect(await run('change_availability', { connector: 0, available: false })).toMatchObject({ status: 'succeeded' });
    const config = await run('get_config', { keys: ['HeartbeatInterval'] });
    expect(config).toMatchObject({
      status: 'succeeded',
      result: { configurationKey: [{ key: 'HeartbeatInterval', value: '300' }] },
    });
    expect(await run('set_config', { key: 'HeartbeatInterval', value: '60' })).toMatchObject({ status: 'succeeded' });
    expect(await run('trigger_message', { message: 'LogStatusNotification' })).toMatchObject({ status: 'succeeded' });
    expect(
      await run('update_firmware', {
        location: 'https://fw.example.com/sim-22.bin',
        retrieve_at: '2030-01-01T00:00:00Z',
      }),
    ).toMatchObject({ status: 'succeeded' });
    expect(await run('get_diagnostics', { location: 'ftp://logs.example.com/in/' })).toMatchObject({
      status: 'succeeded',
      result: { fileName: 'diag.tgz' },
    });
    expect(await run('clear_cache')).toMatchObject({ status: 'succeeded' });
    // 1.6 has no GetTransactionStatus: refused, never sent.
    expect(await run('get_transaction_status')).toMatchObject({ status: 'rejected' });
    expect(calls).toEqual([
      { action: 'Reset', params: { type: 'Hard' } },
      { action: 'RemoteStartTransaction', params: { idTag: 'TAG1', connectorId: 2 } },
      { action: 'RemoteStopTransaction', params: { transactionId: 42 } },
      { action: 'UnlockConnector', params: { connectorId: 1 } },
      { action: 'ChangeAvailability', params: { connectorId: 0, type: 'Inoperative' } },
      { action: 'GetConfiguration', params: { key: ['HeartbeatInterval'] } },
      { action: 'ChangeConfiguration', params: { key: 'HeartbeatInterval', value: '60' } },
      { action: 'TriggerMessage', params: { requestedMessage: 'DiagnosticsStatusNotification' } },
      {
        action: 'UpdateFirmware',
        params: { location: 'https://fw.example.com/sim-22.bin', retrieveDate: '2030-01-01T00:00:00Z' },
      },
      { action: 'GetDiagnostics', params: { location: 'ftp://logs.example.com/in/' } },
      { action: 'ClearCache', params: {} },
    ]);
  });

  it('maps the same commands to the 2.0.1 actions', async () => {
    const { calls } = await recordingCharger('CMD201', 'ocpp2.0.1', 'p201', (action) => {
      if (action === 'GetVariables')
        return {
          getVariableResult: [
            {
              attributeStatus: 'Accepted',
              component: { name: 'OCPPCommCtrlr' },
              variable: { name: 'HeartbeatInterval' },
              attributeValue: '300',
            },
          ],
        };
      if (action === 'SetVariables')
        return {
          setVariableResult: [
            {
              attributeStatus: 'Rejected',
              component: { name: 'OCPPCommCtrlr' },
              variable: { name: 'HeartbeatInterval' },
            },
          ],
        };
      if (action === 'UnlockConnector') return { status: 'Unlocked' };
      if (action === 'GetTransactionStatus') return { ongoingIndicator: true, messagesInQueue: false };
      return { status: 'Accepted' };
    });
    const run = (name: string, params: object = {}) => rig.command('CMD201', name, params);
    expect(await run('reset', { type: 'soft' })).toMatchObject({ status: 'succeeded' });
    expect(await run('remote_stop', { transaction_id: 'TX-9' })).toMatchObject({ status: 'succeeded' });
    expect(await run('get_config', { keys: ['OCPPCommCtrlr.HeartbeatInterval'] })).toMatchObject({
      status: 'succeeded',
    });
    expect(await run('set_config', { key: 'OCPPCommCtrlr.HeartbeatInterval', value: '60' })).toMatchObject({
      status: 'rejected',
      error: expect.stringContaining('Rejected'),
    });
    expect(await run('trigger_message', { message: 'DiagnosticsStatusNotification', connector: 1 })).toMatchObject({
      status: 'succeeded',
    });
    expect(await run('get_config')).toMatchObject({ status: 'succeeded' });
    expect(await run('get_transaction_status', { transaction_id: 'TX-9' })).toMatchObject({
      status: 'succeeded',
      result: { ongoingIndicator: true, messagesInQueue: false },
    });
    expect(calls.map((c) => c.action)).toEqual([
      'Reset',
      'RequestStopTransaction',
      'GetVariables',
      'SetVariables',
      'TriggerMessage',
      'GetBaseReport',
      'GetTransactionStatus',
    ]);
    expect(calls[0].params).toEqual({ type: 'OnIdle' });
    expect(calls[1].params).toEqual({ transactionId: 'TX-9' });
    expect(calls[2].params).toEqual({
      getVariableData: [{ component: { name: 'OCPPCommCtrlr' }, variable: { name: 'HeartbeatInterval' } }],
    });
    expect(calls[4].params).toEqual({ requestedMessage: 'LogStatusNotification', evse: { id: 1 } });
    expect(calls[5].params).toMatchObject({ reportBase: 'FullInventory' });
    expect(calls[6].params).toEqual({ transactionId: 'TX-9' });
  });
});

describe('command outcomes', () => {
  it('a command to an offline charger is refused by the bus as unreachable, never a success', async () => {
    await expect(
      rig.collector.bus.dispatch('GONE', { name: 'reset', params: { type: 'soft' } }),
    ).rejects.toBeInstanceOf(DeviceUnreachable);
  });

  it('no answer before the timeout ends as timed_out; the next command is not stuck behind it', async () => {
    let hang = true;
    await recordingCharger('GONE', 'ocpp2.0.1', 'pg', () => (hang ? new Promise(() => {}) : { status: 'Accepted' }));
    const outcome = await rig.collector.bus.dispatch('GONE', { name: 'clear_cache', timeout_s: 0.3 });
    expect(outcome).toMatchObject({ status: 'timed_out' });
    hang = false;
    // ocpp-rpc has no timeout of its own here; the bus's abort must free the charger's call slot.
    expect(await rig.collector.bus.dispatch('GONE', { name: 'clear_cache', timeout_s: 5 })).toMatchObject({
      status: 'succeeded',
    });
  });

  it('Rejected ends as rejected, UnlockFailed as failed, a CALLERROR NotImplemented as rejected', async () => {
    const answers: Record<string, unknown> = {
      Reset: { status: 'Rejected' },
      UnlockConnector: { status: 'UnlockFailed' },
    };
    const cp = await rig.charger('CMD16', 'ocpp1.6', { password: 'p16' });
    cp.handle('Reset', (async () => answers.Reset) as never);
    cp.handle('UnlockConnector', (async () => answers.UnlockConnector) as never);
    const run = (name: string, params: object = {}) => rig.command('CMD16', name, params);
    expect(await run('reset', { type: 'soft' })).toMatchObject({ status: 'rejected', error: 'Reset: Rejected' });
    expect(await run('unlock_connector', { connector: 1 })).toMatchObject({ status: 'failed' });
    expect(await run('clear_cache')).toMatchObject({
      status: 'rejected',
      error: expect.stringContaining('NotImplemented'),
    });
  });

  it('refuses firmware and diagnostics locations the outbound policy forbids, without sending them', async () => {
    const { calls } = await recordingCharger('CMD16', 'ocpp1.6', 'p16', () => ({}));
    const run = (name: string, location: string) => rig.command('CMD16', name, { location });
    expect(await run('update_firmware', 'http://127.0.0.1/fw.bin')).toMatchObject({
      status: 'rejected',
      error: expect.stringContaining('loopback'),
    });
    expect(await run('update_firmware', 'http://2130706433/fw.bin')).toMatchObject({
      status: 'rejected',
      error: expect.stringContaining('loopback'),
    });
    expect(await run('update_firmware', 'https://localhost./fw.bin')).toMatchObject({
      status: 'rejected',
      error: expect.stringContaining('loopback name'),
    });
    expect(await run('get_diagnostics', 'http://169.254.169.254/latest/')).toMatchObject({
      status: 'rejected',
      error: expect.stringContaining('cloud metadata'),
    });
    expect(await run('get_diagnostics', 'ftp://[::ffff:a9fe:a9fe]/in/')).toMatchObject({
      status: 'rejected',
      error: expect.stringContaining('cloud metadata'),
    });
    // Private ranges only with plugins.ocpp.allowed_networks (the rig sets none).
    expect(await run('get_diagnostics', 'ftp://10.20.0.5/in/')).toMatchObject({
      status: 'rejected',
      error: expect.stringContaining('plugins.ocpp.allowed_networks'),
    });
    expect(await run('update_firmware', 'file:///etc/passwd')).toMatchObject({
      http: 400,
      error: { field: 'params.location' },
    });
    expect(calls).toEqual([]);
  });
});
