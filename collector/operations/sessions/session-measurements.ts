import { defineMeasurement } from '../../sdk/index.ts';

/** What the session scheduler writes; dashboards and alert rules take names from here. */
export const stationSession = defineMeasurement({
  name: 'station_session',
  description: 'One event of a timed session on a station (a venue PC, or a console behind a smart plug).',
  tags: { action: 'What happens at the end: lock, log_off, power_off' },
  fields: {
    event: {
      type: 'string',
      description: '`started`, `extended`, `warned`, `stopped` (ended early), `ended` (ran out)',
    },
    session_id: { type: 'string', description: 'The session' },
    minutes_sold: {
      type: 'float',
      unit: 'min',
      description: 'Minutes added by this event (started, extended); SUM gives minutes sold',
    },
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

/**
 * Every session end that had to be enforced, and how that went: the one place an enforcement
 * failure lands, whatever the arm (the server's command, the station's agent, the plug). The
 * alert rule `fp-session-enforcement-failed` sums `failed`.
 */
export const sessionEnforcement = defineMeasurement({
  name: 'session_enforcement',
  description:
    'How the end of a session was enforced: `pending` (the station was unreachable at the end but holds the end time; its report is awaited), then `enforced` or `failed`.',
  tags: { action: 'lock, log_off, power_off' },
  fields: {
    state: { type: 'string', description: '`enforced`, `pending` or `failed`' },
    failed: {
      type: 'int',
      description: '1 when the end could not be enforced (or not confirmed in time), else 0; the alert rule sums it',
    },
    by: {
      type: 'string',
      description:
        'Who ended it or was asked to: `server` (a command to the station), `station` (its agent, locally), `plug` (power_off)',
    },
    maintenance: {
      type: 'int',
      description: '1 when the station was in a maintenance window (the alert rule leaves these out)',
    },
    session_id: { type: 'string', description: 'The session' },
    target: { type: 'string', description: 'The device the action was for (the station, or its plug)' },
    error: { type: 'string', description: 'Why it failed or is pending (empty when enforced)' },
  },
});

export const sessionMeasurements = [stationSession, stationSessionsActive, sessionEnforcement];
