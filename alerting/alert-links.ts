/**
 * Where an alert's links lead: its runbook (`<runbook_base_url>#<rule uid>`, one heading per rule
 * in docs/runbooks.md) and the Fleetpulse operator page of its device. Both bases come from the
 * `grafana` section of the configuration, read by `npm run grafana:build`; the committed
 * provisioning uses the defaults.
 */
import { DEFAULT_API_URL } from '../dashboards/links.ts';

/** docs/runbooks.md as the project publishes it: a heading's anchor is its text (the rule uid). */
export const DEFAULT_RUNBOOK_BASE_URL = 'https://github.com/fleetpulse/fleetpulse/blob/main/docs/runbooks.md';

export interface AlertLinks {
  /** Runbook page; the rule uid is appended as `#<uid>`. */
  runbookBaseUrl: string;
  /** Fleetpulse as people reach it in a browser; device pages are `<url>/ui/devices/<id>`. */
  fleetpulseUrl: string;
}

export const DEFAULT_ALERT_LINKS: AlertLinks = {
  runbookBaseUrl: DEFAULT_RUNBOOK_BASE_URL,
  fleetpulseUrl: DEFAULT_API_URL,
};

export const runbookUrl = (links: AlertLinks, uid: string) => `${links.runbookBaseUrl}#${uid}`;
