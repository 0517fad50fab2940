import { Compile } from 'typebox/compile';
import { CommandFailed, CommandRejected, DeviceUnreachable, type Command } from '../../collector/sdk/index.ts';
import { updateFirmware, type FirmwareDeps, type UpdateFirmwareParams } from './firmware.ts';
import { LinkClosed, LinkRefused, LinkTimeout } from './link.ts';
import { parametersToWire, TerminalParameters } from './parameters.ts';
import type { Hello, Result } from './protocol.ts';
import {
  ResultTimeout,
  TerminalRestarted,
  type CommandContext,
  type HostCommand,
  type TerminalLine,
} from './terminal-line.ts';

const checkParameters = Compile(TerminalParameters);

/**
 * Runs one of the plugin's commands on a terminal: the mapping from command to protocol and from
 * the terminal's answer (or silence) to the SDK's outcomes. `updating` holds the terminals with a
 * firmware transfer running (one at a time each).
 */
export async function runCommand(
  deps: FirmwareDeps & { updating: Set<string> },
  terminal: TerminalLine,
  device: string,
  command: Command,
): Promise<unknown> {
  const { ctx } = deps;
  switch (command.name) {
    case 'reboot':
      return (await ask(ctx, terminal, device, { type: 'reboot' }, command.signal)).values;
    case 'get_diagnostics':
      return (await ask(ctx, terminal, device, { type: 'get_diagnostics' }, command.signal)).values;
    case 'set_parameters': {
      if (!checkParameters.Check(command.params)) {
        const first = [...checkParameters.Errors(command.params)][0];
        throw new CommandRejected(
          `set_parameters: ${first?.instancePath || 'parameters'} ${first?.message ?? 'invalid'}`,
        );
      }
      const wire = parametersToWire(command.params);
      return (await ask(ctx, terminal, device, { type: 'set_params', params: wire }, command.signal)).values;
    }
    case 'update_firmware': {
      // One transfer per terminal: a second would interleave chunks into the same staging area.
      if (deps.updating.has(device)) throw new CommandRejected(`a firmware update of ${device} is already running`);
      deps.updating.add(device);
      try {
        return await updateFirmware(deps, terminal, command.params as UpdateFirmwareParams, command.signal);
      } finally {
        deps.updating.delete(device);
      }
    }
    default:
      throw new CommandRejected(`tc200 has no command ${command.name}`);
  }
}

/** One request/response command, with link and device outcomes mapped to the SDK's errors. */
async function ask(
  ctx: CommandContext,
  terminal: TerminalLine,
  device: string,
  cmd: HostCommand,
  signal: AbortSignal,
): Promise<Result> {
  let result: Result;
  try {
    result = await terminal.request(cmd, signal);
  } catch (err) {
    if (err instanceof LinkClosed) throw new DeviceUnreachable(device);
    if (err instanceof LinkRefused) throw new CommandRejected(`terminal refused ${cmd.type}: ${err.message}`);
    if (err instanceof LinkTimeout || err instanceof ResultTimeout || err instanceof TerminalRestarted)
      throw new CommandFailed(`${cmd.type}: ${err.message}`);
    throw err;
  }
  if (result.code === 'rejected')
    throw new CommandRejected(`terminal rejected ${cmd.type}: ${result.message}`, result.values);
  if (result.code === 'failed')
    throw new CommandFailed(`terminal failed ${cmd.type}: ${result.message}`, result.values);
  ctx.log.info({ terminal: device, command: cmd.type }, 'terminal command done');
  return result;
}

/**
 * Waits for terminals to come back: `next` resolves with a terminal's first hello from a boot
 * other than `bootCount` (the confirmation step of a firmware update), `heard` is told every hello.
 */
export class BootWatch {
  private readonly waiters = new Map<string, Set<(hello: Hello) => void>>();

  heard(hello: Hello): void {
    for (const waiter of this.waiters.get(hello.serial) ?? []) waiter(hello);
  }

  next(serial: string, bootCount: number, timeoutMs: number, signal: AbortSignal): Promise<Hello> {
    return new Promise<Hello>((resolve, reject) => {
      const waiters = this.waiters.get(serial) ?? new Set();
      this.waiters.set(serial, waiters);
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener('abort', cancel);
        waiters.delete(waiter);
        if (waiters.size === 0) this.waiters.delete(serial);
      };
      const waiter = (hello: Hello) => hello.boot_count !== bootCount && (done(), resolve(hello));
      const cancel = () => (done(), reject(new Error('cancelled while waiting for the terminal to come back')));
      const timer = setTimeout(
        () => (done(), reject(new Error(`terminal did not come back within ${timeoutMs / 1000} s`))),
        timeoutMs,
      );
      signal.addEventListener('abort', cancel, { once: true });
      waiters.add(waiter);
    });
  }
}
