import type { FastifyInstance, FastifyRequest } from 'fastify';

export interface ApiAnswer<T = unknown> {
  status: number;
  body: T;
  /** The API's error message, when it refused. */
  error?: string;
}

/**
 * The pages act through the API itself, injected in-process with the session's token: the same
 * key check, roles, validation, audit row under the key's name, and error messages as a curl.
 * The client's address is passed on, so `http.allow` and the audit see the real caller.
 */
export class ApiClient {
  constructor(
    private readonly app: FastifyInstance,
    private readonly prefix: string,
  ) {}

  async call<T = unknown>(
    request: FastifyRequest,
    token: string,
    method: 'GET' | 'POST' | 'DELETE',
    path: string,
    body?: unknown,
  ): Promise<ApiAnswer<T>> {
    const answer = await this.app.inject({
      method,
      url: `${this.prefix}${path}`,
      remoteAddress: request.ip,
      headers: { authorization: `Bearer ${token}`, ...(body !== undefined && { 'content-type': 'application/json' }) },
      ...(body !== undefined && { payload: JSON.stringify(body) }),
    });
    const type = String(answer.headers['content-type'] ?? '');
    const parsed: unknown = type.includes('json') && answer.body ? JSON.parse(answer.body) : answer.body;
    const error = answer.statusCode >= 400 ? (parsed as { error?: { message?: string } })?.error?.message : undefined;
    return { status: answer.statusCode, body: parsed as T, ...(error !== undefined && { error }) };
  }
}
