import { Refusal, type RefusalCode } from '../errors.ts';

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
