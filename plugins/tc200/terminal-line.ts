import type { PluginContext } from '../../collector/sdk/index.ts';
import type { Tc200Config } from './config.ts';
import type { Hello, HostMessage, Result } from './protocol.ts';

// What the command runner (commands.ts) and the firmware update (firmware.ts) both work with,
// apart from either so that neither imports the other.

/** What the commands need of the plugin's context (the agent simulator provides the same). */
export type CommandContext = Pick<PluginContext<Tc200Config>, 'config' | 'emit' | 'count' | 'clock' | 'log'>;

/** A command as the host sends it, before it gets its request id. */
export type HostCommand = HostMessage extends infer M ? (M extends { req: number } ? Omit<M, 'req'> : never) : never;

/** No RESULT arrived for an acknowledged command in time. */
export class ResultTimeout extends Error {
  override name = 'ResultTimeout';
}

/** The terminal said hello again (it rebooted or lost power) while a command waited for its result. */
export class TerminalRestarted extends Error {
  override name = 'TerminalRestarted';
}

/**
 * A terminal commands go to: the plugin's TerminalPort on a serial line, or the agent
 * simulator's in-memory terminal. `request` sends one command and resolves with its RESULT.
 */
export interface TerminalLine {
  /** The terminal's last hello; undefined until it identified (or while it is away). */
  readonly hello?: Hello;
  readonly serial?: string;
  request(command: HostCommand, signal?: AbortSignal, timeoutMs?: number): Promise<Result>;
}
