import { Refusal } from '../../errors.ts';

export type ExpiryAction = 'lock' | 'log_off' | 'power_off';
export type SessionState = 'active' | 'ended' | 'stopped';
/** `ok` once enforced, `pending` while the station's own report is awaited, `failed`. */
export type Enforcement = 'ok' | 'pending' | 'failed';
/** Who enforced the end (or was to): the server's command, the station's agent, the plug. */
export type EnforcedBy = 'server' | 'station' | 'plug';

export interface StationSession {
  id: string;
  station: string;
  site: string | null;
  action: ExpiryAction;
  /** The plug that powers the station, for `power_off`. */
  plug: string | null;
  started_at: number;
  ends_at: number;
  minutes_sold: number;
  state: SessionState;
  ended_at: number | null;
  /** Null while active or when stopped. */
  enforcement: Enforcement | null;
  enforced_by: EnforcedBy | null;
  /** Why the end failed, or why it is pending. */
  error: string | null;
  /**
   * The station's agent holds what the server wants it to now (this end while active, nothing once
   * stopped); false while a change waits for the station to be back. Null for power_off sessions.
   */
  station_synced: boolean | null;
}

export type SessionErrorReason = 'not_found' | 'conflict' | 'not_active' | 'no_plug';

/** The request cannot be done as asked (unknown session, one already running, ...). */
export class SessionError extends Refusal {
  override name = 'SessionError';

  constructor(
    /** The scheduler's name for it; `code` is what the API answers. */
    readonly reason: SessionErrorReason,
    message: string,
  ) {
    // A session that is no longer active conflicts with the request; a missing plug is a bad `plug`.
    super(
      reason === 'not_active' ? 'conflict' : reason === 'no_plug' ? 'invalid' : reason,
      message,
      reason === 'no_plug' ? 'plug' : undefined,
    );
  }
}
