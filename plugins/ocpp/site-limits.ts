/**
 * The site power limit, enforced: a site's `max_power_kw` divided equally across its active
 * sessions, each held to its share by a TxProfile, sent again whenever a session at the site
 * starts or ends. Equal shares are the simplest rule that never exceeds the limit; a charger
 * that draws less leaves its share unused (no redistribution by measured power yet).
 */
import type { ChargingProfiles } from './charging-profiles.ts';
import type { SessionRow } from './sessions.ts';
import type { SitePower } from './site-power.ts';
import { clearProfilePayload, setProfilePayload, sessionCap } from './smart-charging.ts';
import { enqueue, type Charger, type Station } from './station.ts';

const OPEN = 1;
/** Profile ids of the site limit's TxProfiles: this plus the session id, clear of operators' small ids. */
export const SITE_PROFILE_BASE = 1_000_000;

export interface Allocation {
  session: number;
  charger: string;
  connector: number | null;
  transaction_id: string;
  /** The share sent, W; null while it has not been accepted (charger offline, refused). */
  limit_w: number | null;
}

export class SiteLimits {
  private readonly due = new Set<string>();
  /** The share run of each site in progress, so that two never interleave their sends. */
  private readonly running = new Map<string, Promise<void>>();

  constructor(
    private readonly station: Station,
    private readonly profiles: ChargingProfiles,
    private readonly power: SitePower,
  ) {}

  /**
   * A session started or ended. The shares are sent once the message that did it is answered
   * (a 1.6 charger knows its transactionId only from the answer), one run per site at a time.
   */
  sessionChanged(row: SessionRow): void {
    if (row.state === 'ended') this.profiles.remove(row.charger, SITE_PROFILE_BASE + row.id);
    if (row.site) this.schedule(row.site);
  }

  schedule(site: string): void {
    if (this.due.has(site)) return;
    this.due.add(site);
    setImmediate(() => {
      this.due.delete(site);
      void this.share(site);
    });
  }

  /** Sends every active session at the site its share (those already holding it are skipped). */
  share(site: string): Promise<void> {
    const before = this.running.get(site) ?? Promise.resolve();
    const run = before.then(() => this.shareNow(site));
    this.running.set(site, run);
    void run.finally(() => this.running.get(site) === run && this.running.delete(site));
    return run;
  }

  /** The site's sessions and what each holds now. */
  allocations(site: string): Allocation[] {
    return this.active(site).map((row) => {
      const held = this.profiles
        .ofCharger(row.charger)
        .find((p) => p.profile_id === SITE_PROFILE_BASE + row.id && p.source === 'site_limit');
      const limit = (held?.profile as { schedule?: { periods?: Array<{ limit: number }> } } | undefined)?.schedule
        ?.periods?.[0]?.limit;
      return {
        session: row.id,
        charger: row.charger,
        connector: row.connector,
        transaction_id: row.transaction_id,
        limit_w: limit ?? null,
      };
    });
  }

  private active(site: string): SessionRow[] {
    return this.station.sessions.list({ site, state: 'active', limit: 10_000 }).reverse();
  }

  private async shareNow(site: string): Promise<void> {
    const { ctx } = this.station;
    const maxKw = this.profiles.siteLimit(site);
    const sessions = this.active(site);
    const current = new Map(this.allocations(site).map((a) => [a.session, a.limit_w]));
    const shareW = maxKw === null || sessions.length === 0 ? null : Math.floor((maxKw * 1000) / sessions.length);
    await Promise.all(
      sessions.map(async (row) => {
        const held = current.get(row.id) ?? null;
        if (held === shareW) return;
        const charger = ctx.connection<Charger>(row.charger);
        if (!charger || charger.connection.state !== OPEN) return void ctx.count('site_limit_unreachable');
        const id = SITE_PROFILE_BASE + row.id;
        try {
          if (shareW === null) {
            const answer = (await enqueue(charger, () =>
              charger.connection.call('ClearChargingProfile', clearProfilePayload(charger.version, { id })),
            )) as { status: string };
            if (answer.status === 'Accepted' || answer.status === 'Unknown') this.profiles.remove(row.charger, id);
            return;
          }
          const profile = sessionCap(id, row.transaction_id, shareW);
          const payload = setProfilePayload(charger.version, { connector: row.connector ?? 0, profile });
          if (typeof payload === 'string') throw new Error(payload);
          const answer = (await enqueue(charger, () => charger.connection.call('SetChargingProfile', payload))) as {
            status: string;
          };
          if (answer.status !== 'Accepted') {
            ctx.count('site_limit_refused');
            ctx.log.warn({ device: row.charger, site, status: answer.status }, 'a charger refused its site share');
            return;
          }
          // The session may have ended while we waited: its profile died with it.
          if (this.station.sessions.byId(row.id)?.state !== 'active') return;
          this.profiles.putSent(row.charger, row.connector ?? 0, profile, 'site_limit', ctx.clock.now());
          this.power.shared(row, shareW, ctx.clock.now());
          ctx.count('site_limit_profile_sent');
        } catch (err) {
          ctx.count('site_limit_failed');
          ctx.log.warn({ device: row.charger, site, err: (err as Error).message }, 'could not send a site share');
        }
      }),
    );
    this.power.site(site, ctx.clock.now());
  }
}
