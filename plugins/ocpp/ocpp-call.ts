/** A call to send, and how to read its answer. */
export interface OcppCall {
  action: string;
  payload: Record<string, unknown>;
  /** Reads the answer: `ok` → result, `rejected` / `failed` → the command ends so. */
  interpret(answer: Record<string, unknown>): {
    outcome: 'ok' | 'rejected' | 'failed';
    result: unknown;
    reason?: string;
  };
}
