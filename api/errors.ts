/**
 * The API's error catalogue: one place for every code a client can receive. Codes are API:
 * never rename one; add a new code instead. Every error body has the same shape:
 *
 *   { "error": { "code": "FP_VALIDATION", "message": "...", "field": "kind", "details": {...} } }
 *
 * `field` names the input the error is about (`kind`, `labels.zone`, `limit`, `[3].id`), when
 * there is one; `details` carries structured context (an import's row report, conflicting ids).
 */
export const ERRORS = {
  FP_VALIDATION: { status: 400, title: 'The request is not valid' },
  FP_BAD_JSON: { status: 400, title: 'The body is not valid JSON' },
  FP_UNAUTHENTICATED: { status: 401, title: 'A valid API key is required' },
  FP_FORBIDDEN: { status: 403, title: "The API key's role does not allow this" },
  FP_NETWORK_NOT_ALLOWED: { status: 403, title: 'Requests from this network may not use the API' },
  FP_NOT_FOUND: { status: 404, title: 'No such resource' },
  FP_METHOD_NOT_ALLOWED: { status: 405, title: 'Method not allowed' },
  FP_CONFLICT: { status: 409, title: 'The request conflicts with the current state' },
  FP_PAYLOAD_TOO_LARGE: { status: 413, title: 'The body is larger than this route accepts' },
  FP_UNSUPPORTED_MEDIA_TYPE: { status: 415, title: 'The body has a content type this route does not accept' },
  FP_IMPORT_INVALID: { status: 422, title: 'Some rows of the import are not valid; nothing was imported' },
  FP_RATE_LIMITED: { status: 429, title: 'Too many requests for this API key' },
  FP_UPSTREAM: { status: 502, title: 'A backing service failed' },
  FP_INTERNAL: { status: 500, title: 'Internal error' },
} as const;

export type ErrorCode = keyof typeof ERRORS;

export interface ErrorBody {
  error: {
    code: ErrorCode;
    message: string;
    field?: string;
    details?: Record<string, unknown>;
  };
}

export class ApiError extends Error {
  override name = 'ApiError';
  readonly statusCode: number;

  constructor(
    readonly code: ErrorCode,
    message: string = ERRORS[code].title,
    readonly field?: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.statusCode = ERRORS[code].status;
  }

  toBody(): ErrorBody {
    const body: ErrorBody = { error: { code: this.code, message: this.message } };
    if (this.field !== undefined) body.error.field = this.field;
    if (this.details !== undefined) body.error.details = this.details;
    return body;
  }
}

export const apiErrors = {
  validation: (field: string | undefined, message: string, details?: Record<string, unknown>) =>
    new ApiError('FP_VALIDATION', message, field, details),
  unauthenticated: (message: string) => new ApiError('FP_UNAUTHENTICATED', message),
  forbidden: (message: string, details?: Record<string, unknown>) =>
    new ApiError('FP_FORBIDDEN', message, undefined, details),
  notFound: (message: string, details?: Record<string, unknown>) =>
    new ApiError('FP_NOT_FOUND', message, undefined, details),
  conflict: (message: string, field?: string, details?: Record<string, unknown>) =>
    new ApiError('FP_CONFLICT', message, field, details),
};
