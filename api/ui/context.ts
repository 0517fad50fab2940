/** What the operator pages share: the plugin's options and what every page handler gets. */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ApiKeyInfo, Inventory } from '../../collector/inventory/index.ts';
import type { Operations } from '../../collector/operations/operations.ts';
import type { AccessTable } from '../access-table.ts';
import type { ApiAnswer } from './api-client.ts';
import type { Html } from './html.ts';
import type { Viewer } from './layout.ts';
import type { UiSessions } from './sessions.ts';

export interface UiOptions {
  /** The server the API is mounted on, to inject the pages' API calls into. */
  server: FastifyInstance;
  apiPrefix: string;
  inventory: Inventory;
  operations?: Operations;
  sessions: UiSessions;
  access: AccessTable;
  authFailures: { max: number; timeWindowMs: number };
}

export const SESSION_COOKIE = 'fp_ui_session';

/** What every signed-in page handler gets. */
export interface UiRequest {
  viewer: Viewer;
  key: ApiKeyInfo;
  /** Whether this key may call the API route `method url` (url as registered, without the prefix). */
  can(method: string, url: string): boolean;
  api<T = unknown>(method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown): Promise<ApiAnswer<T>>;
  /** Renders a page (the flash from `?done=` of a redirect after a post is shown at the top). */
  render(title: string, body: Html): Html;
}

export interface UiContext {
  options: UiOptions;
  /** A signed-in GET page. */
  get(path: string, handler: (ui: UiRequest, request: FastifyRequest, reply: FastifyReply) => Promise<unknown>): void;
  /**
   * A signed-in form post with a valid CSRF token: `handler` calls the API and returns where to go
   * next with what to say; an API refusal is shown with the API's status and message.
   */
  post(
    path: string,
    handler: (
      ui: UiRequest,
      form: Record<string, string>,
      request: FastifyRequest,
    ) => Promise<{ answer: ApiAnswer; redirect: string; done: string }>,
  ): void;
  audit(request: FastifyRequest, key: ApiKeyInfo | null, action: string, status: number, target?: string | null): void;
}

/** One cookie's value from the request's Cookie header. */
export function cookie(request: FastifyRequest, name: string): string | undefined {
  for (const part of (request.headers.cookie ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return decodeURIComponent(part.slice(eq + 1).trim());
  }
  return undefined;
}
