/**
 * The contract between `fleetpulse simulate` and each plugin's simulator: a fleet of fake devices
 * speaking the real protocol to a real server.
 */
export interface SimulatorProgress {
  /** Reports how far the run is, shown as one progress line (e.g. `connected`, 420, 500). */
  update(stage: string, done: number, total: number): void;
  /** Counts events (messages sent, errors) shown beside the progress line. */
  count(event: string, by?: number): void;
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
}

export interface Simulator {
  /** The CLI flag that selects it: `fleetpulse simulate --<flag> N`. */
  flag: string;
  description: string;
  /** Runs until `signal` aborts; resolves after every simulated device has disconnected. */
  run(run: SimulatorRun): Promise<void>;
}

export function defineSimulator(simulator: Simulator): Simulator {
  return simulator;
}
