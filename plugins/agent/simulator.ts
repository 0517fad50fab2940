import { defineSimulator } from '../../collector/sdk/index.ts';
import { hostLines, SimulatedAgent, terminalStatusLine } from './simulated-agent.ts';

/**
 * `fleetpulse simulate --agents N`: N store PCs uplinking host metrics to `serve` over the real
 * agent protocol. Options (`--opt key=value`):
 *   token            the agent token every simulated agent presents (provision `sim-agent-<n>`
 *                    devices with it); default `sim-token`
 *   prefix           agent ids are <prefix><n>; default `sim-agent-`
 *   interval_s       seconds between batches per agent; default 10
 *   terminals_per_agent  simulated TC-200s behind each agent (`<agent>-t<k>`): announced, and a
 *                    `terminal_status` line each per batch (for TC-200s on real serial ptys, run
 *                    `fleetpulse simulate --tc200 N` beside a real `fleetpulse agent`); default 0
 */
export default defineSimulator({
  flag: 'agents',
  description: 'edge agents uplinking host metrics over WebSocket',
  async run({ server, count, options, progress, signal }) {
    const url = server.replace(/^http/, 'ws').replace(/\/$/, '') + '/agent/';
    const token = options.token ?? 'sim-token';
    const prefix = options.prefix ?? 'sim-agent-';
    const intervalMs = Number(options.interval_s ?? 10) * 1000;
    const terminals = Number(options.terminals_per_agent ?? 0);
    const agents: SimulatedAgent[] = [];
    for (let i = 1; i <= count && !signal.aborted; i++) {
      const id = `${prefix}${i}`;
      const a = new SimulatedAgent({ url, id, token, onAck: (n) => progress.count('points_acked', n) });
      try {
        await a.connect();
        a.announce(Array.from({ length: terminals }, (_, k) => ({ id: `${id}-t${k + 1}`, kind: 'terminal', model: 'TC-200' })));
        agents.push(a);
      } catch (err) {
        progress.count('refused');
        if (i === 1) throw err;
      }
      progress.update('connected', agents.length, count);
    }
    while (!signal.aborted) {
      const t = Date.now();
      await Promise.all(agents.map((a, i) => {
        const id = `${prefix}${i + 1}`;
        const lines = hostLines(id, t, i);
        for (let k = 1; k <= terminals; k++) lines.push(terminalStatusLine(`${id}-t${k}`, t, i + k));
        return a.send(lines);
      }));
      progress.count('batches', agents.length);
      await new Promise<void>((r) => {
        const timer = setTimeout(r, Math.max(0, intervalMs - (Date.now() - t)));
        signal.addEventListener('abort', () => (clearTimeout(timer), r()), { once: true });
      });
    }
    for (const a of agents) a.close();
  },
});
