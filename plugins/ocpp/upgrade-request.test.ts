import type { IncomingMessage } from 'node:http';
import v8 from 'node:v8';
import vm from 'node:vm';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { MemoryDirectory } from '../../collector/sdk/index.ts';
import { boot16, eventually, startRig, type Rig } from './testing.ts';

/**
 * What a held connection costs: ocpp-rpc keeps the request its upgrade was given for the
 * connection's life, so the plugin gives it only the parts a handshake reads (upgrade-request.ts).
 */
const directory = new MemoryDirectory().add({ id: 'CP-A', kind: 'charger' }, { type: 'ocpp_password', value: 'pw-a' });
let rig: Rig;
v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

beforeAll(async () => {
  rig = await startRig(directory);
});
afterAll(() => rig?.stop());

it("lets the handshake's IncomingMessage go while the charger stays connected and answered", async () => {
  let request: WeakRef<IncomingMessage> | undefined;
  rig.server.prependOnceListener('upgrade', (req: IncomingMessage) => (request = new WeakRef(req)));
  const cp = await rig.charger('CP-A', 'ocpp1.6', { password: 'pw-a' });
  expect(await cp.call('BootNotification', boot16)).toMatchObject({ status: 'Accepted' });
  expect(request).toBeDefined();
  // A WeakRef's target lives until the current job ends: collect, then look in a later turn.
  expect(
    await eventually(() => {
      gc();
      return request!.deref() === undefined;
    }, 20),
  ).toBe(true);
  expect(await cp.call('Heartbeat', {})).toHaveProperty('currentTime');
  await cp.close();
});
