/**
 * Errors with a meaning the runtime acts on. Anything else thrown by a plugin is a failure with
 * context, logged and counted, never fatal for other devices.
 */
export class PluginConfigError extends Error {
  override name = 'PluginConfigError';
  constructor(
    readonly plugin: string,
    readonly key: string,
    reason: string,
  ) {
    super(`plugins.${plugin}${key ? '.' + key : ''}: ${reason}`);
  }
}

/** The device answered and refused the command (OCPP `Rejected`, a NAK frame, ...). */
export class CommandRejected extends Error {
  override name = 'CommandRejected';
  constructor(
    message: string,
    readonly result?: unknown,
  ) {
    super(message);
  }
}

/** The device accepted the command but could not carry it out. */
export class CommandFailed extends Error {
  override name = 'CommandFailed';
  constructor(
    message: string,
    readonly result?: unknown,
  ) {
    super(message);
  }
}

/** The device is not connected to this plugin instance now. */
export class DeviceUnreachable extends Error {
  override name = 'DeviceUnreachable';
  constructor(readonly deviceId: string) {
    super(`device ${deviceId} is not connected`);
  }
}

/** A point that does not match its declared measurement: a plugin bug, reported loudly. */
export class UndeclaredMeasurement extends Error {
  override name = 'UndeclaredMeasurement';
}

/**
 * Points that were not stored, so must not be acknowledged: `committed()` rejects with it.
 * `disk_full`: the runtime's disk is full; it takes points again by itself once a write succeeds,
 * so the sender should keep them and send them again later.
 */
export class PointsRefused extends Error {
  override name = 'PointsRefused';
  constructor(readonly reason: 'disk_full') {
    super(`points not stored: ${reason.replace('_', ' ')}`);
  }
}
