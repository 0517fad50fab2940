/**
 * The security events both versions define (1.6 security whitepaper, 2.0.1 part 2 appendix),
 * and which of them are critical there (a charger must deliver those, queued while offline).
 * Chargers may send others; those are stored as not critical.
 */
export const CRITICAL_SECURITY_EVENTS: ReadonlySet<string> = new Set([
  'FirmwareUpdated',
  'SettingSystemTime',
  'StartupOfTheDevice',
  'ResetOrReboot',
  'SecurityLogWasCleared',
  'MemoryExhaustion',
  'TamperDetectionActivated',
]);

/**
 * The critical events that page someone: the others (a boot, a firmware update, a clock set)
 * are part of normal operation, and the offline and firmware rules already watch those.
 */
export const ALERTING_SECURITY_EVENTS = ['TamperDetectionActivated', 'SecurityLogWasCleared', 'MemoryExhaustion'];
