/**
 * A dashboard under construction: the foundation SDK's DashboardBuilder plus the small factories
 * our dashboards repeat (stat, table, time series, alert list), and a record of every panel query
 * with the columns it must return, which the proofs run against a real influxd.
 */
import * as cog from '@grafana/grafana-foundation-sdk/cog';
import * as common from '@grafana/grafana-foundation-sdk/common';
import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import * as stat from '@grafana/grafana-foundation-sdk/stat';
import * as table from '@grafana/grafana-foundation-sdk/table';
import * as timeseries from '@grafana/grafana-foundation-sdk/timeseries';
import { datasourceRef } from './datasource.ts';
import { parseInterval } from './grafana-macros.ts';
import type { Query } from './influxql.ts';
import { API_URL_VARIABLE, DEFAULT_API_URL, pageLinks } from './links.ts';
import { deviceVariables, type VariableSet } from './variables.ts';

/** The tag every generated dashboard carries, so people can tell them from hand-made ones. */
export const GENERATED_TAG = 'generated';
export const PRODUCT_TAG = 'fleetpulse';

export interface Target {
  q: Query;
  /** `alias` in Grafana's InfluxQL editor, e.g. `$tag_customer`. */
  legend?: string;
  /** True when an empty result is a normal answer in the fixture (e.g. no alerts). */
  mayBeEmpty?: boolean;
}

export type ResultFormat = 'time_series' | 'table';

/** One panel query and what it must answer: the proofs run each of these. */
export interface PanelQuery {
  dashboard: string;
  panel: string;
  refId: string;
  query: string;
  format: ResultFormat;
  columns: string[];
  tags: string[];
  mayBeEmpty: boolean;
  /**
   * The panel's minimum interval (Grafana's "Min interval", bounding `$__interval` from below), ms; none: the
   * datasource's.
   */
  minIntervalMs?: number;
}

/** A Grafana InfluxQL target: the SDK has no InfluxDB query type, so we build the JSON shape. */
class InfluxQLTarget implements cog.Builder<cog.Dataquery> {
  constructor(private readonly spec: { refId: string; query: string; format: ResultFormat; alias?: string }) {}
  build(): cog.Dataquery {
    const { refId, query, format, alias } = this.spec;
    return {
      refId,
      datasource: { ...datasourceRef },
      query,
      rawQuery: true,
      resultFormat: format,
      ...(alias ? { alias } : {}),
      _implementsDataqueryVariant() {},
    } as cog.Dataquery;
  }
}

export interface PanelOptions {
  /** Grafana transformations applied to the results (groupBy, merge, ...). */
  transformations?: dashboard.DataTransformerConfig[];
  /** Width in grid columns (24 = full width). Default 6 for stats, 12 otherwise. */
  w?: number;
  /** Height in grid rows (30 px each). Default 4 for stats, 8 otherwise. */
  h?: number;
  unit?: string;
  description?: string;
  /** Threshold steps from the base colour: `[['green', null], ['red', 1]]`. */
  thresholds?: [string, number | null][];
  /** Data links per column name, e.g. device → device detail. */
  links?: Record<string, { title: string; url: string }>;
  /**
   * Grafana's panel "Min interval" (`1m`, `5m`, ...): `$__interval` never goes below it, whatever
   * the panel width. Fleet trends set it so that a 24 h range is not 1,440 buckets over every
   * device's raw points. Default: the datasource's 10 s.
   */
  minInterval?: string;
}

const REF_IDS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';

export interface BoardSpec {
  uid: string;
  title: string;
  description: string;
  /** Which template variables the dashboard offers. Default: all five, multi-value. */
  variables?: VariableSet;
  /** Default time range, Grafana syntax. Default `now-6h` → `now`. */
  from?: string;
  to?: string;
  /** Extra links besides the dashboard list and the API. */
  links?: { title: string; url: string }[];
}

export class Board {
  readonly queries: PanelQuery[] = [];
  private readonly builder: dashboard.DashboardBuilder;

  constructor(readonly spec: BoardSpec) {
    this.builder = new dashboard.DashboardBuilder(spec.title)
      .uid(spec.uid)
      .description(spec.description)
      .tags([PRODUCT_TAG, GENERATED_TAG])
      .readonly()
      .refresh('1m')
      .time({ from: spec.from ?? 'now-6h', to: spec.to ?? 'now' })
      .timezone('browser')
      .tooltip(dashboard.DashboardCursorSync.Crosshair);
    for (const v of deviceVariables(spec.variables ?? 'fleet')) this.builder.withVariable(v);
    this.builder.withVariable(
      new dashboard.ConstantVariableBuilder(API_URL_VARIABLE).label('Fleetpulse API').value(DEFAULT_API_URL),
    );
    this.builder.link(
      new dashboard.DashboardLinkBuilder('Fleetpulse dashboards')
        .type(dashboard.DashboardLinkType.Dashboards)
        .tags([PRODUCT_TAG])
        .asDropdown(true)
        .includeVars(true)
        .keepTime(true),
    );
    for (const link of spec.links ?? []) {
      this.builder.link(
        new dashboard.DashboardLinkBuilder(link.title)
          .type(dashboard.DashboardLinkType.Link)
          .url(link.url)
          .targetBlank(true),
      );
    }
  }

  row(title: string): this {
    this.builder.withRow(new dashboard.RowBuilder(title));
    return this;
  }

  stat(title: string, targets: Target[], opts: PanelOptions & { noValue?: string } = {}): this {
    const panel = new stat.PanelBuilder()
      .colorMode(common.BigValueColorMode.Background)
      .graphMode(common.BigValueGraphMode.None)
      .reduceOptions(new common.ReduceDataOptionsBuilder().calcs(['lastNotNull']).values(false))
      .noValue(opts.noValue ?? '0');
    return this.add(panel, title, targets, 'time_series', { w: 4, h: 4, ...opts });
  }

  table(title: string, targets: Target[], opts: PanelOptions & { merge?: boolean } = {}): this {
    const panel = new table.PanelBuilder().showHeader(true);
    if (opts.merge) panel.withTransformation({ id: 'merge', options: {} });
    return this.add(panel, title, targets, 'table', { w: 12, h: 8, ...opts });
  }

  timeseries(title: string, targets: Target[], opts: PanelOptions = {}): this {
    const panel = new timeseries.PanelBuilder().fillOpacity(10).lineWidth(1);
    return this.add(panel, title, targets, 'time_series', { w: 12, h: 8, ...opts });
  }

  /** Grafana's alert list (no query): the firing rules, filtered to this product's folder. */
  alertList(title: string, opts: PanelOptions = {}): this {
    const panel = new dashboard.PanelBuilder()
      .type('alertlist')
      .title(title)
      .gridPos({ x: 0, y: 0, w: opts.w ?? 8, h: opts.h ?? 8 })
      .options({
        viewMode: 'list',
        groupMode: 'default',
        maxItems: 50,
        sortOrder: 1,
        stateFilter: { firing: true, pending: true, noData: false, normal: false, error: true },
        folder: { title: 'Fleetpulse' },
        alertInstanceLabelFilter: '',
      });
    if (opts.description) panel.description(opts.description);
    this.builder.withPanel(panel);
    return this;
  }

  /** A panel without InfluxDB queries (text, ...). */
  addPanel(panel: cog.Builder<dashboard.Panel>): this {
    this.builder.withPanel(panel);
    return this;
  }

  private add(
    panel: stat.PanelBuilder | table.PanelBuilder | timeseries.PanelBuilder,
    title: string,
    targets: Target[],
    format: ResultFormat,
    opts: PanelOptions,
  ): this {
    panel
      .title(title)
      .datasource({ ...datasourceRef })
      .gridPos({ x: 0, y: 0, w: opts.w ?? 12, h: opts.h ?? 8 });
    if (opts.description) panel.description(opts.description);
    if (opts.unit) panel.unit(opts.unit);
    if (opts.minInterval) panel.interval(opts.minInterval);
    if (opts.thresholds) {
      panel.thresholds(
        new dashboard.ThresholdsConfigBuilder()
          .mode(dashboard.ThresholdsMode.Absolute)
          .steps(opts.thresholds.map(([color, value]) => ({ color, value }))),
      );
    }
    for (const t of opts.transformations ?? []) panel.withTransformation(t);
    for (const [column, link] of Object.entries(opts.links ?? {})) {
      const links = [link, ...(pageLinks[column] ?? [])].map(({ title, url }) => ({ title, url }));
      panel.overrideByName(column, [{ id: 'links', value: links }]);
    }
    targets.forEach((t, i) => {
      const refId = REF_IDS[i];
      const query = t.q.toString();
      panel.withTarget(new InfluxQLTarget({ refId, query, format, alias: t.legend }));
      this.queries.push({
        dashboard: this.spec.uid,
        panel: title,
        refId,
        query,
        format,
        columns: t.q.resultColumns(),
        tags: t.q.resultTags(),
        mayBeEmpty: t.mayBeEmpty ?? false,
        ...(opts.minInterval ? { minIntervalMs: parseInterval(opts.minInterval) } : {}),
      });
    });
    this.builder.withPanel(panel);
    return this;
  }

  /** The dashboard JSON as Grafana's file provisioning reads it. */
  build(): dashboard.Dashboard {
    return this.builder.build();
  }
}
