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
  /** Credentials/options the CLI passes through (`--opt key=value`). */
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
}

export interface Simulator {
  /** The CLI flag that selects it: `fleetpulse simulate --<flag> N`. */
  flag: string;
  description: string;
  /** Its plugin's folder, when not named like the flag: hints point to `plugins/<plugin>/README.md`. */
  plugin?: string;
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
