/**
 * Annotations that open the operator pages from an alert on one device (its query keyed by
 * `device`): the device's page and its incidents (where the incident this alert raises is
 * acknowledged), and for a session rule the sessions page. Grafana does not expand environment
 * variables in annotations, so the address is the dashboards' default Fleetpulse URL
 * (dashboards/links.ts), fixed when the files are generated.
 */
import { DEFAULT_API_URL } from '../dashboards/links.ts';
import type { RuleSpec } from './rule.ts';

const PAGES = `${DEFAULT_API_URL}/ui`;
const DEVICE = '{{ $labels.device }}';

export function pageAnnotations(rule: RuleSpec): Record<string, string> {
  if (!rule.query.resultTags().includes('device')) return {};
  return {
    fleetpulse_device: `${PAGES}/devices/${DEVICE}`,
    fleetpulse_incidents: `${PAGES}/incidents?device=${DEVICE}`,
    ...(rule.uid.startsWith('fp-session-') && { fleetpulse_sessions: `${PAGES}/sessions` }),
  };
}
