import { defineMeasurement } from '../sdk/index.ts';

/**
 * What the operations layer writes to InfluxDB. Dashboards and alert rules import the names from
 * here, so a renamed field breaks the build, not a panel.
 */
export const commandOutcome = defineMeasurement({
  name: 'command_outcome',
  description:
    'One point per state change of a durable command (queued, sent, and its one terminal state; `queued` again when its device dropped off as it was sent). Sum `count` by `command` and `status` for counts of state changes (terminal states count commands); `latency_ms` is set on terminal states.',
  tags: {
    command: 'Command name, e.g. reboot, update_firmware',
    status: 'queued | sent | succeeded | failed | rejected | expired | timed_out | cancelled',
    source: 'Who created it: api | rollout | recovery',
  },
  fields: {
    count: { type: 'int', description: 'Always 1: sum it' },
    latency_ms: {
      type: 'float',
      unit: 'ms',
      description: 'From sent to the terminal state (absent unless the command was sent)',
    },
    wait_ms: {
      type: 'float',
      unit: 'ms',
      description: 'From created to sent, or to the terminal state for commands never sent',
    },
  },
});

export const rolloutProgress = defineMeasurement({
  name: 'rollout_progress',
  description:
    "Progress of a firmware rollout, written whenever a device of it changes state: one series per rollout, so a dashboard shows rollouts without reading every device's firmware reports.",
  tags: {
    rollout: 'Rollout id',
    version: 'Target firmware version',
    model: 'Device model the firmware is for',
    kind: "Kind of the rollout's devices (from the inventory; absent if its devices are gone)",
  },
  fields: {
    done: { type: 'int', description: 'Devices confirmed on the target version' },
    failed: { type: 'int', description: 'Devices whose update failed' },
    pending: { type: 'int', description: 'Devices not finished yet' },
    percent: { type: 'float', unit: '%', description: 'done / all devices × 100' },
    status: { type: 'string', description: 'running | paused | halted | aborted | completed' },
  },
});

export const rolloutFailure = defineMeasurement({
  name: 'rollout_failure',
  description:
    'One point per device whose update failed in a rollout, written by the rollout scheduler when it marks the device failed (the runtime adds the inventory tags). A "failed updates" list reads the series of the devices that failed, not every device\'s firmware reports.',
  tags: { rollout: 'Rollout id', version: 'Target firmware version' },
  fields: {
    error: {
      type: 'string',
      description: "Why: the command's failure, no confirmation in time, or offline at too many turns",
    },
    wave: { type: 'int', description: 'The wave the device was in (0 = canary)' },
  },
});

export const operationsMeasurements = [commandOutcome, rolloutProgress, rolloutFailure];
