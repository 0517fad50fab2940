/**
 * A request refused for something the caller did wrong, by any store or service behind the API
 * (inventory, commands, firmware, rollouts, incidents, maintenance windows, sessions, reports).
 * Each extends it with its own name; the API maps `code` (and `field`) to its error catalogue in
 * one place (api/errors-handler.ts); anything else thrown is a bug.
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
