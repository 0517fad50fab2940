/**
 * Sessions the charger never stops. A charger killed mid-transaction boots again and forgets it;
 * a lost StopTransaction never comes. Such a session is closed, `complete=false`, with the reason
 * we concluded it from: the charger rebooted, a new transaction started on its connector, the
 * connector stayed Available past a grace, nothing arrived for `session_timeout_h`, or an
 * operator closed it. A 2.0.1 charger is asked first (GetTransactionStatus): a transaction it
 * still runs, or whose messages it still queues, is not ended behind its back.
 */
import type { CloseReason, SessionRow } from './sessions.ts';
import { enqueue, type Charger, type Station } from './station.ts';
import { emitSummary } from './transactions.ts';

/** Sessions closed per sweep and per kind: a backlog after an outage is worked off over sweeps. */
const SWEEP_LIMIT = 200;
/** How long a charger has to answer GetTransactionStatus, ms. */
const ASK_TIMEOUT_MS = 30_000;

interface TransactionStatus {
  ongoingIndicator?: boolean;
  messagesInQueue: boolean;
}

export class SessionEnds {
  private sweeping = false;

  constructor(private readonly station: Station) {}

  /** Closes a session now and writes its summary point. */
  close(row: SessionRow, reason: CloseReason): SessionRow {
    const { ctx, sessions } = this.station;
    const closed = sessions.close(row, reason);
    ctx.count(`session_closed_${reason}`);
    ctx.log.info(
      { device: row.charger, transaction: row.transaction_id, reason, energy_wh: closed.energy_wh },
      'charging session closed without a stop from the charger',
    );
    emitSummary(this.station, closed);
    return closed;
  }

  /** BootNotification: whatever was active before is over (2.0.1: unless the charger says not). */
  rebooted(charger: Charger): void {
    const rows = this.station.sessions.active(charger.identity);
    if (rows.length === 0) return;
    if (charger.version === 'ocpp1.6') {
      for (const row of rows) this.close(row, 'charger_rebooted');
      return;
    }
    // After the BootNotification answer: a charger is asked nothing before it is accepted.
    setImmediate(() => void this.concludeAll(rows, 'charger_rebooted'));
  }

  /**
   * A transaction started on `row`'s connector: the older ones active there are over. Called in
   * the database transaction that stores the new one. A late backlog of an older transaction
   * never ends a newer one.
   */
  supersede(row: SessionRow): void {
    if (row.connector === null) return;
    for (const other of this.station.sessions.active(row.charger)) {
      if (other.id === row.id || other.connector !== row.connector) continue;
      if (other.start_time !== null && row.start_time !== null && other.start_time > row.start_time) continue;
      this.close(other, 'superseded');
    }
  }

  /** A StatusNotification: Available starts the grace of the connector's active session, anything else ends it. */
  connectorStatus(charger: Charger, connector: number, status: string): void {
    const { sessions, ctx } = this.station;
    for (const row of sessions.active(charger.identity)) {
      if (row.connector !== connector) continue;
      if (status === 'Available' && row.available_since === null) sessions.markAvailable(row, ctx.clock.now());
      else if (status !== 'Available' && row.available_since !== null) sessions.markAvailable(row, null);
    }
  }

  /** The periodic check: the Available grace and the timeout, at most SWEEP_LIMIT sessions each. */
  async sweep(): Promise<void> {
    if (this.sweeping) return;
    this.sweeping = true;
    try {
      const { config, clock } = this.station.ctx;
      const now = clock.now();
      const { sessions } = this.station;
      await this.concludeAll(
        sessions.unplugged(now - config.available_grace_s * 1000, SWEEP_LIMIT),
        'connector_available',
      );
      await this.concludeAll(sessions.stale(now - config.session_timeout_h * 3600_000, SWEEP_LIMIT), 'timeout');
    } finally {
      this.sweeping = false;
    }
  }

  /**
   * A 2.0.1 TransactionEvent revealed missing events (a seqNo gap, no Started): asks whether the
   * charger still queues them, so that the log says whether the session will be completed.
   */
  async gap(charger: Charger, row: SessionRow): Promise<void> {
    const { ctx } = this.station;
    const status = await this.ask(charger, row.transaction_id);
    const queued = status?.messagesInQueue === true;
    ctx.count(queued ? 'transaction_events_queued' : 'transaction_events_lost');
    ctx.log.info(
      { device: row.charger, transaction: row.transaction_id, queued },
      queued
        ? 'transaction events missing; the charger still queues messages'
        : 'transaction events missing; the charger has none queued: the session stays incomplete',
    );
  }

  private async concludeAll(rows: SessionRow[], reason: CloseReason): Promise<void> {
    for (const row of rows) {
      try {
        await this.conclude(row, reason);
      } catch (err) {
        this.station.ctx.log.error(
          { device: row.charger, transaction: row.transaction_id, err },
          'could not close a session',
        );
      }
    }
  }

  private async conclude(row: SessionRow, reason: CloseReason): Promise<void> {
    const { ctx, sessions } = this.station;
    const charger = row.protocol === 'ocpp2.0.1' ? ctx.connection<Charger>(row.charger) : undefined;
    if (charger) {
      const status = await this.ask(charger, row.transaction_id);
      if (status?.ongoingIndicator === true || status?.messagesInQueue === true) {
        ctx.count('session_kept_open');
        sessions.touch(row);
        return;
      }
    }
    const now = sessions.get(row.charger, row.transaction_id);
    // Something arrived while the charger was asked: it is no longer what was concluded from.
    if (!now || now.state !== 'active' || now.updated_at !== row.updated_at) return;
    this.close(now, reason);
  }

  /** GetTransactionStatus; undefined when the charger cannot say (gone, refused, timed out). */
  private async ask(charger: Charger, transactionId: string): Promise<TransactionStatus | undefined> {
    try {
      return (await enqueue(charger, () =>
        charger.connection.call('GetTransactionStatus', { transactionId }, { callTimeoutMs: ASK_TIMEOUT_MS }),
      )) as TransactionStatus;
    } catch (err) {
      this.station.ctx.log.info(
        { device: charger.identity, transaction: transactionId, err: (err as Error).message },
        'GetTransactionStatus not answered',
      );
      return undefined;
    }
  }
}
