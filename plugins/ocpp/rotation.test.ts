import type { RPCClient } from 'ocpp-rpc';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryDirectory } from '../../collector/sdk/index.ts';
import { startRig, type Rig } from './testing.ts';

/**
 * Password rotation over OCPP with real ocpp-rpc chargers (strict mode): the 1.6 charger decodes
 * the hex AuthorizationKey as the security whitepaper says and authenticates with the result;
 * the 2.0.1 charger takes BasicAuthPassword as it is. The old password works until then.
 */
const directory = new MemoryDirectory()
  .add({ id: 'ROT-16', kind: 'charger' }, { type: 'ocpp_password', value: 'old-pw-rot16-0123456' })
  .add({ id: 'ROT-201', kind: 'charger' }, { type: 'ocpp_password', value: 'old-pw-rot201-012345' })
  .add({ id: 'ROT-NO', kind: 'charger' }, { type: 'ocpp_password', value: 'old-pw-rotno-0123456' });
let rig: Rig;
beforeAll(async () => {
  rig = await startRig(directory);
});
afterAll(() => rig?.stop());

async function admitted(id: string, version: 'ocpp1.6' | 'ocpp2.0.1', password: string): Promise<boolean> {
  try {
    const cp = await rig.charger(id, version, { password });
    await cp.close({ force: true });
    return true;
  } catch {
    return false;
  }
}

/** A charger that keeps what it is told, the way its version defines the key. */
function keeping(cp: RPCClient, answer = 'Accepted') {
  const told: { password?: string; raw?: string } = {};
  cp.handle((({ method, params }: { method: string; params: any }) => {
    if (method === 'ChangeConfiguration' && params.key === 'AuthorizationKey') {
      told.raw = params.value;
      told.password = Buffer.from(params.value, 'hex').toString('utf8');
      return { status: answer };
    }
    if (method === 'SetVariables') {
      const d = params.setVariableData[0];
      if (d.component.name === 'SecurityCtrlr' && d.variable.name === 'BasicAuthPassword')
        told.password = d.attributeValue;
      return {
        setVariableResult: [{ attributeStatus: answer, component: d.component, variable: d.variable }],
      };
    }
    return { status: 'Rejected' };
  }) as never);
  return told;
}

describe('password rotation', () => {
  it('1.6: sends the new password hex-encoded (32–40 digits); the old one works until the charger uses the new', async () => {
    const old = 'old-pw-rot16-0123456';
    const cp = await rig.charger('ROT-16', 'ocpp1.6', { password: old });
    const told = keeping(cp);
    const done = await rig.collector.bus.dispatch('ROT-16', { name: 'rotate_password', params: {}, timeout_s: 5 });
    expect(done).toMatchObject({ status: 'succeeded' });
    expect(told.raw).toMatch(/^[0-9a-f]{32,40}$/);
    expect(told.password).toMatch(/^[A-Za-z0-9]{16,20}$/);
    expect(JSON.stringify(done)).not.toContain(told.password);
    await cp.close();

    expect(await admitted('ROT-16', 'ocpp1.6', old)).toBe(true);
    expect(directory.activeSecrets('ROT-16', 'ocpp_password')).toHaveLength(2);
    expect(await admitted('ROT-16', 'ocpp1.6', told.password!)).toBe(true);
    expect(await rig.events('password_rotated')).toBe(1);
    expect(await admitted('ROT-16', 'ocpp1.6', old)).toBe(false);
    expect(directory.activeSecrets('ROT-16', 'ocpp_password')).toEqual([told.password]);
  });

  it('2.0.1: sends SecurityCtrlr.BasicAuthPassword and revokes the old one once the new one is used', async () => {
    const old = 'old-pw-rot201-012345';
    const cp = await rig.charger('ROT-201', 'ocpp2.0.1', { password: old });
    const told = keeping(cp);
    expect(
      await rig.collector.bus.dispatch('ROT-201', { name: 'rotate_password', params: {}, timeout_s: 5 }),
    ).toMatchObject({ status: 'succeeded' });
    await cp.close();
    expect(told.password).toMatch(/^[A-Za-z0-9]{16,40}$/);
    expect(await admitted('ROT-201', 'ocpp2.0.1', old)).toBe(true);
    expect(await admitted('ROT-201', 'ocpp2.0.1', told.password!)).toBe(true);
    expect(await admitted('ROT-201', 'ocpp2.0.1', old)).toBe(false);
  });

  it('a charger that rejects the new password keeps the old one, and the new one never works', async () => {
    const old = 'old-pw-rotno-0123456';
    const cp = await rig.charger('ROT-NO', 'ocpp1.6', { password: old });
    const told = keeping(cp, 'Rejected');
    expect(
      await rig.collector.bus.dispatch('ROT-NO', { name: 'rotate_password', params: {}, timeout_s: 5 }),
    ).toMatchObject({ status: 'rejected' });
    await cp.close();
    expect(await admitted('ROT-NO', 'ocpp1.6', told.password!)).toBe(false);
    expect(await admitted('ROT-NO', 'ocpp1.6', old)).toBe(true);
  });
});
