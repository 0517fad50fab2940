/**
 * A small InfluxQL query builder, shared by dashboards and alert rules. The foundation SDK has
 * none, and typing queries as strings lets a renamed field slip through to a broken panel: here
 * field names come from the measurement declarations (`defineMeasurement`), so a rename breaks
 * the build. Queries keep Grafana's macros (`$timeFilter`, `$__interval`, `$customer` ...) as
 * text; `grafana-macros.ts` expands them the way Grafana does, for the proofs.
 */
import type { MeasurementSpec } from '../collector/sdk/index.ts';
import { quoteIdent, quoteString } from '../collector/pipeline/influx-query.ts';

/** Template variables every device dashboard offers, in the order they filter each other. */
export const DEVICE_VARIABLES = ['customer', 'site', 'kind', 'model', 'device'] as const;
export type DeviceVariable = (typeof DEVICE_VARIABLES)[number];

/** The tags that name one device in alert labels and tables. */
export const DEVICE_LABELS = ['device', 'kind', 'model', 'customer', 'site'] as const;

export type Selector = 'last' | 'first' | 'max' | 'min';
export type Aggregate = Selector | 'mean' | 'sum' | 'count' | 'spread' | 'median';
export type Fill = 'null' | 'none' | 'previous' | 'linear' | number;

type FieldOf<M> = M extends MeasurementSpec<string, infer F> ? F : never;

interface Column {
  expr: string;
  alias: string;
  /** Columns InfluxDB adds after this one (the tag of `top(field, tag, n)`). */
  extra?: string[];
}

/** `time >= ...` window: Grafana's range (`$timeFilter`) or a fixed look-back from now. */
export type TimeWindow = { kind: 'range' } | { kind: 'lookback'; duration: string } | { kind: 'none' };

export class Query<F extends string = string> {
  private readonly columns: Column[] = [];
  private readonly conditions: string[] = [];
  private window: TimeWindow = { kind: 'range' };
  private timeBucket: string | undefined;
  private groupTags: string[] = [];
  private fillMode: Fill | undefined;
  private newestFirst = false;
  private rowLimit: number | undefined;

  private constructor(private readonly source: string) {}

  /** SELECT ... FROM a declared measurement: only its fields can be selected. */
  static from<M extends MeasurementSpec<string, string>>(measurement: M): Query<FieldOf<M>> {
    return new Query<FieldOf<M>>(quoteIdent(measurement.name));
  }

  /** SELECT ... FROM a measurement known only by name (self-metrics come from prom-client). */
  static fromName<N extends string = 'value'>(name: string): Query<N> {
    return new Query<N>(quoteIdent(name));
  }

  /** SELECT ... FROM (inner): the inner query's aliases become the selectable fields. */
  static fromSubquery(inner: Query<string>): Query<string> {
    return new Query<string>(`(${inner.toString()})`);
  }

  /** `fn("field") AS "alias"`; the alias defaults to the field name. */
  select(fn: Aggregate, field: F, alias: string = field): this {
    this.columns.push({ expr: `${fn}(${quoteIdent(field)})`, alias });
    return this;
  }

  /** A raw field (no aggregate): for tables over a subquery. */
  field(field: F, alias: string = field): this {
    this.columns.push({ expr: quoteIdent(field), alias });
    return this;
  }

  /** `non_negative_derivative(last("field"), unit)`: a counter's rate per `unit`. */
  rate(field: F, alias: string, unit = '1s'): this {
    this.columns.push({ expr: `non_negative_derivative(last(${quoteIdent(field)}), ${unit})`, alias });
    return this;
  }

  /** `non_negative_difference(last("field"))`: a counter's increase per time bucket. */
  increase(field: F, alias: string): this {
    this.columns.push({ expr: `non_negative_difference(last(${quoteIdent(field)}))`, alias });
    return this;
  }

  /** `top("field", "tag", n)`: the n largest values with distinct `tag` (the tag comes back as a column). */
  top(field: F, tag: string, n: number, alias: string = field): this {
    this.columns.push({ expr: `top(${quoteIdent(field)}, ${quoteIdent(tag)}, ${n})`, alias, extra: [tag] });
    return this;
  }

  /** Any expression the helpers above do not cover; `expr` must quote its own identifiers. */
  expression(expr: string, alias: string): this {
    this.columns.push({ expr, alias });
    return this;
  }

  /** A raw condition (template-variable filters on non-device tags); quote identifiers yourself. */
  where(condition: string): this {
    this.conditions.push(condition);
    return this;
  }

  /** `"tag" = 'value'` (or `<>`). */
  whereTag(tag: string, op: '=' | '<>', value: string): this {
    this.conditions.push(`${quoteIdent(tag)} ${op} ${quoteString(value)}`);
    return this;
  }

  /** `"tag" = 'a'`, or `("tag" = 'a' OR "tag" = 'b')` for several. */
  whereTagIn(tag: string, values: readonly string[]): this {
    if (values.length === 0) throw new Error(`whereTagIn(${tag}) needs at least one value`);
    const terms = values.map((v) => `${quoteIdent(tag)} = ${quoteString(v)}`);
    this.conditions.push(terms.length === 1 ? terms[0] : `(${terms.join(' OR ')})`);
    return this;
  }

  /** `"field" op value` with a string or number literal (on subquery columns, too). */
  whereField(field: F, op: '=' | '<>' | '>' | '<' | '>=' | '<=', value: string | number | boolean): this {
    const literal = typeof value === 'string' ? quoteString(value) : String(value);
    this.conditions.push(`${quoteIdent(field)} ${op} ${literal}`);
    return this;
  }

  /** `("a" = 'x' OR "a" = 'y')`. */
  whereAnyOf(field: F, values: readonly string[]): this {
    this.conditions.push(`(${values.map((v) => `${quoteIdent(field)} = ${quoteString(v)}`).join(' OR ')})`);
    return this;
  }

  /**
   * `"customer" =~ /^$customer$/ AND ...` for each template variable: the form Grafana expands to
   * `/^(a|b)$/` for multi-value and All selections.
   */
  filterBy(variables: readonly DeviceVariable[]): this {
    for (const v of variables) this.conditions.push(`${quoteIdent(v)} =~ /^$${v}$/`);
    return this;
  }

  /** Time window: the dashboard's range (default) or `time > now() - duration`. */
  within(window: TimeWindow): this {
    this.window = window;
    return this;
  }

  lookback(duration: string): this {
    return this.within({ kind: 'lookback', duration });
  }

  /** `GROUP BY time(bucket)`: `$__interval` in panels, a fixed duration in alert rules. */
  byTime(bucket = '$__interval', fill?: Fill): this {
    this.timeBucket = bucket;
    this.fillMode = fill;
    return this;
  }

  /** `GROUP BY "tag", ...`: each tag becomes a series label (an alert instance label in rules). */
  byTags(...tags: string[]): this {
    this.groupTags.push(...tags);
    return this;
  }

  newest(limit?: number): this {
    this.newestFirst = true;
    this.rowLimit = limit;
    return this;
  }

  /** The column names a result carries: `time`, then each alias in order. */
  resultColumns(): string[] {
    return ['time', ...this.columns.flatMap((c) => [c.alias, ...(c.extra ?? [])])];
  }

  /** The tags each result series is keyed by. */
  resultTags(): string[] {
    return [...this.groupTags];
  }

  toString(): string {
    if (this.columns.length === 0) throw new Error(`InfluxQL query on ${this.source} selects nothing`);
    const select = this.columns.map((c) => `${c.expr} AS ${quoteIdent(c.alias)}`).join(', ');
    const where = [...this.conditions];
    if (this.window.kind === 'range') where.unshift('$timeFilter');
    else if (this.window.kind === 'lookback') where.unshift(`time > now() - ${this.window.duration}`);
    let q = `SELECT ${select} FROM ${this.source}`;
    if (where.length > 0) q += ` WHERE ${where.join(' AND ')}`;
    const group: string[] = [];
    if (this.timeBucket) group.push(`time(${this.timeBucket})`);
    group.push(...this.groupTags.map(quoteIdent));
    if (group.length > 0) q += ` GROUP BY ${group.join(', ')}`;
    if (this.timeBucket && this.fillMode !== undefined) q += ` fill(${this.fillMode})`;
    if (this.newestFirst) q += ' ORDER BY time DESC';
    if (this.rowLimit !== undefined) q += ` LIMIT ${this.rowLimit}`;
    return q;
  }
}

/** `SHOW TAG VALUES` for a template variable, narrowed by the variables before it. */
export function tagValuesQuery(measurement: string, tag: string, narrowBy: readonly DeviceVariable[]): string {
  let q = `SHOW TAG VALUES FROM ${quoteIdent(measurement)} WITH KEY = ${quoteIdent(tag)}`;
  if (narrowBy.length > 0) q += ` WHERE ${narrowBy.map((v) => `${quoteIdent(v)} =~ /^$${v}$/`).join(' AND ')}`;
  return q;
}
