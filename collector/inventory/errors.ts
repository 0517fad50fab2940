/**
 * Errors the inventory throws for things a caller did wrong. The API maps `reason` to its error
 * catalogue (not_found → 404, conflict → 409, invalid → 400); anything else is a bug.
 */
export type InventoryErrorReason = 'not_found' | 'conflict' | 'invalid';

export class InventoryError extends Error {
  override name = 'InventoryError';
  constructor(
    readonly reason: InventoryErrorReason,
    message: string,
    /** The input field the error is about, e.g. `site` or `labels.zone`. */
    readonly field?: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
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
