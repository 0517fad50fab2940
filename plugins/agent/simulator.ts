import { defineSimulator, SimulatedUplink } from '../../collector/sdk/index.ts';

/**
 * `fleetpulse simulate --agents N`: N edge agents holding the uplink to `serve` over the real
 * agent protocol, each announcing the terminals behind it and sending, per batch, the agent
 * runtime's own self-metrics (lines without a `device` tag: the server tags them with the
 * agent's id) and one `terminal_status` line per terminal. Store PCs reporting host metrics are
 * the host plugin's simulator (`--pcs`). Options (`--opt key=value`):
 *   token            without --api-key, the agent token every simulated agent presents
 *                    (provision `sim-agent-<n>` devices with it); default `sim-token`. With
 *                    `simulate --api-key` each agent is registered (a `pc`, with its terminals
 *                    behind it) and gets a token of its own
 *   prefix           agent ids are <prefix><n>; default `sim-agent-`
 *   interval_s       seconds between batches per agent; default 10
 *   terminals_per_agent  simulated TC-200s behind each agent (`<agent>-t<k>`): announced, and a
 *                    `terminal_status` line each per batch (for TC-200s on real serial ptys, run
 *                    `fleetpulse simulate --tc200 N` beside a real `fleetpulse agent`); default 0
 */
export default defineSimulator({
  flag: 'agents',
  description: 'edge agents holding the uplink, with terminals behind them',
  plugin: 'agent',
  devices(count, options) {
    const prefix = options.prefix ?? 'sim-agent-';
    const terminals = Number(options.terminals_per_agent ?? 0);
    return Array.from({ length: count }, (_, i) => `${prefix}${i + 1}`).flatMap((id) => [
      { id, kind: 'pc', model: 'store-pc', credential: 'agent_token' },
      ...Array.from({ length: terminals }, (_, k) => ({ id: `${id}-t${k + 1}`, kind: 'terminal', model: 'TC-200', gateway: id })),
    ]);
  },
  async run({ server, count, options, progress, signal, credentials }) {
    const url = server.replace(/^http/, 'ws').replace(/\/$/, '') + '/agent/';
    const prefix = options.prefix ?? 'sim-agent-';
    const intervalMs = Number(options.interval_s ?? 10) * 1000;
    const terminals = Number(options.terminals_per_agent ?? 0);
    const agents: SimulatedUplink[] = [];
    for (let i = 1; i <= count && !signal.aborted; i++) {
      const id = `${prefix}${i}`;
      const token = credentials?.get(id) ?? options.token ?? 'sim-token';
      const a = new SimulatedUplink({ url, id, token, onAck: (n) => progress.count('points_acked', n) });
      try {
        await a.connect();
        a.announce(Array.from({ length: terminals }, (_, k) => ({ id: `${id}-t${k + 1}`, kind: 'terminal', model: 'TC-200' })));
        agents.push(a);
      } catch (err) {
        progress.count('refused');
        progress.refused?.(id, (err as Error).message);
        if (i === 1) throw err;
      }
      progress.update('connected', agents.length, count);
    }
    const sent = agents.map(() => 0);
    while (!signal.aborted) {
      const t = Date.now();
      await Promise.all(agents.map((a, i) => {
        const id = `${prefix}${i + 1}`;
        const lines = agentLines(id, t, sent[i]!);
        for (let k = 1; k <= terminals; k++) lines.push(terminalStatusLine(`${id}-t${k}`, t, i + k));
        sent[i] = sent[i]! + terminals;
        return a.send(lines);
      }));
      progress.count('batches', agents.length);
      await new Promise<void>((r) => {
        const done = () => (clearTimeout(timer), r());
        const timer = setTimeout(() => (signal.removeEventListener('abort', done), r()), Math.max(0, intervalMs - (Date.now() - t)));
        signal.addEventListener('abort', done, { once: true });
      });
    }
    await Promise.all(agents.map((a) => a.close()));
  },
});

/**
 * The agent runtime's own self-metrics at time `t` (ms), as `fleetpulse agent` writes them:
 * `emitted` terminal points so far, an empty outbox.
 */
export function agentLines(agent: string, t: number, emitted: number): string[] {
  return [
    `fleetpulse_spool_points,host=${agent} value=0 ${t}`,
    `fleetpulse_points_emitted_total,host=${agent},plugin=tc200 value=${emitted} ${t}`,
  ];
}

/**
 * A status line of a terminal behind a simulated agent, in the shape of the tc200 plugin's
 * `terminal_status` (the light agents have no serial port; a real agent reads real TC-200s).
 */
export function terminalStatusLine(device: string, t: number, seed: number): string {
  const tx = Math.floor(t / 60_000) + seed;
  return `terminal_status,device=${device} state="idle",error_code=0i,transactions=${tx}i,failed_transactions=${Math.floor(tx / 50)}i,paper="ok",temperature_c=41.5,free_storage_bytes=104857600i,cpu_pct=${(seed % 30) + 5},mem_pct=40,disk_pct=60 ${t}`;
}
