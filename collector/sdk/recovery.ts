import type { DeviceStatusState } from './devices.ts';

/**
 * An auto-recovery rule a plugin declares for its device kinds (`PluginDefinition.recovery`): the
 * core's auto-recovery runs `command` when a device's liveness state has held for `for_s`.
 */
export interface RecoveryRule<K extends string = string> {
  /** Names the rule in the audit log and on incidents. */
  name: string;
  /** Device kinds it watches. */
  kinds: readonly K[];
  /** The liveness state that must hold. */
  state: Extract<DeviceStatusState, 'error' | 'offline'>;
  /** For this long, s. */
  for_s: number;
  command: string;
  params?: Record<string, unknown>;
  /**
   * Who gets the command: the device itself (default), or the device named by one of its labels
   * (an agent silent for 15 minutes: the smart plug in its `plug` label is power-cycled).
   */
  via_label?: string;
  /**
   * The rule runs only while the device has had fewer attempts than this in the past 24 hours,
   * counting the attempts of every rule (the cap is per device and day, as a device that two
   * rules keep resetting is no better off). Default 3.
   */
  max_per_day?: number;
}
