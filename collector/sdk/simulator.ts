import type { Point } from './point.ts';

/**
 * The contract between `fleetpulse simulate` and each plugin's simulator: a fleet of fake devices
 * speaking the real protocol to a real server.
 */
export interface SimulatorProgress {
  /** Reports how far the run is, shown as one progress line (e.g. `connected`, 420, 500). */
  update(stage: string, done: number, total: number): void;
  /** Counts events (messages sent, errors) shown beside the progress line. */
  count(event: string, by?: number): void;
  /**
   * A device the server refused (HTTP 401/403, BootNotification Pending, a rejected signature).
   * The CLI prints the first refusal with a hint on how to get devices registered; the simulator
   * still counts refusals itself. Optional so that tests can pass `{ update, count }`.
   */
  refused?(device: string, reason: string): void;
}

/**
 * A device a simulator plays, as `fleetpulse simulate --api-key` registers it through the API
 * before the run (`POST /devices/import`, mode upsert, lifecycle active).
 */
export interface SimulatedDevice {
  id: string;
  /** A device kind an installed plugin serves (`pc`, `charger`, `pos`, ...). */
  kind: string;
  model?: string;
  firmware?: string;
  /** The device it reports through (a POS behind its back office): it is placed at the gateway's site. */
  gateway?: string;
  /** E.g. `{ protocol: 'shelly', address: '127.0.0.1:18100' }` for a plug the server polls. */
  labels?: Record<string, string>;
  /**
   * The credential type the device presents (`agent_token`, `ocpp_password`, `pos_hmac`, ...).
   * The CLI issues one (or rotates the device's active one, since secrets are shown only at
   * issue or rotation) and passes the secret to `run` in `credentials`.
   */
  credential?: string;
}

export interface SimulatorRun {
  /** Base URL of the server, e.g. `http://127.0.0.1:8080`. */
  server: string;
  /** How many devices to simulate. */
  count: number;
  /**
   * Options from the command line, by their snake_case name: `--opt key=value`, and each option
   * a chosen simulator declares (`Simulator.options`) also as `--kebab-case value`. Values are
   * text as typed; a declared option not given is absent (the simulator applies its default).
   */
  options: Record<string, string>;
  progress: SimulatorProgress;
  /** Aborted on Ctrl-C or at the end of `--duration`. */
  signal: AbortSignal;
  /**
   * Secrets of provisioned devices (device id → secret), for the devices of `devices()` that
   * declare a `credential`. Absent without `--api-key`: then the simulator falls back to its
   * `--opt` credentials.
   */
  credentials?: ReadonlyMap<string, string>;
  /**
   * The runtime's line-protocol encoder (what `ctx.emit` writes with), for simulators that send
   * points as a plugin emits them instead of hand-written lines. `fleetpulse simulate` passes it;
   * a simulator that needs it says so when it is absent.
   */
  encode?: (point: Point) => string;
}

/**
 * An option a simulator reads from `SimulatorRun.options`, declared so that the CLI lists it and
 * accepts it as a flag: `terminals_per_agent` is `--terminals-per-agent N` besides
 * `--opt terminals_per_agent=N`.
 */
export interface SimulatorOption {
  description: string;
  /** What the simulator uses when the option is not given, as text (shown in the usage). */
  default?: string;
  /**
   * `number`: the CLI refuses a value that is not a finite number. `boolean`: the flag takes no
   * value (`--split` means `split=true`). Default `string`.
   */
  type?: 'string' | 'number' | 'boolean';
}

export interface Simulator {
  /** The CLI flag that selects it: `fleetpulse simulate --<flag> N`. */
  flag: string;
  description: string;
  /** Its plugin's folder, when not named like the flag: hints point to `plugins/<plugin>/README.md`. */
  plugin?: string;
  /**
   * The options it reads, by snake_case name (optional: a simulator without it still gets every
   * `--opt key=value`). Simulators chosen together share one option set, so `--prefix` reaches
   * each of them.
   */
  options?: Record<string, SimulatorOption>;
  /**
   * The devices `run` will play for this `count` and these options (the same ids), so that
   * `simulate --api-key` can register them and issue their credentials first. Optional: a
   * simulator without it is run as is.
   */
  devices?(count: number, options: Record<string, string>): SimulatedDevice[];
  /** Runs until `signal` aborts; resolves after every simulated device has disconnected. */
  run(run: SimulatorRun): Promise<void>;
}

export function defineSimulator(simulator: Simulator): Simulator {
  return simulator;
}
