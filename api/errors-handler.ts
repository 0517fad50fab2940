import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Refusal } from '../collector/errors.ts';
import { InfluxQueryError } from '../collector/pipeline/influx-query.ts';
import { ApiError, ERRORS, type ErrorCode } from './errors.ts';
import { describe, type Problem } from './validation.ts';

/** Turns whatever a route throws into the catalogue's shape; unknown errors become FP_INTERNAL. */
export function installErrorHandling(app: FastifyInstance, onDatabaseError?: (code: string) => void): void {
  app.setErrorHandler((err: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
    // better-sqlite3's SqliteError carries SQLite's code (SQLITE_BUSY, SQLITE_FULL, SQLITE_CORRUPT ...).
    if (typeof err.code === 'string' && err.code.startsWith('SQLITE_')) onDatabaseError?.(err.code);
    const apiError = toApiError(err, request, reply);
    if (apiError.statusCode >= 500) request.log.error({ err }, 'request failed');
    return reply.status(apiError.statusCode).send(apiError.toBody());
  });
  app.setNotFoundHandler((request, reply) => {
    const error = new ApiError('FP_NOT_FOUND', `no route ${request.method} ${request.url.split('?')[0]}`);
    return reply.status(404).send(error.toBody());
  });
}

export function toApiError(err: FastifyError, request: FastifyRequest, reply?: FastifyReply): ApiError {
  if (err instanceof ApiError) return err;
  if (err instanceof Refusal) {
    // Something a body field names that does not exist (a command's device) is a bad field, not
    // a missing resource at the URL.
    const code: ErrorCode =
      err.code === 'not_found'
        ? err.field
          ? 'FP_VALIDATION'
          : 'FP_NOT_FOUND'
        : err.code === 'conflict'
          ? 'FP_CONFLICT'
          : 'FP_VALIDATION';
    return new ApiError(code, err.message, err.field, err.details);
  }
  // InfluxDB refused or failed a query a route needed (reports): a backing service, not the caller.
  if (err instanceof InfluxQueryError) return new ApiError('FP_UPSTREAM', `InfluxDB: ${err.message}`);
  if (err.validation) {
    const problem = describe(err.validation) as Problem;
    const part = err.validationContext ?? 'body';
    const field = problem.field || (part === 'body' ? 'body' : part);
    return new ApiError('FP_VALIDATION', `${field}: ${problem.message}`, field, { in: part });
  }
  switch (err.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new ApiError(
        'FP_PAYLOAD_TOO_LARGE',
        `the body is larger than this route accepts (${request.routeOptions.bodyLimit ?? '?'} bytes)`,
        'body',
        { limit_bytes: request.routeOptions.bodyLimit },
      );
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new ApiError(
        'FP_UNSUPPORTED_MEDIA_TYPE',
        `content type '${request.headers['content-type'] ?? ''}' is not accepted here`,
        'content-type',
      );
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new ApiError('FP_BAD_JSON', 'the body is empty but the content type says JSON', 'body');
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return new ApiError('FP_BAD_JSON', `the body is not valid JSON: ${err.message}`, 'body');
  }
  if (err.statusCode === 429) {
    const retryAfter = Number(reply?.getHeader('retry-after') ?? 0);
    return new ApiError('FP_RATE_LIMITED', `too many requests; retry in ${retryAfter} s`, undefined, {
      retry_after_s: retryAfter,
    });
  }
  if (err instanceof SyntaxError && err.statusCode === 400) {
    return new ApiError('FP_BAD_JSON', `the body is not valid JSON: ${err.message}`, 'body');
  }
  if (err.statusCode === 413) return new ApiError('FP_PAYLOAD_TOO_LARGE', err.message, 'body');
  if (err.statusCode === 415) return new ApiError('FP_UNSUPPORTED_MEDIA_TYPE', err.message, 'content-type');
  if (err.statusCode === 405) return new ApiError('FP_METHOD_NOT_ALLOWED', err.message);
  if (err.statusCode === 404) return new ApiError('FP_NOT_FOUND', err.message);
  if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500)
    return new ApiError('FP_VALIDATION', err.message);
  return new ApiError('FP_INTERNAL', ERRORS.FP_INTERNAL.title);
}
