/**
 * Dashboard uids and drill-down URLs. Uids are fixed so that links, alert annotations and people's
 * bookmarks survive regeneration. Fleet → site → device: the fleet overview filtered to a site
 * is the site view; a device row opens the device detail.
 */
export const UID = {
  fleet: 'fp-fleet-overview',
  device: 'fp-device-detail',
  collector: 'fp-collector',
  reports: 'fp-monthly-reports',
  terminals: 'fp-terminals',
  charging: 'fp-ev-charging',
  gaming: 'fp-gaming',
  pos: 'fp-pos',
  technical: 'fp-technical',
  business: 'fp-business',
} as const;

/** The Fleetpulse API base URL, a hidden constant variable on every dashboard (change it in Grafana or regenerate). */
export const API_URL_VARIABLE = 'fleetpulse_api';
export const DEFAULT_API_URL = 'http://localhost:8080';

const field = (name: string) => `\${__data.fields.${name}}`;
const PAGES = `\${${API_URL_VARIABLE}}/ui`;
/** The month of the time range's start: a report range is a calendar month (now-1M/M). */
const MONTH = '${__from:date:YYYY-MM}';

export const link = {
  deviceDetail: {
    title: 'Device detail',
    url: `/d/${UID.device}/device-detail?var-device=${field('device')}&\${__url_time_range}`,
  },
  site: {
    title: 'Site view',
    url: `/d/${UID.fleet}/fleet-overview?var-customer=${field('customer')}&var-site=${field('site')}&\${__url_time_range}`,
  },
  customer: {
    title: 'Customer view',
    url: `/d/${UID.fleet}/fleet-overview?var-customer=${field('customer')}&\${__url_time_range}`,
  },
  // People open these in a browser: operator pages under /ui/, never a JSON route that needs a Bearer header.
  apiDevice: { title: 'Device in Fleetpulse', url: `\${${API_URL_VARIABLE}}/ui/devices/\${device}` },
  apiReports: { title: 'Reports in Fleetpulse', url: `${PAGES}/reports?month=${MONTH}` },
  apiSessions: { title: 'Sessions in Fleetpulse', url: `\${${API_URL_VARIABLE}}/ui/sessions` },
};

/**
 * The operator pages a cell of a column also opens, beside the column's Grafana link: where the
 * NOC acts on what it sees (board.ts adds them to every linked column of that name).
 */
export const pageLinks: Record<string, { title: string; url: string }[]> = {
  device: [
    { title: 'Device in Fleetpulse', url: `${PAGES}/devices/${field('device')}` },
    { title: 'Incidents of this device', url: `${PAGES}/incidents?device=${field('device')}` },
  ],
  site: [
    { title: 'Incidents at this site', url: `${PAGES}/incidents?customer=${field('customer')}&site=${field('site')}` },
  ],
  customer: [{ title: 'Uptime report', url: `${PAGES}/reports?customer=${field('customer')}&month=${MONTH}` }],
};
