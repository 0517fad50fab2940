import { Compile } from 'typebox/compile';
import {
  CommandFailed,
  CommandRejected,
  definePlugin,
  DeviceUnreachable,
  Type,
  type Command,
  type PluginContext,
} from '../../collector/sdk/index.ts';
import { config, type Tc200Config } from './config.ts';
import { updateFirmware, UpdateFirmwareParams } from './firmware.ts';
import { LinkClosed, LinkRefused, LinkTimeout } from './link.ts';
import { measurements } from './metrics.ts';
import { parametersToWire, TerminalParameters } from './parameters.ts';
import type { Hello, Result } from './protocol.ts';
import { ResultTimeout, TerminalPort, TerminalRestarted, type HostCommand } from './terminal-port.ts';

const NoParams = Type.Object({}, { additionalProperties: false });

/**
 * TC-200 payment terminals on USB serial ports of a store PC (runs in `fleetpulse agent`). The
 * wire protocol is in PROTOCOL.md; the device id is the terminal's serial number from its hello.
 */
export default definePlugin({
  name: 'tc200',
  description: 'TC-200 payment terminals over USB serial: status, liveness, reboot, parameters, diagnostics, firmware update',
  kinds: ['terminal'],
  runs_in: ['agent'],
  config,
  measurements,
  commands: {
    reboot: { description: 'Reboots the terminal; it says hello again when it is back', params: NoParams, timeout_s: 30 },
    set_parameters: { description: 'Sets terminal parameters (only those given)', params: TerminalParameters, timeout_s: 30 },
    get_diagnostics: { description: 'Returns the terminal\'s self-test and log tail', params: NoParams, timeout_s: 30 },
    update_firmware: {
      description: 'Transfers a firmware image in acknowledged chunks, verifies its SHA-256, applies it and confirms the new version after reboot',
      params: UpdateFirmwareParams,
      timeout_s: 900,
    },
  },
  reporting_interval_s: (c) => c.heartbeat_interval_s,

  async start(ctx) {
    const helloWaiters = new Map<string, Set<(hello: Hello) => void>>();
    const checkParameters = Compile(TerminalParameters);
    const updating = new Set<string>();

    const onHello = (hello: Hello, port: TerminalPort) => {
      for (const waiter of helloWaiters.get(hello.serial) ?? []) waiter(hello);
      // The agent's configuration decides how often terminals report, so liveness matches it.
      const { heartbeat_interval_s, status_interval_s } = ctx.config;
      port.request({ type: 'set_params', params: parametersToWire({ heartbeat_interval_s, status_interval_s }) }).catch((err: Error) => {
        ctx.count('set_intervals_failed');
        ctx.log.warn({ terminal: hello.serial, err: err.message }, 'could not set report intervals on the terminal');
      });
    };
    const nextBoot = (serial: string, bootCount: number, timeoutMs: number, signal: AbortSignal) =>
      new Promise<Hello>((resolve, reject) => {
        const waiters = helloWaiters.get(serial) ?? new Set();
        helloWaiters.set(serial, waiters);
        const done = () => {
          clearTimeout(timer);
          signal.removeEventListener('abort', cancel);
          waiters.delete(waiter);
          if (waiters.size === 0) helloWaiters.delete(serial);
        };
        const waiter = (hello: Hello) => hello.boot_count !== bootCount && (done(), resolve(hello));
        const cancel = () => (done(), reject(new Error('cancelled while waiting for the terminal to come back')));
        const timer = setTimeout(() => (done(), reject(new Error(`terminal did not come back within ${timeoutMs / 1000} s`))), timeoutMs);
        signal.addEventListener('abort', cancel, { once: true });
        waiters.add(waiter);
      });

    const ports = ctx.config.ports.map((p) => new TerminalPort(ctx, p.path, p.baud_rate, onHello));
    for (const port of ports) port.start();
    ctx.gauge('ports', ports.length);

    return {
      async stop() {
        await Promise.all(ports.map((p) => p.stop()));
      },
      async execute(device: string, command: Command) {
        const terminal = ctx.connection<TerminalPort>(device);
        if (!terminal?.hello) throw new DeviceUnreachable(device);
        switch (command.name) {
          case 'reboot':
            return values(await ask(ctx, terminal, device, { type: 'reboot' }, command.signal));
          case 'get_diagnostics':
            return values(await ask(ctx, terminal, device, { type: 'get_diagnostics' }, command.signal));
          case 'set_parameters': {
            if (!checkParameters.Check(command.params)) {
              const first = [...checkParameters.Errors(command.params)][0];
              throw new CommandRejected(`set_parameters: ${first?.instancePath || 'parameters'} ${first?.message ?? 'invalid'}`);
            }
            const wire = parametersToWire(command.params as TerminalParameters);
            return values(await ask(ctx, terminal, device, { type: 'set_params', params: wire }, command.signal));
          }
          case 'update_firmware': {
            // One transfer per terminal: a second would interleave chunks into the same staging area.
            if (updating.has(device)) throw new CommandRejected(`a firmware update of ${device} is already running`);
            updating.add(device);
            try {
              return await updateFirmware({ ctx, nextBoot }, terminal, command.params as UpdateFirmwareParams, command.signal);
            } finally {
              updating.delete(device);
            }
          }
          default:
            throw new CommandRejected(`tc200 has no command ${command.name}`);
        }
      },
    };
  },
});

/** One request/response command, with link and device outcomes mapped to the SDK's errors. */
async function ask(ctx: PluginContext<Tc200Config>, terminal: TerminalPort, device: string, cmd: HostCommand, signal: AbortSignal): Promise<Result> {
  let result: Result;
  try {
    result = await terminal.request(cmd, signal);
  } catch (err) {
    if (err instanceof LinkClosed) throw new DeviceUnreachable(device);
    if (err instanceof LinkRefused) throw new CommandRejected(`terminal refused ${cmd.type}: ${err.message}`);
    if (err instanceof LinkTimeout || err instanceof ResultTimeout || err instanceof TerminalRestarted) throw new CommandFailed(`${cmd.type}: ${err.message}`);
    throw err;
  }
  if (result.code === 'rejected') throw new CommandRejected(`terminal rejected ${cmd.type}: ${result.message}`, result.values);
  if (result.code === 'failed') throw new CommandFailed(`terminal failed ${cmd.type}: ${result.message}`, result.values);
  ctx.log.info({ terminal: device, command: cmd.type }, 'terminal command done');
  return result;
}

const values = (result: Result) => result.values;
