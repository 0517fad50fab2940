// The plugin SDK: everything a plugin may import. It imports nothing else from this repository.
// Test and simulation tools have their own entry points (testing.ts, simulation.ts): importing
// this file never loads them (index.test.ts checks).
export * from './point.ts';
export * from './measurement.ts';
export * from './devices.ts';
export * from './errors.ts';
export * from './plugin.ts';
export * from './recovery.ts';
export * from './simulator.ts';
export * from './line-head.ts';
export { MemoryDirectory } from './memory-directory.ts';
export { conformFields, fieldSetMismatch } from './conform.ts';
export { deviceIdProblem, DEVICE_ID_PATTERN, MAX_DEVICE_ID_LENGTH } from './device-id.ts';
export {
  OutboundPolicy,
  OutboundRefused,
  parseHostPort,
  type OutboundPolicyOptions,
  type Resolve,
} from './outbound-policy.ts';
export { outboundRequest, type OutboundRequest, type OutboundResponse } from './outbound-http.ts';
export { classify, normalizeHost, type AddressClass } from './outbound-address.ts';
export { messageText } from './ws-text.ts';
export {
  addDays,
  localParts,
  localToInstant,
  offsetAt,
  weekdayOf,
  type LocalDate,
  type LocalDateTime,
} from './zoned-time.ts';
export { Type } from 'typebox';
export type { Static, TSchema } from 'typebox';
