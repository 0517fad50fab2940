/**
 * What every message handler shares: the plugin context, the stores, and the state of one
 * charger's connection. Handlers are registered per connection (ocpp-rpc's `client.handle`).
 */
import { rpcError } from './protocol.ts';
import type { PluginContext } from '../../collector/sdk/index.ts';
import type { ChargingProfiles } from './charging-profiles.ts';
import type { OcppConfig, OcppVersion } from './config.ts';
import type { IdTags } from './id-tags.ts';
import type { PasswordRotations } from './password-rotations.ts';
import type { SecurityProfiles } from './security.ts';
import type { LocalLists } from './local-list.ts';
import type { Pricing } from './pricing.ts';
import type { Reservations } from './reservations.ts';
import type { SessionRow, SessionStore } from './sessions.ts';
import type { Variables } from './variables.ts';
import type { Monitors } from './monitors.ts';
import type { ReportParts } from './report-parts.ts';
import type { DisplayMessages } from './display-message-store.ts';
import type { CustomerReports } from './customer-reports.ts';
import type { DataTransferHandlers } from './data-transfer-registry.ts';
import type { ChargerCa } from './charger-ca.ts';
import type { IssuedCertificates } from './issued-certificates.ts';

/**
 * What a charger sent. ocpp-rpc's strict mode has checked it against the version's JSON schema
 * before a handler sees it, and one handler reads the fields of either version.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- schema-checked, version-neutral (above)
export type OcppPayload = any;

export interface OcppCall {
  params: OcppPayload;
  messageId: string;
  method: string;
  signal: AbortSignal;
}

/** The part of an ocpp-rpc client the plugin uses (its bundled types are incomplete). */
export interface OcppConnection {
  readonly identity: string;
  readonly protocol: string | undefined;
  /** What the handshake's `accept` gave the connection. */
  readonly session: object;
  handle(method: string, handler: (call: OcppCall) => unknown): void;
  /** One handler for every action (ocpp-rpc's wildcard). */
  handle(handler: (call: OcppCall) => unknown): void;
  call(method: string, params: unknown, options?: { signal?: AbortSignal; callTimeoutMs?: number }): Promise<unknown>;
  close(options?: { code?: number; reason?: string; force?: boolean; awaitPending?: boolean }): Promise<unknown>;
  reconfigure(options: Record<string, unknown>): void;
  on(event: string, listener: (...args: never[]) => void): unknown;
  once(event: string, listener: (...args: never[]) => void): unknown;
  readonly state: number;
}

export interface Station {
  ctx: PluginContext<OcppConfig>;
  sessions: SessionStore;
  ends: SessionEndEvents;
  idTags: IdTags;
  variables: Variables;
  monitors: Monitors;
  /** NotifyReport / NotifyMonitoringReport parts waiting for the rest of their report. */
  reportParts: ReportParts;
  chargingProfiles: ChargingProfiles;
  profiles: SecurityProfiles;
  rotations: PasswordRotations;
  /** `plugins.ocpp.ca`, when configured: issuer of charger certificates (profile 3). */
  ca?: ChargerCa;
  certificates: IssuedCertificates;
  localLists: LocalLists;
  reservations: Reservations;
  pricing: Pricing;
  displayMessages: DisplayMessages;
  customerReports: CustomerReports;
  /** What answers a charger's DataTransfer, by the name `data_transfer.vendors.<id>.handler` gives. */
  dataTransfer: DataTransferHandlers;
  /**
   * Sends a command to a connected charger behind the commands already waiting for it (set once
   * the endpoint exists); for what the plugin sends on its own, e.g. an automatic local list.
   */
  command?: (deviceId: string, name: string, params: unknown) => Promise<unknown>;
  /** Told of each meter value's total power (site-power.ts: power against its limit, as points). */
  power?: {
    metered(
      charger: string,
      connector: number | undefined,
      transactionId: string | undefined,
      w: number,
      at: number,
    ): void;
  };
}

/** Items and bytes (0 = no byte limit) one request of a kind may hold, as the charger says (message-limits.ts). */
export type MessageLimits = Partial<
  Record<
    'GetVariables' | 'SetVariables' | 'SetVariableMonitoring' | 'ClearVariableMonitoring' | 'GetConfiguration',
    { items: number; bytes: number }
  >
>;

/** One connected charger. */
export interface Charger {
  identity: string;
  version: OcppVersion;
  connection: OcppConnection;
  /**
   * Connectors reporting Faulted: while any is, the charger's liveness state is `error`.
   * Created at the first fault (most chargers never have one: an empty Set per connection was
   * 150 bytes of 10,000 connections' memory).
   */
  faulted?: Set<string>;
  /**
   * The time given to this charger's last StatusNotification without a timestamp, epoch ms: the
   * next one gets a later one, so that two in one millisecond (the pipeline's precision) do not
   * overwrite each other in InfluxDB and keep their order. One number, not one per connector.
   */
  untimedStatusAt?: number;
  /** Items and bytes per request of the kinds sent in parts, each once learnt (message-limits.ts). */
  messageLimits?: MessageLimits;
  /** Commands to this charger, one at a time (OCPP-J allows one outstanding CALL each way). */
  outbound?: Promise<unknown>;
}

/** Sends a call to the charger after those before it (OCPP-J: one outstanding CALL each way). */
export function enqueue<T>(charger: Charger, send: () => Promise<T>): Promise<T> {
  const run = (charger.outbound ?? Promise.resolve()).then(send);
  charger.outbound = run.catch(() => {});
  return run;
}

/** The liveness report for a charger now. */
export function report(station: Station, charger: Charger): void {
  station.ctx.seen(charger.identity, { kind: 'charger', state: charger.faulted?.size ? 'error' : 'online' });
}

/**
 * Messages a charger may send before it is accepted (OCPP: a Pending charger sends only
 * BootNotification, Heartbeat and answers). Anything else gets SecurityError until an operator
 * approves it in the inventory.
 */
const BEFORE_ACCEPTANCE = new Set(['BootNotification', 'Heartbeat']);

export function requireAccepted(station: Station, charger: Charger, action: string): void {
  if (BEFORE_ACCEPTANCE.has(action)) return;
  if (station.ctx.devices.lookup(charger.identity)?.lifecycle === 'active') return;
  station.ctx.count('call_before_acceptance');
  throw rpcError(
    'SecurityError',
    `${action} refused: charger ${charger.identity} is not accepted yet (BootNotification first, or approve it in the inventory)`,
  );
}

/** `connector` tag value: undefined for absent ids. */
export function tagOf(id: number | undefined | null): string | undefined {
  return id === undefined || id === null ? undefined : String(id);
}

/** What answers one message from a charger (handlers.ts builds the table per version). */
export type Handler = (params: OcppPayload, charger: Charger) => unknown;
/** Adds a handler to the table; the per-feature files (transactions, certificates, ...) get it. */
export type On = (action: string, handler: Handler) => void;

/** What the message handlers tell the session ends (session-ends.ts) about a charger. */
export interface SessionEndEvents {
  rebooted(charger: Charger): void;
  connectorStatus(charger: Charger, connector: number, status: string): void;
  /** A new transaction started on the session's connector. */
  supersede(row: SessionRow): void;
  /** A 2.0.1 session ended with a gap in its messages: ask the charger before concluding. */
  gap(charger: Charger, row: SessionRow): Promise<void>;
}
