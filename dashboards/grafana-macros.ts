/**
 * Grafana's InfluxQL macro and template-variable expansion, mirrored so that the proofs and the
 * benchmark run every panel and alert query exactly as Grafana would send it to InfluxDB:
 * - `$timeFilter` → `time >= <from>ms and time <= <to>ms`;
 * - `$__interval` / `$interval` → the range over max data points, rounded the way Grafana's
 *   `rangeutil.roundInterval` does, never below the datasource's minimum interval;
 *   `$__interval_ms`, `$__from`, `$__to` likewise;
 * - `$var`, `${var}`, `[[var]]`: a single value of a single-value variable as is; for multi-value
 *   or include-All variables each value regex-escaped and several joined as `(a|b)`; All as the
 *   variable's custom all value, unescaped, when it has one, else all its options.
 */

export interface TimeRange {
  /** Epoch milliseconds. */
  from: number;
  to: number;
}

export interface VariableState {
  /** The selection: one value, several values, or `$__all`. */
  current: string | string[];
  multi?: boolean;
  includeAll?: boolean;
  /** Grafana's "custom all value" (we use `.*`); inserted unescaped. */
  allValue?: string;
  /** The options the variable offers (what its query returned): All means these when no allValue. */
  options?: string[];
}

export interface ExpandOptions {
  range: TimeRange;
  /** Panel max data points; Grafana uses the panel width in pixels, ~1000 on a wide screen. Default 1000. */
  maxDataPoints?: number;
  /** The datasource's minimum interval (`jsonData.timeInterval`), ms. Default 10 000. */
  minIntervalMs?: number;
  variables?: Record<string, VariableState>;
}

export const ALL = '$__all';

/** Grafana's interval rounding (public/app/core/utils/rangeutil `roundInterval`). */
export function roundInterval(ms: number): number {
  const steps: [number, number][] = [
    [15, 10],
    [35, 20],
    [75, 50],
    [150, 100],
    [350, 200],
    [750, 500],
    [1500, 1000],
    [3500, 2000],
    [7500, 5000],
    [12500, 10000],
    [17500, 15000],
    [25000, 20000],
    [45000, 30000],
    [90000, 60000],
    [210000, 120000],
    [450000, 300000],
    [750000, 600000],
    [1050000, 900000],
    [1500000, 1200000],
    [2700000, 1800000],
    [5400000, 3600000],
    [9000000, 7200000],
    [16200000, 10800000],
    [24300000, 21600000],
    [32400000, 28800000],
    [86400000, 43200000],
    [604800000, 86400000],
    [1814400000, 604800000],
    [3628800000, 2592000000],
  ];
  for (const [below, to] of steps) if (ms < below) return to;
  return 31536000000;
}

/** `60000` → `1m`, `90000` → `90s`, as Grafana writes intervals into queries. */
export function formatInterval(ms: number): string {
  const units: [string, number][] = [
    ['y', 31536000000],
    ['w', 604800000],
    ['d', 86400000],
    ['h', 3600000],
    ['m', 60000],
    ['s', 1000],
  ];
  for (const [unit, size] of units) if (ms % size === 0 && ms >= size) return `${ms / size}${unit}`;
  return `${ms}ms`;
}

/** `10s`, `5m`, `1h` → ms, as Grafana reads a panel's or datasource's minimum interval. */
export function parseInterval(text: string): number {
  const m = /^(\d+)(ms|s|m|h|d|w)$/.exec(text.trim());
  if (!m) throw new Error(`not a Grafana interval: ${text}`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 }[m[2] as 'ms'];
  return Number(m[1]) * unit;
}

export function intervalMs(range: TimeRange, maxDataPoints = 1000, minIntervalMs = 10_000): number {
  return Math.max(roundInterval((range.to - range.from) / maxDataPoints), minIntervalMs);
}

/** Grafana's `escapeRegex` from @grafana/data. */
export function escapeRegex(value: string): string {
  return value.replace(/[\\^$*+?.()|[\]{}/]/g, '\\$&');
}

function interpolate(state: VariableState): string {
  const isAll = state.current === ALL || (Array.isArray(state.current) && state.current.includes(ALL));
  if (isAll && state.allValue !== undefined) return state.allValue;
  const values = isAll ? (state.options ?? []) : state.current;
  if (!state.multi && !state.includeAll) return Array.isArray(values) ? values.join(',') : values;
  if (typeof values === 'string') return escapeRegex(values);
  const escaped = values.map(escapeRegex);
  return escaped.length === 1 ? escaped[0] : `(${escaped.join('|')})`;
}

export function expandQuery(query: string, opts: ExpandOptions): string {
  const { range } = opts;
  const interval = intervalMs(range, opts.maxDataPoints, opts.minIntervalMs);
  const builtins: Record<string, string> = {
    timeFilter: `time >= ${Math.floor(range.from)}ms and time <= ${Math.floor(range.to)}ms`,
    __interval: formatInterval(interval),
    interval: formatInterval(interval),
    __interval_ms: String(interval),
    __from: String(Math.floor(range.from)),
    __to: String(Math.floor(range.to)),
  };
  const variables = opts.variables ?? {};
  // Grafana's variable regex: $name, ${name}, ${name:format}, [[name]].
  return query.replace(/\$(\w+)|\$\{(\w+)(?::\w+)?\}|\[\[(\w+)\]\]/g, (match, a, b, c) => {
    const name = (a ?? b ?? c) as string;
    if (name in builtins) return builtins[name];
    const state = variables[name];
    if (!state) return match; // Grafana leaves unknown variables as they are
    return interpolate(state);
  });
}

/** Names of the variables (not built-in macros) a query refers to. */
export function referencedVariables(query: string): string[] {
  const names = new Set<string>();
  for (const m of query.matchAll(/\$(\w+)|\$\{(\w+)(?::\w+)?\}|\[\[(\w+)\]\]/g)) {
    const name = m[1] ?? m[2] ?? m[3];
    if (name && !['timeFilter', '__interval', 'interval', '__interval_ms', '__from', '__to'].includes(name))
      names.add(name);
  }
  return [...names];
}
