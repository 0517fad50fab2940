import type { FastifyRequest } from 'fastify';
import type { Static, TSchema } from 'typebox';
import { Refusal } from '../../collector/errors.ts';
import { toApiError } from '../errors-handler.ts';
import { apiErrors, type ApiError } from '../errors.ts';
import { describe, validatorCompiler } from '../validation.ts';
import type { ApiAnswer } from './api-client.ts';
import type { UiRequest } from './context.ts';

type Validate = (input: unknown) => { value?: unknown; error?: Parameters<typeof describe>[0] };

/**
 * A read a page makes in-process without injecting a request, for the pages loaded most (the
 * incident list, the device page's incidents): the API route's role (its `minRole` in the access
 * table), its query validation, the function it answers with, and its refusals mapped as the API
 * maps them. An injected request also ran the API's hooks and serialized the answer, which the
 * page then parsed again: ~40 % of the incident list's CPU (docs/ui.md). GETs write no audit row.
 */
export class DirectRead<S extends TSchema, T> {
  private readonly validate: Validate;

  constructor(
    /** The API route as registered, without the prefix: `/incidents`. */
    private readonly route: string,
    query: S,
    /** Undefined when the API has no such route (a server without operations). */
    private readonly read: ((query: Static<S>) => T) | undefined,
  ) {
    this.validate = validatorCompiler({
      schema: query,
      method: 'GET',
      url: route,
      httpPart: 'querystring',
    }) as Validate;
  }

  answer(ui: UiRequest, query: Record<string, string>): ApiAnswer<T> {
    if (!this.read) return refused(apiErrors.notFound(`no route GET ${this.route}`));
    if (!ui.can('GET', this.route))
      return refused(apiErrors.forbidden(`role '${ui.key.role}' may not GET ${this.route}`));
    const checked = this.validate(query);
    if (checked.error) {
      const problem = describe(checked.error);
      const field = problem.field || 'querystring';
      return refused(apiErrors.validation(field, `${field}: ${problem.message}`, { in: 'querystring' }));
    }
    try {
      return { status: 200, body: this.read(checked.value as Static<S>), type: 'application/json' };
    } catch (err) {
      if (!(err instanceof Refusal)) throw err;
      return refused(toApiError(err, undefined as unknown as FastifyRequest));
    }
  }
}

function refused(error: ApiError): ApiAnswer<never> {
  return { status: error.statusCode, body: undefined as never, error: error.message, type: 'application/json' };
}
