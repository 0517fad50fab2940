import { defineSimulator } from '../../collector/sdk/index.ts';
import { SimulatedPc } from './simulated-pc.ts';

/**
 * `fleetpulse simulate --pcs N`: N store PCs (no terminals) reporting host metrics to `serve`
 * the way a PC does, through its agent's uplink (`/agent/<id>`, the real agent protocol), and
 * answering the host plugin's commands (a reboot drops the uplink and comes back). Each PC must
 * exist in the inventory as a `pc` with an `agent_token`: `simulate --api-key` registers them and
 * hands each its own token. Options (`--opt key=value`):
 *   token       without --api-key, the agent token every simulated PC presents; default `sim-token`
 *   prefix      PC ids are <prefix><n>; default `sim-pc-`
 *   interval_s  seconds between rounds of host metrics per PC; default 10
 *   reboot_s    how long a rebooting PC stays away, s; default 5
 */
export default defineSimulator({
  flag: 'pcs',
  description: 'store PCs reporting host metrics over the agent uplink',
  plugin: 'host',
  devices: (count, options) =>
    pcIds(count, options).map((id) => ({ id, kind: 'pc', model: 'store-pc', credential: 'agent_token' })),
  async run({ server, count, options, progress, signal, credentials }) {
    const url = server.replace(/^http/, 'ws').replace(/\/$/, '') + '/agent/';
    const ids = pcIds(count, options);
    const intervalMs = Number(options.interval_s ?? 10) * 1000;
    const rebootMs = Number(options.reboot_s ?? 5) * 1000;
    const pcs: SimulatedPc[] = [];
    for (let i = 1; i <= count && !signal.aborted; i++) {
      const id = ids[i - 1];
      const token = credentials?.get(id) ?? options.token ?? 'sim-token';
      const pc = new SimulatedPc(id, {
        url,
        token,
        seed: i,
        rebootMs,
        onAck: (n) => progress.count('points_acked', n),
        onReboot: () => progress.count('reboots'),
      });
      try {
        await pc.connect();
        pcs.push(pc);
      } catch (err) {
        progress.count('refused');
        progress.refused?.(id, (err as Error).message);
        if (i === 1) throw err;
      }
      progress.update('connected', pcs.length, count);
    }
    while (!signal.aborted) {
      const t = Date.now();
      // Connected now, not ever: an uplink that went away reconnects by itself meanwhile.
      progress.update('connected', pcs.filter((pc) => pc.up).length, count);
      await Promise.all(pcs.map((pc) => pc.report(t)));
      progress.count('rounds');
      await new Promise<void>((r) => {
        const done = () => (clearTimeout(timer), r());
        const timer = setTimeout(
          () => (signal.removeEventListener('abort', done), r()),
          Math.max(0, intervalMs - (Date.now() - t)),
        );
        signal.addEventListener('abort', done, { once: true });
      });
    }
    await Promise.all(pcs.map((pc) => pc.close()));
  },
});

/** PC ids are <prefix><n>, n from 1. */
function pcIds(count: number, options: Record<string, string>): string[] {
  const prefix = options.prefix ?? 'sim-pc-';
  return Array.from({ length: count }, (_, i) => `${prefix}${i + 1}`);
}
