/**
 * What the security commands need around the call: a check that the server can honour the
 * change (raising a charger to a profile nobody here can serve would lock it out for good), and
 * what changes here once the charger has accepted it.
 */
import type { Command } from '../../collector/sdk/index.ts';
import type { SecurityProfile } from './security.ts';
import type { Charger, Station } from './station.ts';

/** Why the command must not be sent, if it must not. */
export function securityRefusal(station: Station, command: Command): string | undefined {
  if (command.name !== 'set_security_profile') return undefined;
  const { profile } = command.params as { profile: SecurityProfile };
  if (!station.ctx.http.tls)
    return `profile ${profile} needs wss:// here: serve's own TLS (http.tls) or a trusted proxy's (http.trust_proxy)`;
  if (profile === 3 && !station.ca) return 'profile 3 needs plugins.ocpp.ca (the CA of the client certificates)';
  return undefined;
}

/** The charger accepted the command: record what it now holds. */
export function securityAccepted(station: Station, charger: Charger, command: Command): void {
  if (command.name !== 'set_security_profile') return;
  const { profile } = command.params as { profile: SecurityProfile };
  station.profiles.raise(charger.identity, profile, station.ctx.clock.now());
  station.ctx.log.info({ device: charger.identity, profile }, 'charger raised to a security profile');
}
