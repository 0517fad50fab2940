import type { FastifyInstance } from 'fastify';
import type { Inventory } from '../collector/inventory/index.ts';
import type { DeviceDraft, DeviceProblem } from '../collector/sdk/index.ts';
import type { Operations } from '../collector/operations/operations.ts';
import type { BackupRoutesOptions } from './routes/backups/index.ts';
import type { InfluxQuery } from '../collector/pipeline/influx-query.ts';
import type { AccessTable } from './access-table.ts';
import type { AuthFailureReason, AuthOptions } from './auth.ts';

export interface ApiLimits {
  /** Largest request body, bytes. Default 1 MiB. */
  bodyLimit: number;
  /** Largest body of `POST /devices/import`, bytes. Default 16 MiB (10,000 rows need ~3 MiB as JSON). */
  importBodyLimit: number;
  /** Most rows one import may carry. Default 10,000. */
  importMaxRows: number;
  /** Requests per API key (or per address, without a valid key) per window. Default 1,200 per 60 s. */
  rateLimit: { max: number; timeWindowMs: number };
  /** Failed authentications per source address per window; beyond, 429 without a key check. Default 30 per 60 s. */
  authFailures: { max: number; timeWindowMs: number };
  /** How long a device's detail waits for its latest readings, ms. Default 2,000. */
  readingsTimeoutMs: number;
}

export const DEFAULT_LIMITS: ApiLimits = {
  bodyLimit: 1024 * 1024,
  importBodyLimit: 16 * 1024 * 1024,
  importMaxRows: 10_000,
  rateLimit: { max: 1200, timeWindowMs: 60_000 },
  authFailures: { max: 30, timeWindowMs: 60_000 },
  readingsTimeoutMs: 2_000,
};

export interface ApiOptions {
  inventory: Inventory;
  /** Device kinds the installed plugins serve; devices of other kinds are refused. */
  kinds: readonly string[];
  /** Where device details read their latest readings from. Without it, `readings` is null. */
  influx?: Pick<InfluxQuery, 'query'>;
  limits?: Partial<ApiLimits>;
  /** Called for every failed authentication, with its reason (serve counts them in `/metrics`). */
  onAuthFailure?: (reason: AuthFailureReason) => void;
  /** Called when a route fails on an inventory (SQLite) error, with its code (serve counts them in `/metrics`). */
  onDatabaseError?: (code: string) => void;
  /**
   * Checks a device before it is created, its labels changed or imported (the plugins' own
   * rules, e.g. a plug's address): a problem is a 400 naming its field. Default: none.
   */
  checkDevice?: (device: DeviceDraft) => Promise<DeviceProblem | undefined>;
  /**
   * Durable commands, maintenance, incidents, reports, firmware, rollouts, sessions (collector/operations): their
   * routes are mounted when given.
   */
  operations?: Operations;
  /** The node's backups: `GET/POST /backups` are mounted when given. */
  backups?: BackupRoutesOptions;
  /**
   * Registers more routes inside the API's scope, after its own, so that they get its key
   * check, roles, audit, validation, errors and limits:
   * `extend: (api) => server.mountApiRoutes(api)` (the plugins' own API routes).
   * Routes registered on the host server outside this scope get none of that.
   */
  extend?: (api: FastifyInstance) => Promise<void> | void;
  /** Filled with every route's role, for the operator pages (see access-table.ts). */
  access?: AccessTable;
  /** Tokens that stand for an API key: the operator pages' sessions (ui/sessions.ts). */
  sessions?: AuthOptions['sessions'];
}

/** What every route plugin receives. */
export interface RouteContext {
  inventory: Inventory;
  kinds: readonly string[];
  influx?: Pick<InfluxQuery, 'query'>;
  limits: ApiLimits;
  checkDevice: (device: DeviceDraft) => Promise<DeviceProblem | undefined>;
}
