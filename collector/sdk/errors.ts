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
 * The inventory will not take this unknown device: its id breaks the device id rule (`bad_id`),
 * too many are pending approval (`pending_full`), or too many new ones came from this source
 * address this minute (`pending_rate`). The door refuses the connection or the line and counts the reason.
 */
export class DiscoveryRefused extends Error {
  override name = 'DiscoveryRefused';
  constructor(
    readonly deviceId: string,
    readonly reason: 'bad_id' | 'pending_full' | 'pending_rate',
    detail?: string,
  ) {
    super(`device ${JSON.stringify(deviceId).slice(0, 80)} refused: ${detail ?? DISCOVERY_REFUSALS[reason]}`);
  }
}

const DISCOVERY_REFUSALS = {
  bad_id: 'not a valid device id',
  pending_full: 'too many devices are pending approval',
  pending_rate: 'too many new devices from this address this minute',
} as const;

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

/**
 * Whether a SQLite error means "cannot write to the disk now": SQLITE_FULL (SQLite reports a
 * write that failed with ENOSPC so) and the SQLITE_IOERR family, which is how a full disk shows
 * through the WAL index (`SQLITE_IOERR_SHMSIZE`) and on some file systems. Both are treated as the
 * same state: nothing can be stored until a write succeeds again. Anything else is a bug and
 * is thrown.
 */
export function isDiskFull(err: unknown): err is Error & { code: string } {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && (code === 'SQLITE_FULL' || code.startsWith('SQLITE_IOERR'));
}
