/**
 * InfluxQL over HTTP (`/query`): the one query language InfluxDB 1.x, 2.x (v1 compatibility
 * API) and 3.x all answer. Used by reports, dashboards checks, alert-rule checks, tests, and
 * `ensureDatabase` at start-up.
 */

/** One series of a statement's result. `tags` is empty unless the query had GROUP BY. */
export interface Series {
  name: string;
  tags: Record<string, string>;
  columns: string[];
  values: unknown[][];
}

export interface StatementResult {
  statementId: number;
  series: Series[];
  /** The statement's error; the other statements of the request still ran. */
  error?: string;
  /** True when the server cut the result short (max-row-limit). */
  partial?: boolean;
  /** Server notices, e.g. deprecation warnings. */
  messages?: { level: string; text: string }[];
}

export type QueryParams = Record<string, string | number | boolean>;

export interface InfluxQueryOptions {
  /** Base URL, e.g. `http://127.0.0.1:8086`. */
  url: string;
  /** Default database (`db=`); statements may name another one themselves. */
  database?: string;
  /** Default retention policy (`rp=`). */
  retentionPolicy?: string;
  /** 1.x credentials, sent as `Authorization: Basic`. */
  username?: string;
  password?: string;
  /** 2.x/3.x v1-compatibility: sent as `Authorization: Token <token>`. */
  token?: string;
  /** Default 30 s. */
  timeoutMs?: number;
  /** Aborts every request under way and to come (the process is stopping). */
  signal?: AbortSignal;
}

export class InfluxQueryError extends Error {
  constructor(
    message: string,
    /** The InfluxQL that failed. */
    readonly query: string,
    /** HTTP status, when the server answered. */
    readonly status?: number,
  ) {
    super(message);
    this.name = 'InfluxQueryError';
  }
}

/** An InfluxQL identifier in double quotes: `my "db"` → `"my \"db\""`. */
export function quoteIdent(name: string): string {
  return `"${escapeInfluxQL(name, '"')}"`;
}

/** An InfluxQL string literal in single quotes: `it's` → `'it\'s'`. */
export function quoteString(value: string): string {
  return `'${escapeInfluxQL(value, "'")}'`;
}

function escapeInfluxQL(value: string, quote: '"' | "'"): string {
  // The InfluxQL scanner knows the escapes \\ \" \' \n inside quotes; a raw newline is an error.
  let out = '';
  for (const ch of value) {
    if (ch === '\\') out += '\\\\';
    else if (ch === quote) out += `\\${quote}`;
    else if (ch === '\n') out += '\\n';
    else out += ch;
  }
  return out;
}

/**
 * The rows of a series (or of several) as objects keyed by column name, with the series' tags
 * on every row. Columns win over tags of the same name.
 */
export function rows(series: Series | readonly Series[] | undefined): Record<string, unknown>[] {
  if (!series) return [];
  const list: readonly Series[] = Array.isArray(series) ? series : [series as Series];
  const out: Record<string, unknown>[] = [];
  for (const s of list) {
    for (const values of s.values) {
      const row: Record<string, unknown> = { ...s.tags };
      s.columns.forEach((column, i) => {
        row[column] = values[i];
      });
      out.push(row);
    }
  }
  return out;
}

/**
 * Splits InfluxQL into statements on `;` outside quotes and comments (a `;` inside a regex literal is not recognised).
 */
export function splitStatements(influxql: string): string[] {
  const statements: string[] = [];
  let current = '';
  let i = 0;
  const n = influxql.length;
  while (i < n) {
    const ch = influxql[i];
    if (ch === '"' || ch === "'") {
      let j = i + 1;
      while (j < n && influxql[j] !== ch) j += influxql[j] === '\\' ? 2 : 1;
      current += influxql.slice(i, j + 1);
      i = j + 1;
    } else if (ch === '-' && influxql[i + 1] === '-') {
      const end = influxql.indexOf('\n', i);
      i = end === -1 ? n : end + 1;
      current += ' ';
    } else if (ch === '/' && influxql[i + 1] === '*') {
      const end = influxql.indexOf('*/', i + 2);
      i = end === -1 ? n : end + 2;
      current += ' ';
    } else if (ch === ';') {
      if (current.trim()) statements.push(current.trim());
      current = '';
      i++;
    } else {
      current += ch;
      i++;
    }
  }
  if (current.trim()) statements.push(current.trim());
  return statements;
}

/** Whether InfluxDB accepts the statements over GET (SELECT without INTO, SHOW). */
export function isReadOnly(influxql: string): boolean {
  const statements = splitStatements(influxql);
  if (statements.length === 0) return true;
  return statements.every((statement) => {
    // Drop quoted parts so that `"INTO"` or 'into' in a name or literal does not count.
    const bare = statement.replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, '""');
    if (/^\s*SHOW\b/i.test(bare)) return true;
    if (/^\s*(EXPLAIN\s+(ANALYZE\s+)?)?SELECT\b/i.test(bare)) return !/\bINTO\b/i.test(bare);
    return false;
  });
}

interface RawResult {
  statement_id?: number;
  series?: Array<{ name?: string; tags?: Record<string, string>; columns?: string[]; values?: unknown[][] }>;
  error?: string;
  partial?: boolean;
  messages?: { level: string; text: string }[];
}

/** Go duration (`8760h0m0s`, `0s`, `1h30m`) in milliseconds. */
export function parseGoDuration(value: string): number {
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g;
  const unit: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1e3, m: 60e3, h: 3600e3 };
  let total = 0;
  let matched = '';
  for (const m of value.matchAll(re)) {
    total += Number(m[1]) * unit[m[2]];
    matched += m[0];
  }
  if (matched !== value.trim()) throw new Error(`not a duration: ${value}`);
  return total;
}

export interface EnsureDatabaseOptions {
  database: string;
  /** Default 365. 0 = keep forever (INF). */
  retentionDays?: number;
  /** Default `fleetpulse`. Made the database's default retention policy. */
  rpName?: string;
}

export interface EnsureDatabaseResult {
  /** What was done: `created` (new database), `rp_created`, `altered`, or `unchanged`. */
  action: 'created' | 'rp_created' | 'altered' | 'unchanged';
  database: string;
  rpName: string;
}

export class InfluxQuery {
  private readonly base: URL;
  private readonly opts: InfluxQueryOptions;

  constructor(opts: InfluxQueryOptions) {
    const base = new URL(opts.url);
    if (!base.pathname.endsWith('/')) base.pathname += '/';
    base.search = '';
    base.hash = '';
    this.base = base;
    this.opts = opts;
  }

  get database(): string | undefined {
    return this.opts.database;
  }

  /** The same server and credentials with another default database. */
  withDatabase(database: string): InfluxQuery {
    return new InfluxQuery({ ...this.opts, database });
  }

  /**
   * Runs InfluxQL and returns the series of the first statement. Throws `InfluxQueryError` with
   * InfluxDB's error text when the request or that statement fails. `params` are bound to
   * `$name` placeholders by the server.
   */
  async query(influxql: string, params?: QueryParams): Promise<Series[]> {
    const [first] = await this.queryMulti(influxql, params);
    if (!first) return [];
    if (first.error !== undefined) throw new InfluxQueryError(first.error, influxql);
    return first.series;
  }

  /**
   * Runs several `;`-separated statements in one request; returns one result per statement.
   * A failing statement is reported in its result (`error`), not thrown; a request that fails
   * as a whole (parse error, HTTP error, unreachable server) throws `InfluxQueryError`.
   *
   * InfluxDB stops at the first failing statement. influxd 1.6 then answers for it with just
   * `not executed` (its real error text is lost; run it alone to see it) and leaves the later
   * statements out; those are filled in here as `not executed` too, so that there is always one
   * result per statement.
   */
  async queryMulti(influxql: string, params?: QueryParams): Promise<StatementResult[]> {
    const search = new URLSearchParams();
    if (this.opts.database) search.set('db', this.opts.database);
    if (this.opts.retentionPolicy) search.set('rp', this.opts.retentionPolicy);
    search.set('epoch', 'ms');
    if (params && Object.keys(params).length) search.set('params', JSON.stringify(params));

    const headers: Record<string, string> = { Accept: 'application/json' };
    if (this.opts.token) headers.Authorization = `Token ${this.opts.token}`;
    else if (this.opts.username !== undefined || this.opts.password !== undefined) {
      headers.Authorization = `Basic ${Buffer.from(`${this.opts.username ?? ''}:${this.opts.password ?? ''}`).toString('base64')}`;
    }

    const url = new URL('query', this.base);
    const readOnly = isReadOnly(influxql);
    let init: RequestInit;
    if (readOnly) {
      search.set('q', influxql);
      url.search = search.toString();
      init = { method: 'GET', headers };
    } else {
      url.search = search.toString();
      init = {
        method: 'POST',
        headers: { ...headers, 'Content-Type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ q: influxql }).toString(),
      };
    }
    const target = `${init.method} ${url.origin}${url.pathname}`;
    const timeoutMs = this.opts.timeoutMs ?? 30_000;

    let status: number;
    let text: string;
    try {
      const timeout = AbortSignal.timeout(timeoutMs);
      const res = await fetch(url, {
        ...init,
        signal: this.opts.signal ? AbortSignal.any([timeout, this.opts.signal]) : timeout,
      });
      status = res.status;
      text = await res.text();
    } catch (err) {
      throw new InfluxQueryError(`${target}: ${describeFetchError(err, timeoutMs)}`, influxql);
    }

    let body: { results?: RawResult[]; error?: string } | undefined;
    try {
      body = JSON.parse(text) as typeof body;
    } catch {
      body = undefined;
    }
    if (body?.error) throw new InfluxQueryError(body.error, influxql, status);
    if (status < 200 || status >= 300 || !body) {
      const snippet = text.trim().slice(0, 300);
      throw new InfluxQueryError(`${target}: HTTP ${status}${snippet ? `: ${snippet}` : ''}`, influxql, status);
    }
    const results = (body.results ?? []).map((r, index) => {
      const result: StatementResult = {
        statementId: r.statement_id ?? index,
        series: (r.series ?? []).map((s) => ({
          name: s.name ?? '',
          tags: s.tags ?? {},
          columns: s.columns ?? [],
          values: s.values ?? [],
        })),
      };
      if (r.error !== undefined) result.error = r.error;
      if (r.partial) result.partial = true;
      if (r.messages?.length) result.messages = r.messages;
      return result;
    });
    const expected = splitStatements(influxql).length;
    if (results.some((r) => r.error !== undefined)) {
      for (let id = results.length; id < expected; id++)
        results.push({ statementId: id, series: [], error: 'not executed' });
    }
    return results;
  }

  /**
   * Creates the database with `rpName` (`retentionDays`, replication 1) as its default retention
   * policy, or brings an existing one there: creates the policy if missing, alters its duration
   * and makes it the default when they differ. Idempotent.
   */
  async ensureDatabase(opts: EnsureDatabaseOptions): Promise<EnsureDatabaseResult> {
    const { database } = opts;
    const rpName = opts.rpName ?? 'fleetpulse';
    const days = opts.retentionDays ?? 365;
    if (!Number.isInteger(days) || days < 0) throw new Error(`retentionDays must be a whole number ≥ 0, got ${days}`);
    const duration = days === 0 ? 'INF' : `${days}d`;
    const wantMs = days * 86_400_000; // INF reads back as 0s
    const db = quoteIdent(database);
    const rp = quoteIdent(rpName);
    const done = (action: EnsureDatabaseResult['action']): EnsureDatabaseResult => ({ action, database, rpName });

    const existing = rows(await this.query('SHOW DATABASES')).map((r) => r.name);
    if (!existing.includes(database)) {
      await this.query(`CREATE DATABASE ${db} WITH DURATION ${duration} REPLICATION 1 NAME ${rp}`);
      return done('created');
    }

    const policies = rows(await this.query(`SHOW RETENTION POLICIES ON ${db}`));
    const policy = policies.find((p) => p.name === rpName);
    if (!policy) {
      await this.query(`CREATE RETENTION POLICY ${rp} ON ${db} DURATION ${duration} REPLICATION 1 DEFAULT`);
      return done('rp_created');
    }
    const haveMs = parseGoDuration(String(policy.duration));
    if (haveMs !== wantMs || policy.default !== true) {
      await this.query(`ALTER RETENTION POLICY ${rp} ON ${db} DURATION ${duration} DEFAULT`);
      return done('altered');
    }
    return done('unchanged');
  }
}

function describeFetchError(err: unknown, timeoutMs: number): string {
  const e = err as Error & { cause?: Error & { code?: string } };
  if (e?.name === 'TimeoutError' || e?.name === 'AbortError') return `timed out after ${timeoutMs} ms`;
  // fetch wraps socket errors as `TypeError: fetch failed` with the real one in `cause`.
  if (e?.cause?.message) return e.cause.message;
  return e?.message ?? String(err);
}
