import type { Lifecycle } from '../sdk/devices.ts';

export type { Lifecycle };
export const LIFECYCLES = ['pending', 'active', 'retired'] as const satisfies readonly Lifecycle[];

/** Live state as the runtime last reported it; `unknown` until the first report. */
export const DEVICE_STATES = ['unknown', 'online', 'offline', 'error', 'maintenance'] as const;
export type DeviceState = (typeof DEVICE_STATES)[number];

export interface Device {
  /** Serial number or OCPP identity: unique, never changes. */
  id: string;
  kind: string;
  model: string | null;
  customer: string | null;
  site: string | null;
  /** The agent (another device id) this device is reached through. */
  gateway: string | null;
  firmware: string | null;
  /** `YYYY-MM-DD`. */
  installed_on: string | null;
  labels: Record<string, string>;
  lifecycle: Lifecycle;
  state: DeviceState;
  /** Epoch milliseconds. */
  first_seen: number | null;
  last_seen: number | null;
  created_at: number;
  updated_at: number;
}

export interface DeviceInput {
  id: string;
  kind: string;
  model?: string | null;
  /** Default: the site's customer when `site` is given. */
  customer?: string | null;
  site?: string | null;
  gateway?: string | null;
  firmware?: string | null;
  installed_on?: string | null;
  labels?: Record<string, string>;
  /** Default `active`: a device an operator enters is approved by entering it. */
  lifecycle?: Lifecycle;
}

/** Fields to change; `null` clears. The id and kind of a device never change. */
export type DevicePatch = Partial<Omit<DeviceInput, 'id' | 'kind'>>;

export interface DeviceFilter {
  kind?: string;
  model?: string;
  customer?: string;
  site?: string;
  gateway?: string;
  state?: DeviceState;
  firmware?: string;
  lifecycle?: Lifecycle;
  /** Every pair must match. */
  labels?: Record<string, string>;
  /** Case-insensitive substring of the device id, its site's name or its customer's company. */
  q?: string;
}

export const DEVICE_SORT_FIELDS = [
  'id',
  'kind',
  'model',
  'customer',
  'site',
  'gateway',
  'firmware',
  'state',
  'lifecycle',
  'installed_on',
  'first_seen',
  'last_seen',
  'created_at',
  'updated_at',
] as const;
export type DeviceSortField = (typeof DEVICE_SORT_FIELDS)[number];

export interface DeviceSort {
  field: DeviceSortField;
  desc?: boolean;
}

/** Where the previous page ended: the sort value and id of its last device. */
export interface DeviceKey {
  value: string | number | null;
  id: string;
}

export interface DeviceListOptions extends DeviceFilter {
  sort?: DeviceSort;
  after?: DeviceKey;
  limit: number;
}

export interface ImportRow {
  /** 1-based position among the data rows. */
  row: number;
  device: DeviceInput;
}

export interface RowError {
  row: number;
  field: string;
  message: string;
}

/** `create`: every id must be new. `upsert`: existing devices take the fields the row gives. */
export type ImportMode = 'create' | 'upsert';

export type ImportResult = { ok: true; created: number; updated: number } | { ok: false; errors: RowError[] };

/** What a device said about itself when it connected (boot data), and when. */
export interface DeviceReport {
  reported: Record<string, string>;
  at: number;
}
