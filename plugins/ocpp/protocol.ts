/**
 * The parts of OCPP-J that ocpp-rpc leaves to us, pure (no I/O): which subprotocol a client gets,
 * which identities are acceptable, and which CALLERROR code a bad frame earns in each version.
 * Framing, schema validation and message ids are ocpp-rpc's (strict mode).
 */
import { createRPCError } from 'ocpp-rpc';
import { deviceIdProblem } from '../../collector/sdk/index.ts';
import { PROTOCOLS, type OcppVersion } from './config.ts';

/** Server preference: the newest version both sides speak. */
const PREFERENCE: readonly OcppVersion[] = ['ocpp2.0.1', 'ocpp1.6'];

/** The subprotocol to answer with, or undefined when the client offers none we speak. */
export function chooseProtocol(offered: ReadonlySet<string>): OcppVersion | undefined {
  return PREFERENCE.find((p) => offered.has(p));
}

export function isVersion(p: string | undefined): p is OcppVersion {
  return (PROTOCOLS as readonly string[]).includes(p ?? '');
}

/**
 * Why an identity is refused, or undefined when it is fine. OCPP identities are at most 48
 * characters; a colon would break the Basic Auth username (RFC 7617); and every identity is a
 * device id (the SDK's one rule: what line protocol can carry).
 */
export function identityProblem(identity: string): string | undefined {
  if (identity.length === 0) return 'no charger identity in the URL';
  if (identity.length > 48) return 'identity longer than 48 characters';
  if (identity.includes(':')) return 'identity must not contain ":"';
  return deviceIdProblem(identity);
}

/**
 * The CALLERROR code for a frame ocpp-rpc could not take apart. ocpp-rpc answers with the 2.0.1
 * codes (RpcFrameworkError, MessageTypeNotSupported) whatever the version; OCPP-J 1.6 has neither,
 * and its nearest is FormationViolation ("not conform the PDU structure").
 */
export function frameErrorCode(version: OcppVersion, code: string): string {
  if (version !== 'ocpp1.6') return code;
  if (code === 'RpcFrameworkError' || code === 'MessageTypeNotSupported' || code === 'FormatViolation')
    return 'FormationViolation';
  if (code === 'OccurenceConstraintViolation') return 'OccurrenceConstraintViolation';
  return code;
}

/** Random factor in [1 − jitter, 1 + jitter]; `random` is injectable for tests. */
export function jittered(base: number, jitter: number, random: () => number = Math.random): number {
  return base * (1 + jitter * (2 * random() - 1));
}

/** Epoch ms of an OCPP dateTime, or undefined when it is not one. */
export function epochMs(dateTime: string | undefined): number | undefined {
  if (dateTime === undefined) return undefined;
  const t = Date.parse(dateTime);
  return Number.isFinite(t) ? t : undefined;
}

/**
 * A CALLERROR to throw from a handler. ocpp-rpc types `createRPCError` as a plain record, but it
 * returns an `RPCError` (an Error subclass), which is what its server turns into the frame.
 */
export function rpcError(type: string, message: string, details?: Record<string, unknown>): Error {
  return createRPCError(type, message, details) as Error;
}
