import { loadavg } from 'node:os';
import si from 'systeminformation';
import type { PluginContext } from '../../collector/sdk/index.ts';
import {
  cpuReading,
  diskReading,
  HostReadingError,
  memoryReading,
  netReading,
  systemReading,
  type Reading,
} from './protocol.ts';

type Ctx = PluginContext<{ disks_skip_pseudo: boolean }>;

/**
 * Emits one reading, or counts `<what>_invalid` when protocol.ts refuses the values (a NaN from
 * systeminformation): that one reading is lost, the rest of the round still goes out.
 */
function emit(ctx: PluginContext, what: string, device: string, time: number, map: () => Reading | undefined): void {
  let r: Reading | undefined;
  try {
    r = map();
  } catch (err) {
    if (!(err instanceof HostReadingError)) throw err;
    ctx.count(`${what}_invalid`);
    ctx.log.warn({ err: err.message }, `${what} reading refused`);
    return;
  }
  if (r) ctx.emit(r.measurement, r.fields, { ...r.tags, device }, time);
}

/**
 * One round of the fast readings (memory, disks, network, uptime, temperature), each stamped
 * with the moment it was taken. A reading that fails is counted (`<what>_failed`) and the
 * others still go out.
 */
export async function readFast(ctx: Ctx, device: string): Promise<void> {
  const at = () => ctx.clock.now();
  const guard = <T>(what: string, p: Promise<T>) =>
    p.catch((err: Error) => {
      ctx.count(`${what}_failed`);
      ctx.log.warn({ err: err.message }, `reading ${what} failed`);
      return undefined;
    });
  await Promise.all([
    guard('memory', si.mem()).then((m) => m && emit(ctx, 'memory', device, at(), () => memoryReading(m))),
    guard('disk', si.fsSize()).then((disks) => {
      const t = at();
      for (const d of disks ?? []) emit(ctx, 'disk', device, t, () => diskReading(d, ctx.config.disks_skip_pseudo));
    }),
    guard('network', si.networkStats('*')).then((ifaces) => {
      const t = at();
      for (const n of ifaces ?? []) emit(ctx, 'network', device, t, () => netReading(n));
    }),
    guard('temperature', si.cpuTemperature()).then((temp) =>
      emit(ctx, 'system', device, at(), () => systemReading(si.time().uptime, temp)),
    ),
  ]);
}

/**
 * The CPU reading. `currentLoad` measures over an interval (~0.5 s) and so runs on its own
 * schedule: it never delays the fast readings, and a slow round is skipped rather than stacked.
 */
export async function readCpu(ctx: PluginContext, device: string): Promise<void> {
  let load;
  try {
    load = await si.currentLoad();
  } catch (err) {
    ctx.count('cpu_failed');
    ctx.log.warn({ err: (err as Error).message }, 'reading cpu failed');
    return;
  }
  emit(ctx, 'cpu', device, ctx.clock.now(), () => cpuReading(load, loadavg()[0]));
}
