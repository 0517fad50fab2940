/**
 * A request refused for something the caller did wrong, by any store behind the API (inventory,
 * commands, firmware, rollouts, incidents, maintenance windows). The API maps `code` to its
 * error catalogue in one place (api/errors-handler.ts); anything else thrown is a bug.
 */
export type RefusalCode = 'not_found' | 'conflict' | 'invalid';

export class Refusal extends Error {
  constructor(
    readonly code: RefusalCode,
    message: string,
    /** The input field the error is about, e.g. `site` or `labels.zone`. */
    readonly field?: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
  }
}

export type InventoryErrorReason = RefusalCode;

export class InventoryError extends Refusal {
  override name = 'InventoryError';
  /** The inventory's name for `code`. */
  readonly reason: InventoryErrorReason;

  constructor(reason: InventoryErrorReason, message: string, field?: string, details?: Record<string, unknown>) {
    super(reason, message, field, details);
    this.reason = reason;
  }
}

export function notFound(what: string, id: string): InventoryError {
  return new InventoryError('not_found', `${what} '${id}' does not exist`, undefined, { [what]: id });
}

export function invalid(field: string, message: string): InventoryError {
  return new InventoryError('invalid', message, field);
}

export function conflict(message: string, details?: Record<string, unknown>, field?: string): InventoryError {
  return new InventoryError('conflict', message, field, details);
}
