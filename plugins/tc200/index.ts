import { definePlugin, DeviceUnreachable, Type, type Command } from '../../collector/sdk/index.ts';
import { BootWatch, runCommand } from './commands.ts';
import { config } from './config.ts';
import { UpdateFirmwareParams } from './firmware.ts';
import { measurements } from './measurements.ts';
import { parametersToWire, TerminalParameters } from './parameters.ts';
import type { Hello } from './protocol.ts';
import { TerminalPort } from './terminal-port.ts';

const NoParams = Type.Object({}, { additionalProperties: false });

/**
 * TC-200 payment terminals on USB serial ports of a store PC (runs in `fleetpulse agent`). The
 * wire protocol is in PROTOCOL.md; the device id is the terminal's serial number from its hello.
 */
export default definePlugin({
  name: 'tc200',
  description:
    'TC-200 payment terminals over USB serial: status, liveness, reboot, parameters, diagnostics, firmware update',
  kinds: ['terminal'],
  runs_in: ['agent'],
  config,
  measurements,
  recovery: [{ name: 'terminal_error_reboot', kinds: ['terminal'], state: 'error', for_s: 600, command: 'reboot' }],
  commands: {
    reboot: {
      description: 'Reboots the terminal; it says hello again when it is back',
      params: NoParams,
      timeout_s: 30,
    },
    set_parameters: {
      description: 'Sets terminal parameters (only those given)',
      params: TerminalParameters,
      timeout_s: 30,
    },
    get_diagnostics: { description: "Returns the terminal's self-test and log tail", params: NoParams, timeout_s: 30 },
    update_firmware: {
      description:
        'Transfers a firmware image in acknowledged chunks, verifies its SHA-256, applies it and confirms the new version after reboot',
      params: UpdateFirmwareParams,
      timeout_s: 900,
    },
  },
  reporting_interval_s: (c) => c.heartbeat_interval_s,

  async start(ctx) {
    const boots = new BootWatch();
    const updating = new Set<string>();
    const nextBoot = boots.next.bind(boots);

    const onHello = (hello: Hello, port: TerminalPort) => {
      boots.heard(hello);
      // The agent's configuration decides how often terminals report, so liveness matches it.
      const { heartbeat_interval_s, status_interval_s } = ctx.config;
      port
        .request({ type: 'set_params', params: parametersToWire({ heartbeat_interval_s, status_interval_s }) })
        .catch((err: Error) => {
          ctx.count('set_intervals_failed');
          ctx.log.warn({ terminal: hello.serial, err: err.message }, 'could not set report intervals on the terminal');
        });
    };

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
        return runCommand({ ctx, nextBoot, updating }, terminal, device, command);
      },
    };
  },
});
