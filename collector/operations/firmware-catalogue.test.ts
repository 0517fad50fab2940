import { afterAll, describe, expect, it } from 'vitest';
import { tempInventory } from '../inventory/testing.ts';
import { OutboundPolicy } from '../sdk/index.ts';
import { FirmwareCatalogue } from './firmware-catalogue.ts';

// Names resolve through a table (OutboundPolicy's `resolve`): `fw.rebind` is a name that looks
// public and leads to loopback, the trick a literal check cannot see.
const DNS: Record<string, string[]> = {
  'fw.rebind': ['93.184.216.34', '127.0.0.1'],
  'fw.metadata': ['169.254.169.254'],
  'fw.public': ['93.184.216.34'],
};
const policy = new OutboundPolicy({
  setting: 'operations.firmware.allowed_networks',
  resolve: async (name) => DNS[name] ?? [],
});
const t = tempInventory();
afterAll(() => t.cleanup());
const catalogue = new FirmwareCatalogue(t.inventory.db, Date.now, policy);
const image = (version: string, host: string) => ({
  model: 'TC-200',
  version,
  url: `https://${host}/tc200/${version}.bin`,
  sha256: 'a'.repeat(64),
});

describe('firmware catalogue URLs (submit, as POST /firmware uses it)', () => {
  it('refuses a name that resolves to a loopback or metadata address, naming the url field', async () => {
    await expect(catalogue.submit(image('2.0', 'fw.rebind'))).rejects.toMatchObject({
      field: 'url',
      message: expect.stringMatching(/fw\.rebind resolves to 127\.0\.0\.1 is a loopback address/),
    });
    await expect(catalogue.submit(image('2.1', 'fw.metadata'))).rejects.toThrow(/cloud metadata address/);
  });

  it('accepts a name whose every address is public, and one that does not resolve here (devices resolve it)', async () => {
    await expect(catalogue.submit(image('3.0', 'fw.public'))).resolves.toMatchObject({ version: '3.0' });
    await expect(catalogue.submit(image('3.1', 'fw.only-on-the-device-network'))).resolves.toMatchObject({
      version: '3.1',
    });
  });
});
