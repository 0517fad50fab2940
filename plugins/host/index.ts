import { hostname } from 'node:os';
import {
  CommandFailed,
  CommandRejected,
  DeviceUnreachable,
  definePlugin,
  Type,
  type Command,
  type PluginContext,
} from '../../collector/sdk/index.ts';
import { measurements } from './measurements.ts';
import { readCpu, readFast } from './sampler.ts';
import { runCommand } from './run-command.ts';
import { StationSession, type ExpiryAction } from './station-session.ts';

/**
 * The PC the agent runs on: host metrics with systeminformation, and the commands a store or
 * venue PC takes (reboot, diagnostics, lock, log off, session warnings and local session ends).
 */
const Argv = (defaults: string[], description: string) => Type.Array(Type.String(), { default: defaults, description });

const config = Type.Object(
  {
    device: Type.String({
      default: '',
      description: "This PC's device id; empty = the agent's id (fleetpulse agent fills it in), else the host name",
    }),
    interval_s: Type.Number({
      default: 10,
      minimum: 1,
      description: 'Memory, disks, network, uptime and temperature are read this often, s',
    }),
    cpu_interval_s: Type.Number({
      default: 10,
      minimum: 1,
      description: 'CPU load (a slow reading, ~0.5 s) is read this often on its own schedule, s',
    }),
    disks_skip_pseudo: Type.Boolean({
      default: true,
      description: 'Leave out tmpfs, overlay, squashfs and other pseudo file systems',
    }),
    reboot_command: Argv(['systemctl', 'reboot'], 'Program and arguments run by the `reboot` command'),
    lock_command: Argv(['loginctl', 'lock-sessions'], 'Run by `lock` and at a session end with action lock'),
    log_off_command: Argv(
      ['loginctl', 'terminate-seat', 'seat0'],
      'Run by `log_off` and at a session end with action log_off',
    ),
    warn_command: Argv(
      ['notify-send', '--urgency=critical', 'Fleetpulse'],
      'Run by `warn`, with the message appended as the last argument',
    ),
    diagnostics_command: Argv([], 'Run by `diagnostics`; its output is the result. Empty = the command is refused'),
    command_timeout_s: Type.Integer({
      default: 60,
      minimum: 1,
      description: 'A configured program is killed after this long, s',
    }),
    output_max_bytes: Type.Integer({
      default: 65_536,
      minimum: 256,
      description: 'Diagnostics output returned at most, bytes',
    }),
  },
  { additionalProperties: false },
);

const none = Type.Object({}, { additionalProperties: false });

export default definePlugin({
  name: 'host',
  description:
    'The PC an edge agent runs on: CPU, memory, disks, network, uptime, temperature; reboot, diagnostics, lock, sessions',
  kinds: ['pc'],
  runs_in: ['agent'],
  config,
  enabled_by_default: true,
  measurements,
  // A PC whose agent has been silent for 15 minutes: the smart plug in its `plug` label (the plug
  // plugin's `power_cycle`) turns it off and on again.
  recovery: [
    {
      name: 'agent_silent_power_cycle',
      kinds: ['pc'],
      state: 'offline',
      for_s: 900,
      command: 'power_cycle',
      via_label: 'plug',
    },
  ],
  commands: {
    reboot: { description: 'Reboots the PC (runs reboot_command)', params: none, timeout_s: 30 },
    diagnostics: {
      description: 'Runs the configured diagnostics script and returns its output',
      params: none,
      timeout_s: 120,
    },
    lock: { description: 'Locks the user session (runs lock_command)', params: none, timeout_s: 30 },
    log_off: { description: 'Logs the user off (runs log_off_command)', params: none, timeout_s: 30 },
    warn: {
      description: 'Shows the user a warning (runs warn_command with the message)',
      params: Type.Object({ message: Type.String({ minLength: 1, maxLength: 500 }) }, { additionalProperties: false }),
      timeout_s: 30,
    },
    session_set: {
      description: 'Tells the station when its session ends; the agent ends it locally even without an uplink',
      params: Type.Object(
        {
          ends_at_ms: Type.Integer({ minimum: 0 }),
          action: Type.Union([Type.Literal('lock'), Type.Literal('log_off'), Type.Literal('none')]),
        },
        { additionalProperties: false },
      ),
      timeout_s: 10,
    },
    session_clear: { description: 'Forgets the local session (it was stopped)', params: none, timeout_s: 10 },
    session_status: {
      description: "The station's record of its last session end: active, or enforced here (when, or the last error)",
      params: none,
      timeout_s: 10,
    },
  },
  reporting_interval_s: (c) => Math.max(c.interval_s, c.cpu_interval_s),

  async start(ctx) {
    const device = ctx.config.device || hostname();
    const c = ctx.config;
    const run = async (argv: string[], what: string, extra: string[] = [], signal?: AbortSignal) => {
      if (argv.length === 0) throw new CommandRejected(`no ${what} configured`);
      const r = await runCommand([...argv, ...extra], {
        timeoutMs: c.command_timeout_s * 1000,
        maxBytes: c.output_max_bytes,
        signal,
      }).catch((err: Error) => {
        throw new CommandFailed(err.message);
      });
      return r;
    };
    const mustSucceed = async (argv: string[], what: string, extra: string[] = [], signal?: AbortSignal) => {
      const r = await run(argv, what, extra, signal);
      if (r.exit_code !== 0)
        throw new CommandFailed(`${what} exited with ${r.exit_code}: ${r.output.trim().slice(0, 500)}`, r);
      return { exit_code: 0 };
    };
    const session = new StationSession(ctx, device, async (action) => {
      await mustSucceed(action === 'lock' ? c.lock_command : c.log_off_command, `${action}_command`);
    });

    ctx.seen(device, { kind: 'pc' });
    ctx.attach(device, device);
    session.start();
    const fast = loop(ctx, c.interval_s, () => readFast(ctx, device).then(() => ctx.seen(device)));
    const cpu = loop(ctx, c.cpu_interval_s, () => readCpu(ctx, device));

    return {
      async stop() {
        session.stop();
        await Promise.all([fast, cpu]);
      },
      async execute(target: string, command: Command) {
        if (target !== device) throw new DeviceUnreachable(target);
        const p = command.params as Record<string, unknown>;
        switch (command.name) {
          case 'reboot':
            return mustSucceed(c.reboot_command, 'reboot_command', [], command.signal);
          case 'diagnostics':
            return run(c.diagnostics_command, 'diagnostics_command', [], command.signal);
          case 'lock':
            return mustSucceed(c.lock_command, 'lock_command', [], command.signal);
          case 'log_off':
            return mustSucceed(c.log_off_command, 'log_off_command', [], command.signal);
          case 'warn':
            return mustSucceed(c.warn_command, 'warn_command', [String(p.message)], command.signal);
          case 'session_set':
            return session.set(p.ends_at_ms as number, p.action as ExpiryAction);
          case 'session_clear':
            return { cleared: session.clear() };
          case 'session_status':
            return session.status();
          default:
            throw new CommandRejected(`unknown command ${command.name}`);
        }
      },
    };
  },
});

/** Runs `round` every `intervalS` until the instance stops; a round still running skips a tick. */
async function loop(ctx: PluginContext, intervalS: number, round: () => Promise<void>): Promise<void> {
  const signal = ctx.signal;
  while (!signal.aborted) {
    const started = Date.now();
    await round().catch((err: Error) => ctx.log.error({ err: err.message }, 'reading round failed'));
    // Stopped during the round: the abort has fired already, a listener added now would never run.
    if (signal.aborted) break;
    const wait = Math.max(0, intervalS * 1000 - (Date.now() - started));
    // The listener goes with the wait: one left per round was the agent's MaxListenersExceededWarning.
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(t);
        signal.removeEventListener('abort', done);
        resolve();
      };
      const t = setTimeout(done, wait);
      signal.addEventListener('abort', done, { once: true });
    });
  }
}
