/**
 * The charging profiles a simulated charger holds, as a charge point keeps them: installed by
 * SetChargingProfile (a TxProfile only while its connector has a transaction), removed by
 * ClearChargingProfile or with their transaction, carried by a remote start; GetCompositeSchedule
 * answered from them, and the power the charger draws held under the limit in force
 * (schedule-limit.ts), unless it was built to ignore them (the fault the alert rules look for).
 */
import type { RPCClient } from 'ocpp-rpc';
import {
  compositeSchedule,
  limitAt,
  VOLTS_PER_PHASE,
  type HeldProfile,
  type RunningTransaction,
} from './schedule-limit.ts';
import { profileOf, purposeOf } from './smart-charging.ts';

/** What SIM-22 is rated for (22 kW): the composite schedule's limit where no profile sets one. */
export const RATED_W = 22_000;
const PHASES = 3;

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- schema-checked by strict mode, either version
type Params = Record<string, any>;

export class SimulatedProfiles {
  private held: HeldProfile[] = [];
  /** TxProfiles of a remote start, per connector, until its transaction has an id. */
  private readonly starting = new Map<number, HeldProfile>();
  /**
   * Connectors whose StartTransaction is on its way: the CSMS may send the TxProfile for it (with
   * its id) right behind the answer, before the charger's own code has read the answer.
   */
  private readonly opening = new Set<number>();

  constructor(
    private readonly v16: boolean,
    /** The connector's running transaction, if any. */
    private readonly txOf: (connector: number) => RunningTransaction | undefined,
    /** Accepts profiles but draws as if it had none. */
    private readonly ignoring = false,
  ) {}

  /** Answers SetChargingProfile, ClearChargingProfile and GetCompositeSchedule on this connection. */
  serve(client: RPCClient): void {
    client.handle('SetChargingProfile', async ({ params }) => ({ status: this.set(params as Params) }));
    client.handle('ClearChargingProfile', async ({ params }) => ({ status: this.clear(params as Params) }));
    client.handle('GetCompositeSchedule', async ({ params }) => this.composite(params as Params));
  }

  /** A remote start's chargingProfile (a TxProfile for the transaction about to start on `connector`). */
  startWith(connector: number, ocpp: Params | undefined): void {
    if (ocpp) this.starting.set(connector, { connector, profile: profileOf(ocpp) });
  }

  /** A transaction is being started on `connector`. */
  opened(connector: number): void {
    this.opening.add(connector);
  }

  /** The transaction on `connector` has its id: a remote start's profile now belongs to it. */
  started(connector: number, txId: string): void {
    const h = this.starting.get(connector);
    this.starting.delete(connector);
    this.opening.delete(connector);
    if (h) this.install({ connector, profile: { ...h.profile, transaction_id: txId } });
  }

  /** A TxProfile lasts as long as its transaction. */
  ended(txId: string): void {
    this.held = this.held.filter((h) => h.profile.purpose !== 'tx' || h.profile.transaction_id !== txId);
  }

  /** The power a connector draws at `now` for a car that wants `wantW`; `charging` connectors share the station max. */
  drawW(connector: number, wantW: number, now: number, charging: number): number {
    if (this.ignoring) return wantW;
    const limit = limitAt(this.held, connector, now, this.txOf(connector), Math.max(1, charging));
    return limit === null ? wantW : Math.min(wantW, Math.floor(limit));
  }

  private install(h: HeldProfile): 'Accepted' {
    // OCPP: a profile replaces the one of its id, and the one of its purpose and stack level on its connector.
    const p = h.profile;
    this.held = this.held.filter(
      (x) =>
        x.profile.id !== p.id &&
        !(x.connector === h.connector && x.profile.purpose === p.purpose && x.profile.stack_level === p.stack_level),
    );
    this.held.push(h);
    return 'Accepted';
  }

  private set(params: Params): string {
    const connector = (this.v16 ? params.connectorId : params.evseId) as number;
    const profile = profileOf((this.v16 ? params.csChargingProfiles : params.chargingProfile) as Params);
    if (profile.purpose === 'tx') {
      const tx = this.txOf(connector);
      if (!tx && this.opening.has(connector) && profile.transaction_id !== undefined)
        return this.install({ connector, profile });
      if (!tx || (profile.transaction_id !== undefined && profile.transaction_id !== tx.id)) return 'Rejected';
      profile.transaction_id = tx.id;
    }
    return this.install({ connector, profile });
  }

  private clear(params: Params): string {
    const c = (this.v16 ? params : (params.chargingProfileCriteria ?? {})) as Params;
    const id = (this.v16 ? params.id : params.chargingProfileId) as number | undefined;
    const connector = (this.v16 ? c.connectorId : c.evseId) as number | undefined;
    const purpose = c.chargingProfilePurpose ? purposeOf(c.chargingProfilePurpose as string) : undefined;
    const matches = (h: HeldProfile) =>
      id !== undefined
        ? h.profile.id === id
        : (connector === undefined || h.connector === connector) &&
          (purpose === undefined || h.profile.purpose === purpose) &&
          (c.stackLevel === undefined || h.profile.stack_level === c.stackLevel);
    const before = this.held.length;
    this.held = this.held.filter((h) => !matches(h));
    return this.held.length < before ? 'Accepted' : 'Unknown';
  }

  private composite(params: Params): Params {
    const connector = (this.v16 ? params.connectorId : params.evseId) as number;
    const duration = params.duration as number;
    const unit = (params.chargingRateUnit ?? 'W') as 'W' | 'A';
    const now = Date.now();
    const periods = compositeSchedule(this.held, connector, now, duration, this.txOf(connector)).map((x) => {
      const watts = x.limit_w ?? RATED_W;
      // A: whole amperes (the 1.6 schema wants a multiple of 0.1, which a float division may miss).
      const limit = unit === 'W' ? Math.floor(watts) : Math.floor(watts / (VOLTS_PER_PHASE * PHASES));
      return { startPeriod: x.start_s, limit, ...(unit === 'A' ? { numberPhases: PHASES } : {}) };
    });
    const scheduleStart = new Date(now).toISOString();
    const schedule = { chargingRateUnit: unit, chargingSchedulePeriod: periods };
    return this.v16
      ? { status: 'Accepted', connectorId: connector, scheduleStart, chargingSchedule: { duration, ...schedule } }
      : { status: 'Accepted', schedule: { evseId: connector, duration, scheduleStart, ...schedule } };
  }
}
