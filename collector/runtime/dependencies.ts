/**
 * Why an offline device is offline, from the inventory's dependencies: its gateway (agent → terminals,
 * back office → POS devices, plug → console) is unreachable, or most of its site vanished at once.
 * Pure: the liveness tracker calls it after the states of a tick are known, so that one cause
 * raises one alert and the devices behind it none.
 */
import { int, type DeviceRecord, type DeviceState, type Fields, type Tags } from '../sdk/index.ts';

/** `self` for every device not offline, and for an offline one that is down by itself. */
export type Cause = 'self' | 'gateway_offline' | 'site_outage';

export interface SiteOutagePolicy {
  /** Share of a site's watched devices (maintenance excluded) that makes an outage. Default 0.8. */
  share: number;
  /** "At once": those devices went offline within this many seconds of each other. Default 600. */
  windowS: number;
  /** Sites with fewer watched devices never have an outage (each device alerts). Default 5. */
  minDevices: number;
}

export const SITE_OUTAGE_DEFAULTS: SiteOutagePolicy = { share: 0.8, windowS: 600, minDevices: 5 };

export interface Watched {
  id: string;
  device: Pick<DeviceRecord, 'customer' | 'site' | 'gateway' | 'contract'> | undefined;
  state: DeviceState;
  /** When `state` began, epoch ms. */
  since: number;
  /** Not reachable, whatever the maintenance calendar says (a gateway in maintenance may be down). */
  unreachable: boolean;
}

export interface Dependencies {
  /** Causes other than `self`. */
  cause: Map<string, Cause>;
  /** Per gateway: devices whose gateway it is (in the inventory), and those offline because of it. */
  dependents: Map<string, { total: number; offline: number }>;
  /** The `site_status` rows of this moment. */
  sites: Array<{ tags: Tags; fields: Fields }>;
}

export function dependencies(watched: Iterable<Watched>, policy: SiteOutagePolicy): Dependencies {
  const all = [...watched];
  const byId = new Map(all.map((w) => [w.id, w]));
  const cause = new Map<string, Cause>();
  const sites = new Map<string, { tags: Tags; total: number; offline: Watched[] }>();
  for (const w of all) {
    const site = w.device?.site;
    if (!site || w.state === 'maintenance') continue;
    const key = `${w.device?.customer ?? ''}\u0000${site}`;
    let s = sites.get(key);
    if (!s) {
      const tags: Tags = { site };
      if (w.device?.customer) tags.customer = w.device.customer;
      if (w.device?.contract) tags.contract = w.device.contract;
      s = { tags, total: 0, offline: [] };
      sites.set(key, s);
    }
    s.total++;
    if (w.state === 'offline') s.offline.push(w);
  }
  const rows: Dependencies['sites'] = [];
  for (const s of sites.values()) {
    const burst = largestBurst(s.offline, policy.windowS * 1000);
    const outage = s.total >= policy.minDevices && burst.length / s.total >= policy.share;
    if (outage) for (const w of burst) cause.set(w.id, 'site_outage');
    rows.push({
      tags: s.tags,
      fields: {
        total: int(s.total),
        offline: int(s.offline.length),
        offline_share: s.offline.length / s.total,
        outage: int(outage ? 1 : 0),
        outage_devices: int(outage ? burst.length : 0),
      },
    });
  }
  const dependents = new Map<string, { total: number; offline: number }>();
  for (const w of all) {
    const gateway = w.device?.gateway;
    if (!gateway) continue;
    let d = dependents.get(gateway);
    if (!d) dependents.set(gateway, (d = { total: 0, offline: 0 }));
    d.total++;
    if (w.state !== 'offline' || cause.has(w.id) || !byId.get(gateway)?.unreachable) continue;
    cause.set(w.id, 'gateway_offline');
    d.offline++;
  }
  return { cause, dependents, sites: rows };
}

/** The most offline devices whose transitions lie within `windowMs` of each other. */
function largestBurst(offline: Watched[], windowMs: number): Watched[] {
  const sorted = [...offline].sort((a, b) => a.since - b.since);
  let best: [number, number] = [0, 0];
  for (let i = 0, j = 0; j < sorted.length; j++) {
    while (sorted[j].since - sorted[i].since > windowMs) i++;
    if (j + 1 - i > best[1] - best[0]) best = [i, j + 1];
  }
  return sorted.slice(best[0], best[1]);
}
