import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { conformFields } from '../../collector/sdk/index.ts';
import { measurements } from './measurements.ts';
import {
  cpuReading,
  diskReading,
  HostReadingError,
  memoryReading,
  netReading,
  systemReading,
  type Reading,
} from './protocol.ts';

// Recorded from systeminformation 5 on a Linux VM (no temperature sensor: main null) and, for
// the odd cases, as it reports them on Windows and for network shares and card readers.
const MEM = {
  total: 25276502016,
  free: 23194935296,
  used: 2081566720,
  active: 1686822912,
  available: 23589679104,
  buffers: 8941568,
  cached: 580067328,
  slab: 136970240,
  buffcache: 725979136,
  reclaimable: 103505920,
  swaptotal: 0,
  swapused: 0,
  swapfree: 0,
  writeback: 69632,
  dirty: 2781184,
};
const ROOT = {
  fs: '/dev/vda',
  type: 'ext4',
  size: 270553174016,
  used: 24116785152,
  available: 84827508736,
  use: 22.14,
  mount: '/',
  rw: true,
};
const WINDOWS_C = {
  fs: 'C:',
  type: 'NTFS',
  size: 510770802688,
  used: 201326592000,
  available: 309444210688,
  use: 39.42,
  mount: 'C:',
  rw: true,
};
const SHARE = {
  fs: '//nas/scans',
  type: 'cifs',
  size: 1000,
  used: 250,
  available: 750,
  use: NaN,
  mount: '/media/store scans',
  rw: true,
};
const CARD_READER = {
  fs: '/dev/sdb',
  type: '',
  size: 0,
  used: 0,
  available: 0,
  use: NaN,
  mount: '/media/sd',
  rw: null,
};
const TMPFS = {
  fs: 'tmpfs',
  type: 'tmpfs',
  size: 1610612736,
  used: 0,
  available: 1610612736,
  use: 0,
  mount: '/run',
  rw: true,
};
const ETH0 = {
  iface: 'eth0',
  operstate: 'up',
  rx_bytes: 198327884,
  rx_dropped: 0,
  rx_errors: 0,
  tx_bytes: 611399,
  tx_dropped: 0,
  tx_errors: 0,
  rx_sec: null,
  tx_sec: null,
  ms: 0,
};
const TIME = { current: 1795316062674, uptime: 4995.05, timezone: 'UTC+0000', timezoneName: 'Etc/UTC' };
const LOAD = { avgLoad: 0.42, currentLoad: 12.5, currentLoadUser: 9.1, currentLoadSystem: 3.4 };

const declared = new Map(measurements.map((m) => [m.name, m]));
/** Every reading must pass the runtime's own check against measurements.ts. */
const conforms = (r: Reading) => conformFields(declared.get(r.measurement)!, r.fields);
const refusal = (f: () => unknown) => {
  try {
    f();
  } catch (err) {
    expect(err).toBeInstanceOf(HostReadingError);
    return (err as Error).message;
  }
  throw new Error('accepted');
};

describe('recorded systeminformation results', () => {
  it('memory', () => {
    const r = memoryReading(MEM);
    expect(r).toEqual({
      measurement: 'host_memory',
      fields: {
        total_bytes: 25276502016,
        available_bytes: 23589679104,
        used_pct: (100 * (25276502016 - 23589679104)) / 25276502016,
        swap_used_bytes: 0,
      },
      tags: {},
    });
    expect(() => conforms(r)).not.toThrow();
  });

  it('disks: Linux root, Windows drive, a share with spaces and no use%, pseudo and empty media left out', () => {
    expect(diskReading(ROOT, true)).toEqual({
      measurement: 'host_disk',
      fields: { size_bytes: 270553174016, used_bytes: 24116785152, used_pct: 22.14 },
      tags: { mount: '/', fs: '/dev/vda' },
    });
    expect(diskReading(WINDOWS_C, true)?.tags).toEqual({ mount: 'C:', fs: 'C:' });
    expect(diskReading(SHARE, true)).toEqual({
      measurement: 'host_disk',
      fields: { size_bytes: 1000, used_bytes: 250, used_pct: 25 },
      tags: { mount: '/media/store scans', fs: '//nas/scans' },
    });
    expect(diskReading(CARD_READER, true)).toBeUndefined();
    expect(diskReading(TMPFS, true)).toBeUndefined();
    expect(diskReading(TMPFS, false)?.tags).toEqual({ mount: '/run', fs: 'tmpfs' });
    for (const d of [ROOT, WINDOWS_C, SHARE]) expect(() => conforms(diskReading(d, true)!)).not.toThrow();
  });

  it('network, system without a temperature sensor, system with one, cpu', () => {
    expect(netReading(ETH0)).toEqual({
      measurement: 'host_net',
      fields: { rx_bytes: 198327884, tx_bytes: 611399, rx_errors: 0, tx_errors: 0 },
      tags: { interface: 'eth0' },
    });
    const noSensor = systemReading(TIME.uptime, { main: null });
    expect(noSensor.fields).toEqual({ uptime_s: 4995, temperature_c: undefined });
    expect(conforms(noSensor)).toEqual(conformFields(declared.get('host_system')!, { uptime_s: 4995 }));
    for (const main of [-1, 0, NaN, undefined])
      expect(systemReading(10, { main }).fields.temperature_c).toBeUndefined();
    expect(systemReading(10, undefined).fields.temperature_c).toBeUndefined();
    expect(systemReading(10, { main: 47.5 }).fields.temperature_c).toBe(47.5);
    const cpu = cpuReading(LOAD, 0.42);
    expect(cpu).toEqual({
      measurement: 'host_cpu',
      fields: { usage_pct: 12.5, user_pct: 9.1, system_pct: 3.4, load_1m: 0.42 },
      tags: {},
    });
    for (const r of [netReading(ETH0), systemReading(10, { main: 47.5 }), cpu]) expect(() => conforms(r)).not.toThrow();
  });
});

describe('values that are refused, each naming the value', () => {
  it.each([
    ['memory total NaN', () => memoryReading({ ...MEM, total: NaN }), 'memory.total is not a finite number: NaN'],
    ['memory total 0', () => memoryReading({ ...MEM, total: 0 }), 'memory.total is 0'],
    ['memory available negative', () => memoryReading({ ...MEM, available: -1 }), 'memory.available is negative: -1'],
    [
      'memory available above total',
      () => memoryReading({ ...MEM, available: MEM.total + 1 }),
      'memory.available 25276502017 exceeds memory.total 25276502016',
    ],
    [
      'swap missing',
      () => memoryReading({ ...MEM, swapused: undefined as unknown as number }),
      'memory.swapused is not a finite number: undefined',
    ],
    ['disk size NaN', () => diskReading({ ...ROOT, size: NaN }, true), 'disk /: size is not a finite number: NaN'],
    [
      'disk used Infinity',
      () => diskReading({ ...ROOT, used: Infinity }, true),
      'disk /: used is not a finite number: Infinity',
    ],
    ['disk without mount', () => diskReading({ ...ROOT, mount: '' }, true), 'disk /dev/vda: no mount point'],
    ['interface without name', () => netReading({ ...ETH0, iface: '' }), 'network: interface without a name'],
    [
      'rx_bytes NaN',
      () => netReading({ ...ETH0, rx_bytes: NaN }),
      'network eth0: rx_bytes is not a finite number: NaN',
    ],
    ['uptime NaN', () => systemReading(NaN, { main: null }), 'uptime is not a finite number: NaN'],
    [
      'load NaN',
      () => cpuReading({ ...LOAD, currentLoadUser: NaN }, 0.1),
      'cpu.currentLoadUser is not a finite number: NaN',
    ],
    ['load average NaN', () => cpuReading(LOAD, NaN), 'cpu.load_1m is not a finite number: NaN'],
  ])('%s', (_name, f, message) => {
    expect(refusal(f)).toBe(message);
  });

  it('rounds fractional byte counts to the declared integers', () => {
    expect(memoryReading({ ...MEM, total: 1000.6, available: 500.2 }).fields).toMatchObject({
      total_bytes: 1001,
      available_bytes: 500,
    });
  });
});

describe('properties', () => {
  const anyNumber = fc.oneof(
    fc.double(),
    fc.integer(),
    fc.constantFrom(NaN, Infinity, -Infinity, -1, 0),
    fc.constant(undefined),
    fc.constant(null),
    fc.string(),
  );
  it('a reading either conforms to its declaration or is refused with HostReadingError', () => {
    fc.assert(
      fc.property(
        fc.record({
          total: anyNumber,
          available: anyNumber,
          swapused: anyNumber,
          size: anyNumber,
          used: anyNumber,
          use: anyNumber,
          rx: anyNumber,
          up: anyNumber,
          temp: anyNumber,
        }),
        fc.string({ maxLength: 12 }),
        fc.boolean(),
        (v, name, skip) => {
          const n = v as unknown as Record<string, number>;
          const maps = [
            () => memoryReading({ total: n.total, available: n.available, swapused: n.swapused }),
            () => diskReading({ fs: name, type: name, mount: name, size: n.size, used: n.used, use: n.use }, skip),
            () => netReading({ iface: name, rx_bytes: n.rx, tx_bytes: n.rx, rx_errors: 0, tx_errors: 0 }),
            () => systemReading(n.up, { main: n.temp }),
            () => cpuReading({ currentLoad: n.use, currentLoadUser: n.use, currentLoadSystem: n.use }, n.up),
          ];
          for (const map of maps) {
            let r: Reading | undefined;
            try {
              r = map();
            } catch (err) {
              expect(err).toBeInstanceOf(HostReadingError);
              continue;
            }
            if (!r) continue;
            expect(() => conforms(r)).not.toThrow();
            for (const f of Object.values(r.fields)) if (typeof f === 'number') expect(Number.isFinite(f)).toBe(true);
          }
        },
      ),
      { numRuns: 500 },
    );
  });
});
