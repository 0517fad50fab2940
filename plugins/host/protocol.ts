import { loadavg } from 'node:os';
import si from 'systeminformation';
import type { PluginContext } from '../../collector/sdk/index.ts';
import { hostCpu, hostDisk, hostMemory, hostNet, hostSystem } from './metrics.ts';

/** File system types that are not disks a NOC cares about. */
const PSEUDO_FS = /^(tmpfs|devtmpfs|overlay|squashfs|proc|sysfs|cgroup2?|nsfs|autofs|ramfs)$/;

/**
 * One round of the fast readings (memory, disks, network, uptime, temperature), each stamped
 * with the moment it was taken. A reading that fails is counted and the others still go out.
 */
export async function readFast(ctx: PluginContext<{ disks_skip_pseudo: boolean }>, device: string): Promise<void> {
  const at = () => ctx.clock.now();
  const guard = <T>(what: string, p: Promise<T>) =>
    p.catch((err: Error) => {
      ctx.count(`${what}_failed`);
      ctx.log.warn({ err: err.message }, `reading ${what} failed`);
      return undefined;
    });
  await Promise.all([
    guard('memory', si.mem()).then((m) => {
      if (!m) return;
      ctx.emit(hostMemory.name, {
        total_bytes: m.total,
        available_bytes: m.available,
        used_pct: m.total > 0 ? (100 * (m.total - m.available)) / m.total : 0,
        swap_used_bytes: m.swapused,
      }, { device }, at());
    }),
    guard('disk', si.fsSize()).then((disks) => {
      const t = at();
      for (const d of disks ?? []) {
        if (ctx.config.disks_skip_pseudo && PSEUDO_FS.test(d.type)) continue;
        ctx.emit(hostDisk.name, { size_bytes: d.size, used_bytes: d.used, used_pct: d.use ?? 0 }, { device, mount: d.mount, fs: d.fs }, t);
      }
    }),
    guard('network', si.networkStats('*')).then((ifaces) => {
      const t = at();
      for (const n of ifaces ?? []) {
        ctx.emit(hostNet.name, { rx_bytes: n.rx_bytes, tx_bytes: n.tx_bytes, rx_errors: n.rx_errors, tx_errors: n.tx_errors }, { device, interface: n.iface }, t);
      }
    }),
    Promise.all([guard('temperature', si.cpuTemperature()), Promise.resolve(si.time())]).then(([temp, time]) => {
      ctx.emit(hostSystem.name, { uptime_s: Math.round(time.uptime), temperature_c: temp?.main ?? undefined }, { device }, at());
    }),
  ]);
}

/**
 * The CPU reading. `currentLoad` measures over an interval (~0.5 s) and so runs on its own
 * schedule: it never delays the fast readings, and a slow round is skipped rather than stacked.
 */
export async function readCpu(ctx: PluginContext, device: string): Promise<void> {
  try {
    const l = await si.currentLoad();
    ctx.emit(hostCpu.name, { usage_pct: l.currentLoad, user_pct: l.currentLoadUser, system_pct: l.currentLoadSystem, load_1m: loadavg()[0] }, { device }, ctx.clock.now());
  } catch (err) {
    ctx.count('cpu_failed');
    ctx.log.warn({ err: (err as Error).message }, 'reading cpu failed');
  }
}
