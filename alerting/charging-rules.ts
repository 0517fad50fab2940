/**
 * Rules on smart charging: a site drawing more than its power limit, and a charger drawing past
 * the limit its charging profiles put on it. Both compare two fields of one point
 * (ocpp_site_power, ocpp_charging_limit: InfluxQL cannot join measurements), last value against
 * last value, so an instance clears with the first reading back under the limit.
 */
import { chargingLimit, sitePower } from '../plugins/ocpp/measurements.ts';
import { DEVICE_LABELS, Query } from '../dashboards/influxql.ts';
import { KIND } from '../dashboards/kinds.ts';
import { watchedDevices } from './device-rules.ts';
import { DEFAULT_RULE_OPTIONS, type RuleOptions } from './rule-options.ts';
import type { RuleSpec } from './rule.ts';

/** How long a site may stay over its limit: shares go out at each session change; chargers settle in a minute. */
export const SITE_OVER_LIMIT_FOR = '5m';
/**
 * Draw above its profile limit that is not regulation noise, W: about 2 A at 230 V (chargers and
 * EVs regulate to within an ampere or two; meters round).
 */
export const PROFILE_MARGIN_W = 500;
/** Look-back: the last reading within it counts (meter values every 1–5 min in the field). */
const LOOKBACK_S = 600;
const L = [...DEVICE_LABELS, 'contract'];
const rule = { noDataState: 'OK', execErrState: 'KeepLast', lookbackS: LOOKBACK_S, reducer: 'last' } as const;

/** Per `by`, the last `drawn_w` minus the last `limit_w`; with `finer` tags, the worst of those series. */
function overLimit(name: string, by: string[], finer: string[] = []): Query {
  const inner = Query.fromName<string>(name)
    .expression('last("drawn_w") - last("limit_w")', 'over_w')
    .byTags(...by, ...finer);
  if (finer.length === 0) return inner;
  return Query.fromSubquery(inner)
    .select('max', 'over_w')
    .byTags(...by)
    .within({ kind: 'none' });
}

/** `options.profileViolationFor`: a new limit takes a meter interval or two to show (default 10m). */
export function chargingRules(options: RuleOptions = DEFAULT_RULE_OPTIONS): RuleSpec[] {
  const violationFor = options.profileViolationFor;
  return [
    {
      uid: 'fp-site-over-power-limit',
      title: 'Site over its power limit',
      severity: 'critical',
      ...rule,
      query: overLimit(sitePower.name, ['customer', 'site']),
      evaluator: { type: 'gt', params: [0] },
      for: SITE_OVER_LIMIT_FOR,
      // About the site itself (no dependency explains it), said as site rules say it: in a label.
      labels: { cause: 'self' },
      summary: 'Site over its power limit at {{ $labels.customer }} / {{ $labels.site }}: {{ $values.B }} W above it',
      description: `The sum of the power its active sessions report (ocpp_site_power.drawn_w) has been above its max_power_kw (limit_w) for ${SITE_OVER_LIMIT_FOR}: a charger is not holding its share, or a session draws that Fleetpulse does not know of.`,
      subject: 'site',
    },
    {
      uid: 'fp-charger-ignoring-profile',
      title: 'Charger ignoring its charging profile',
      severity: 'warning',
      ...rule,
      query: overLimit(chargingLimit.name, L, ['connector']),
      watched: watchedDevices([KIND.charger]),
      evaluator: { type: 'gt', params: [PROFILE_MARGIN_W] },
      for: violationFor,
      summary:
        'Charger ignoring its charging profile on {{ $labels.device }} ({{ $labels.kind }} {{ $labels.model }}) at {{ $labels.customer }} / {{ $labels.site }}: {{ $values.B }} W above its limit',
      description: `A connector reports more power than the limit its accepted profiles put on it (ocpp_charging_limit.drawn_w − limit_w > ${PROFILE_MARGIN_W} W) for ${violationFor}: the charger accepted the profile and does not apply it. Its profiles and composite schedule: GET /api/v1/chargers/{{ $labels.device }}/smart-charging.`,
      subject: 'device',
    },
  ];
}
