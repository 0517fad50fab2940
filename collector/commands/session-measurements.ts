import { defineMeasurement } from '../sdk/index.ts';

/** What the session scheduler writes; dashboards and alert rules take names from here. */
export const stationSession = defineMeasurement({
  name: 'station_session',
  description: 'One event of a timed session on a station (a venue PC, or a console behind a smart plug).',
  tags: { action: 'What happens at the end: lock, log_off, power_off' },
  fields: {
    event: { type: 'string', description: '`started`, `extended`, `warned`, `stopped` (ended early), `ended` (ran out)' },
    session_id: { type: 'string', description: 'The session' },
    minutes_sold: { type: 'float', unit: 'min', description: 'Minutes added by this event (started, extended); SUM gives minutes sold' },
    duration_min: { type: 'float', unit: 'min', description: 'How long the session ran (stopped, ended)' },
    ends_at_ms: { type: 'int', unit: 'ms', description: 'The end time after this event, epoch ms' },
  },
});

export const stationSessionsActive = defineMeasurement({
  name: 'station_sessions_active',
  description: 'Sessions running now, per site; written on every change and every minute.',
  tags: { site: 'Site id (empty for stations without a site)' },
  fields: { active: { type: 'int', description: 'Active sessions' } },
});

export const sessionEnforcementFailure = defineMeasurement({
  name: 'session_enforcement_failure',
  description: 'A session end the server could not enforce (an alert rule watches it; the agent may still have enforced it locally).',
  tags: { action: 'lock, log_off, power_off' },
  fields: {
    session_id: { type: 'string', description: 'The session' },
    target: { type: 'string', description: 'The device the action was sent to (the station, or its plug)' },
    error: { type: 'string', description: 'Why it failed' },
  },
});

export const sessionMeasurements = [stationSession, stationSessionsActive, sessionEnforcementFailure];
