import type { Systeminformation } from 'systeminformation';
import type { Fields } from '../../collector/sdk/index.ts';
import { hostCpu, hostDisk, hostMemory, hostNet, hostSystem } from './measurements.ts';

/**
 * What the host plugin reads from the PC and what it makes of it: systeminformation's results
 * mapped to the declared fields of measurements.ts. Pure: no I/O; the readings themselves are taken
 * in sampler.ts. A value that is not a finite number (systeminformation reports NaN for counters
 * it could not read on some platforms) refuses the reading with a HostReadingError naming it,
 * rather than writing a NaN that InfluxDB would refuse for the whole batch.
 */
export class HostReadingError extends Error {
  override name = 'HostReadingError';
}

/** A point without its device tag and time (the sampler adds both). */
export interface Reading {
  measurement: string;
  fields: Fields;
  tags: Record<string, string>;
}

export type MemoryData = Pick<Systeminformation.MemData, 'total' | 'available' | 'swapused'>;
export type DiskData = Pick<Systeminformation.FsSizeData, 'fs' | 'type' | 'size' | 'used' | 'use' | 'mount'>;
export type NetData = Pick<
  Systeminformation.NetworkStatsData,
  'iface' | 'rx_bytes' | 'tx_bytes' | 'rx_errors' | 'tx_errors'
>;
export type LoadData = Pick<Systeminformation.CurrentLoadData, 'currentLoad' | 'currentLoadUser' | 'currentLoadSystem'>;
/** `main` is null, -1 or 0 where the hardware has no sensor, depending on the platform. */
export type TemperatureData = { main: number | null | undefined };

/** File system types that are not disks a NOC cares about. */
export const PSEUDO_FS = /^(tmpfs|devtmpfs|overlay|squashfs|proc|sysfs|cgroup2?|nsfs|autofs|ramfs)$/;

function finite(what: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isFinite(v))
    throw new HostReadingError(`${what} is not a finite number: ${String(v)}`);
  return v;
}

/** Byte counts and counters: finite, not negative, whole (declared `int`). */
function count(what: string, v: unknown): number {
  const n = finite(what, v);
  if (n < 0) throw new HostReadingError(`${what} is negative: ${n}`);
  return Math.round(n);
}

export function memoryReading(m: MemoryData): Reading {
  const total = count('memory.total', m.total);
  if (total === 0) throw new HostReadingError('memory.total is 0');
  const available = count('memory.available', m.available);
  if (available > total) throw new HostReadingError(`memory.available ${available} exceeds memory.total ${total}`);
  return {
    measurement: hostMemory.name,
    fields: {
      total_bytes: total,
      available_bytes: available,
      used_pct: finite('memory used share', (100 * (total - available)) / total),
      swap_used_bytes: count('memory.swapused', m.swapused),
    },
    tags: {},
  };
}

/**
 * One mounted file system, or undefined for one that is left out on purpose: a pseudo file
 * system (when `skipPseudo`), or a medium of size 0 (an empty card reader or optical drive).
 */
export function diskReading(d: DiskData, skipPseudo: boolean): Reading | undefined {
  if (skipPseudo && PSEUDO_FS.test(d.type)) return undefined;
  const size = count(`disk ${d.mount}: size`, d.size);
  if (size === 0) return undefined;
  if (typeof d.mount !== 'string' || d.mount === '') throw new HostReadingError(`disk ${d.fs}: no mount point`);
  const used = count(`disk ${d.mount}: used`, d.used);
  // `use` is missing or NaN on some mounts (network shares); the share is then worked out here.
  const usedPct =
    typeof d.use === 'number' && Number.isFinite(d.use)
      ? d.use
      : finite(`disk ${d.mount}: used share`, (100 * used) / size);
  return {
    measurement: hostDisk.name,
    fields: { size_bytes: size, used_bytes: used, used_pct: usedPct },
    tags: { mount: d.mount, fs: d.fs || d.mount },
  };
}

export function netReading(n: NetData): Reading {
  if (typeof n.iface !== 'string' || n.iface === '') throw new HostReadingError('network: interface without a name');
  const at = `network ${n.iface}`;
  return {
    measurement: hostNet.name,
    fields: {
      rx_bytes: count(`${at}: rx_bytes`, n.rx_bytes),
      tx_bytes: count(`${at}: tx_bytes`, n.tx_bytes),
      rx_errors: count(`${at}: rx_errors`, n.rx_errors),
      tx_errors: count(`${at}: tx_errors`, n.tx_errors),
    },
    tags: { interface: n.iface },
  };
}

/** Uptime, and the CPU temperature when there is a sensor (the field is absent otherwise). */
export function systemReading(uptimeS: number, temperature: TemperatureData | undefined): Reading {
  const t = temperature?.main;
  return {
    measurement: hostSystem.name,
    fields: {
      uptime_s: count('uptime', uptimeS),
      temperature_c: typeof t === 'number' && Number.isFinite(t) && t > 0 ? t : undefined,
    },
    tags: {},
  };
}

export function cpuReading(l: LoadData, load1m: number): Reading {
  return {
    measurement: hostCpu.name,
    fields: {
      usage_pct: finite('cpu.currentLoad', l.currentLoad),
      user_pct: finite('cpu.currentLoadUser', l.currentLoadUser),
      system_pct: finite('cpu.currentLoadSystem', l.currentLoadSystem),
      load_1m: finite('cpu.load_1m', load1m),
    },
    tags: {},
  };
}
