/**
 * Why an offline device is offline, from the inventory's dependencies: its gateway (agent → terminals,
 * back office → POS devices, plug → console) is unreachable, or most of its site vanished at once.
 * The rules, per site and per gateway; dependency-index.ts applies them to the groups a tick's
 * transitions touched, so that one cause raises one alert and the devices behind it none.
 */
import { int, type DeviceState, type Fields } from '../sdk/index.ts';

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

export interface Member {
  state: DeviceState;
  /** When `state` began, epoch ms. */
  since: number;
}

/**
 * A site's `site_status` fields, and the devices that are its outage (none when it has none).
 * `counted`: its watched devices, maintenance excluded.
 */
export function siteOutage<M extends Member>(
  counted: readonly M[],
  policy: SiteOutagePolicy,
): { fields: Fields; outage: M[] } {
  const offline = counted.filter((m) => m.state === 'offline');
  const burst = largestBurst(offline, policy.windowS * 1000);
  const outage = counted.length >= policy.minDevices && burst.length / counted.length >= policy.share;
  return {
    fields: {
      total: int(counted.length),
      offline: int(offline.length),
      offline_share: offline.length / counted.length,
      outage: int(outage ? 1 : 0),
      outage_devices: int(outage ? burst.length : 0),
    },
    outage: outage ? burst : [],
  };
}

/**
 * A device's cause: a site outage first; else, offline behind an unreachable gateway; else itself.
 * A gateway counts as dependents offline only those of the second kind.
 */
export function causeOf(state: DeviceState, inOutage: boolean, gatewayUnreachable: boolean): Cause {
  if (inOutage) return 'site_outage';
  return state === 'offline' && gatewayUnreachable ? 'gateway_offline' : 'self';
}

/** The most offline devices whose transitions lie within `windowMs` of each other. */
function largestBurst<M extends Member>(offline: M[], windowMs: number): M[] {
  const sorted = [...offline].sort((a, b) => a.since - b.since);
  let best: [number, number] = [0, 0];
  for (let i = 0, j = 0; j < sorted.length; j++) {
    while (sorted[j].since - sorted[i].since > windowMs) i++;
    if (j + 1 - i > best[1] - best[0]) best = [i, j + 1];
  }
  return sorted.slice(best[0], best[1]);
}
