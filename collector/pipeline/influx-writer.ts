/**
 * `PointWriter`s for InfluxDB: the 1.x `/write` API (also the 2.x/3.x v1-compatibility API) and
 * the 2.x/3.x `/api/v2/write` API. One `write()` = one POST, classified; never retried here.
 *
 * Plain `node:http`/`node:https` with a keep-alive agent (no client library), so that error
 * messages carry the socket error (`connect ECONNREFUSED 127.0.0.1:8086`) instead of
 * `fetch failed`. Timestamps are milliseconds (`precision=ms`).
 */
import http from 'node:http';
import https from 'node:https';
import zlib from 'node:zlib';
import { countOf, gzipLines, isPacked, type LineBatch, type PointWriter, type WriteOutcome } from './writer.ts';

export const DEFAULT_TIMEOUT_MS = 10_000;
/** How much of a response body is read for an error message. */
const MAX_ERROR_BODY = 64 * 1024;

export interface InfluxV1WriterOptions {
  /** Base URL, e.g. `http://127.0.0.1:8086` (a path prefix is kept: `https://host/influx`). */
  url: string;
  database: string;
  /** Default: the database's default retention policy. */
  retentionPolicy?: string;
  username?: string;
  password?: string;
  /** How credentials travel: an `Authorization: Basic` header (default) or `u`/`p` query params. */
  auth?: 'basic' | 'query';
  /** Default true. */
  gzip?: boolean;
  /** Whole-request timeout. Default 10 s. */
  timeoutMs?: number;
}

export interface InfluxV2WriterOptions {
  url: string;
  org: string;
  bucket: string;
  token: string;
  gzip?: boolean;
  timeoutMs?: number;
}

/** A received HTTP answer, as far as classification needs it. */
export interface WriteResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/**
 * `Retry-After` as milliseconds from `now`: delta-seconds (`120`, also `1.5`) or an HTTP date.
 * Undefined when absent or unparsable; never negative.
 */
export function parseRetryAfter(value: string | string[] | undefined, now = Date.now()): number | undefined {
  const raw = (Array.isArray(value) ? value[0] : value)?.trim();
  if (!raw) return undefined;
  if (/^\d+(\.\d+)?$/.test(raw)) return Math.round(Number(raw) * 1000);
  // An HTTP date names its month; without this, Date.parse would read `-5` as a year.
  if (!/[a-z]{3}/i.test(raw)) return undefined;
  const at = Date.parse(raw);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - now);
}

/** The error text of an InfluxDB answer: `error` (1.x), `message` (2.x/3.x), else the raw body. */
export function influxErrorText(body: string): string {
  const trimmed = body.trim();
  if (!trimmed) return '';
  try {
    const parsed: unknown = JSON.parse(trimmed);
    if (parsed && typeof parsed === 'object') {
      const obj = parsed as Record<string, unknown>;
      if (typeof obj.error === 'string' && obj.error) return obj.error;
      if (typeof obj.message === 'string' && obj.message) return obj.message;
    }
  } catch {
    // not JSON
  }
  return trimmed.length > 500 ? `${trimmed.slice(0, 500)}…` : trimmed;
}

interface ClassifyContext {
  /** `POST http://host:8086/write` (no credentials). */
  target: string;
  api: 'v1' | 'v2';
  /** `database "x"` or `bucket "x" (org "y")`, for 404 messages. */
  destination: string;
  now?: number;
}

/** Classifies one answer to a write POST. Exported for tests and for other writers. */
export function classifyWriteResponse(res: WriteResponse, ctx: ClassifyContext): WriteOutcome {
  const { status } = res;
  if (status === 204 || status === 200) return { kind: 'written' };
  const text = influxErrorText(res.body);
  const detail = `${ctx.target}: HTTP ${status}${text ? `: ${text}` : ''}`;
  switch (status) {
    case 400:
    case 422: // 2.x: well-formed but refused (schema conflict, outside retention)
      return { kind: 'rejected', error: text || detail };
    case 413:
      return { kind: 'too_large', error: detail };
    case 429:
    case 503: {
      const retryAfterMs = parseRetryAfter(res.headers['retry-after'], ctx.now);
      return retryAfterMs === undefined
        ? { kind: 'retry', error: detail }
        : { kind: 'retry', error: detail, retryAfterMs };
    }
    case 401:
    case 403:
      return {
        kind: 'retry',
        error:
          `${detail} — wrong credentials: ` +
          (ctx.api === 'v1'
            ? 'check influx.username and influx.password (and that the user may write to the database)'
            : 'check influx.token (it needs write permission on the bucket)'),
      };
    case 404:
      return {
        kind: 'retry',
        error:
          `${detail} — ${ctx.destination} is missing: ` +
          (ctx.api === 'v1'
            ? 'create it (CREATE DATABASE) or fix influx.database / influx.url'
            : 'create the bucket or fix influx.org / influx.bucket / influx.url'),
      };
    default:
      // 1.x answers a missing retention policy with a 500.
      if (ctx.api === 'v1' && /retention policy not found/i.test(text)) {
        return {
          kind: 'retry',
          error: `${detail} — the retention policy of ${ctx.destination} is missing: create it or fix influx.retentionPolicy`,
        };
      }
      // Other 5xx: the server may recover. Other 4xx: most likely configuration (wrong URL or
      // proxy); keep the batch rather than lose it, and say what came back.
      return { kind: 'retry', error: detail };
  }
}

/** Shared HTTP machinery of both writers. */
abstract class HttpLineWriter implements PointWriter {
  private readonly agent: http.Agent;
  private readonly transport: typeof http | typeof https;
  protected readonly base: URL;
  private readonly gzip: boolean;
  private readonly timeoutMs: number;

  constructor(opts: { url: string; gzip?: boolean; timeoutMs?: number }) {
    const base = new URL(opts.url);
    if (base.protocol !== 'http:' && base.protocol !== 'https:') {
      throw new Error(`InfluxDB url must be http:// or https://, got ${opts.url}`);
    }
    if (!base.pathname.endsWith('/')) base.pathname += '/';
    base.search = '';
    base.hash = '';
    this.base = base;
    this.transport = base.protocol === 'https:' ? https : http;
    this.agent = new this.transport.Agent({ keepAlive: true, maxSockets: 16 });
    this.gzip = opts.gzip ?? true;
    this.timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  }

  abstract describe(): string;
  protected abstract endpoint(): { path: string; query: URLSearchParams; headers: Record<string, string> };
  protected abstract context(target: string): ClassifyContext;

  async write(batch: LineBatch): Promise<WriteOutcome> {
    const { path, query, headers } = this.endpoint();
    const url = new URL(path, this.base);
    const target = `POST ${url.origin}${url.pathname}`;
    if (countOf(batch) === 0) return { kind: 'written' };
    url.search = query.toString();

    const sendHeaders: Record<string, string> = {
      'Content-Type': 'text/plain; charset=utf-8',
      Accept: 'application/json',
      ...headers,
    };
    if (this.gzip) sendHeaders['Content-Encoding'] = 'gzip';
    const body = this.body(batch);
    sendHeaders['Content-Length'] = String(body.length);

    let res: WriteResponse;
    try {
      res = await this.post(url, sendHeaders, body);
    } catch (err) {
      return { kind: 'retry', error: `${target}: ${(err as Error).message}` };
    }
    return classifyWriteResponse(res, this.context(target));
  }

  private body(batch: LineBatch): Buffer {
    if (isPacked(batch)) return this.gzip ? batch.gzip : zlib.gunzipSync(batch.gzip);
    const text = Buffer.from(batch.join('\n'), 'utf8');
    return this.gzip ? gzipLines(text) : text;
  }

  /** Closes idle keep-alive sockets. The writer can still be used afterwards. */
  close(): void {
    this.agent.destroy();
  }

  private post(url: URL, headers: Record<string, string>, body: Buffer): Promise<WriteResponse> {
    return new Promise((resolve, reject) => {
      let settled = false;
      const fail = (err: Error) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        reject(err);
      };
      const req = this.transport.request(url, { method: 'POST', agent: this.agent, headers }, (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          if (size < MAX_ERROR_BODY) chunks.push(chunk);
          size += chunk.length;
        });
        res.on('end', () => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString('utf8').slice(0, MAX_ERROR_BODY),
          });
        });
        res.on('error', fail);
        res.on('aborted', () => fail(new Error('response aborted')));
      });
      const timer = setTimeout(() => {
        const err = new Error(`timed out after ${this.timeoutMs} ms`);
        fail(err);
        req.destroy(err);
      }, this.timeoutMs);
      req.on('error', fail);
      req.end(body);
    });
  }
}

/** InfluxDB 1.x `/write` (and the v1-compatibility `/write` of 2.x and 3.x). */
export class InfluxV1Writer extends HttpLineWriter {
  private readonly opts: InfluxV1WriterOptions;

  constructor(opts: InfluxV1WriterOptions) {
    super(opts);
    if (!opts.database) throw new Error('InfluxV1Writer: database is required');
    this.opts = opts;
  }

  describe(): string {
    const rp = this.opts.retentionPolicy ? ` rp=${this.opts.retentionPolicy}` : '';
    const user = this.opts.username ? ` user=${this.opts.username}` : '';
    return `influxdb v1 ${this.base.origin}${this.base.pathname.replace(/\/$/, '')} db=${this.opts.database}${rp}${user}`;
  }

  protected endpoint() {
    const query = new URLSearchParams({ db: this.opts.database });
    if (this.opts.retentionPolicy) query.set('rp', this.opts.retentionPolicy);
    query.set('precision', 'ms');
    const headers: Record<string, string> = {};
    if (this.opts.username !== undefined || this.opts.password !== undefined) {
      const user = this.opts.username ?? '';
      const pass = this.opts.password ?? '';
      if (this.opts.auth === 'query') {
        query.set('u', user);
        query.set('p', pass);
      } else {
        headers.Authorization = `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;
      }
    }
    return { path: 'write', query, headers };
  }

  protected context(target: string): ClassifyContext {
    const rp = this.opts.retentionPolicy ? ` (retention policy "${this.opts.retentionPolicy}")` : '';
    return { target, api: 'v1', destination: `database "${this.opts.database}"${rp}` };
  }
}

/** InfluxDB 2.x/3.x `/api/v2/write` with a token. */
export class InfluxV2Writer extends HttpLineWriter {
  private readonly opts: InfluxV2WriterOptions;

  constructor(opts: InfluxV2WriterOptions) {
    super(opts);
    if (!opts.bucket) throw new Error('InfluxV2Writer: bucket is required');
    this.opts = opts;
  }

  describe(): string {
    return `influxdb v2 ${this.base.origin}${this.base.pathname.replace(/\/$/, '')} org=${this.opts.org} bucket=${this.opts.bucket}`;
  }

  protected endpoint() {
    const query = new URLSearchParams({ org: this.opts.org, bucket: this.opts.bucket, precision: 'ms' });
    return { path: 'api/v2/write', query, headers: { Authorization: `Token ${this.opts.token}` } };
  }

  protected context(target: string): ClassifyContext {
    return { target, api: 'v2', destination: `bucket "${this.opts.bucket}" (org "${this.opts.org}")` };
  }
}
