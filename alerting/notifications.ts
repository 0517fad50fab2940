/**
 * Contact points and the notification policy tree. Everything site-specific is a `${VAR}` that
 * Grafana expands when it reads the file:
 * - FLEETPULSE_API_URL, FLEETPULSE_INCIDENT_WEBHOOK_SECRET: the API's incident receiver, which
 *   gets every alert (it opens/closes incidents; sent as `Authorization: Bearer <secret>`);
 * - FLEETPULSE_ONCALL_EMAIL, FLEETPULSE_NOC_EMAIL; FLEETPULSE_SLACK_WEBHOOK_URL (any
 *   Slack-compatible incoming webhook: Slack, Mattermost, Rocket.Chat).
 * Routing by contract needs no list: every device point carries its customer's `contract` (basic |
 * standard | premium) as an inventory tag, and the device rules keep it as a label.
 */
export const CONTACT = {
  incidents: 'fleetpulse-incidents',
  oncall: 'fleetpulse-oncall',
  noc: 'fleetpulse-noc',
} as const;

export function contactPoints(): Record<string, unknown> {
  return {
    apiVersion: 1,
    contactPoints: [
      {
        orgId: 1,
        name: CONTACT.incidents,
        receivers: [
          {
            uid: 'fp-incidents-webhook',
            type: 'webhook',
            disableResolveMessage: false,
            settings: {
              url: '${FLEETPULSE_API_URL}/api/v1/incidents/webhook',
              httpMethod: 'POST',
              authorization_scheme: 'Bearer',
              authorization_credentials: '${FLEETPULSE_INCIDENT_WEBHOOK_SECRET}',
              maxAlerts: 0,
            },
          },
        ],
      },
      {
        orgId: 1,
        name: CONTACT.oncall,
        receivers: [
          {
            uid: 'fp-oncall-email',
            type: 'email',
            settings: { addresses: '${FLEETPULSE_ONCALL_EMAIL}', singleEmail: false },
          },
          {
            uid: 'fp-oncall-slack',
            type: 'slack',
            settings: {
              url: '${FLEETPULSE_SLACK_WEBHOOK_URL}',
              title: '{{ template "default.title" . }}',
              text: '{{ template "default.message" . }}',
            },
          },
        ],
      },
      {
        orgId: 1,
        name: CONTACT.noc,
        receivers: [
          { uid: 'fp-noc-email', type: 'email', settings: { addresses: '${FLEETPULSE_NOC_EMAIL}', singleEmail: true } },
        ],
      },
    ],
  };
}

const DEVICE_GROUPING = ['alertname', 'customer', 'site'];

export function notificationPolicies(): Record<string, unknown> {
  const page = { receiver: CONTACT.oncall, group_wait: '0s', group_interval: '1m', repeat_interval: '1h' };
  return {
    apiVersion: 1,
    policies: [
      {
        orgId: 1,
        receiver: CONTACT.noc,
        group_by: DEVICE_GROUPING,
        group_wait: '30s',
        group_interval: '5m',
        repeat_interval: '4h',
        routes: [
          // Every alert reaches the API's incident store first, and the tree goes on.
          {
            receiver: CONTACT.incidents,
            object_matchers: [['product', '=', 'fleetpulse']],
            group_by: ['...'],
            group_wait: '0s',
            group_interval: '1m',
            repeat_interval: '1h',
            continue: true,
          },
          // Alerts without a customer (collector, data path) page on critical.
          {
            ...page,
            object_matchers: [
              ['severity', '=', 'critical'],
              ['customer', '=', ''],
            ],
            group_by: ['alertname', 'host'],
          },
          // Premium contracts: any critical alert pages at once.
          {
            ...page,
            object_matchers: [
              ['severity', '=', 'critical'],
              ['contract', '=', 'premium'],
            ],
            group_by: DEVICE_GROUPING,
          },
          // Basic contracts: critical alerts go to the NOC (business hours), grouped, never a page.
          {
            receiver: CONTACT.noc,
            object_matchers: [
              ['severity', '=', 'critical'],
              ['contract', '=', 'basic'],
            ],
            group_by: DEVICE_GROUPING,
            group_wait: '5m',
            group_interval: '5m',
            repeat_interval: '12h',
          },
          // Standard contracts (and a customer whose contract is not on the points yet): critical
          // pages after 5 min grouping; warnings go to the NOC.
          {
            receiver: CONTACT.oncall,
            object_matchers: [['severity', '=', 'critical']],
            group_by: DEVICE_GROUPING,
            group_wait: '5m',
            group_interval: '5m',
            repeat_interval: '4h',
          },
          { receiver: CONTACT.noc, object_matchers: [['severity', '=~', 'warning|info']], group_by: DEVICE_GROUPING },
        ],
      },
    ],
  };
}
