/**
 * Password rotation through OCPP itself: a new password is issued beside the current one and
 * sent to the charger (1.6 AuthorizationKey, hex-encoded as the security whitepaper defines;
 * 2.0.1 SecurityCtrlr.BasicAuthPassword). The old one keeps working until the charger has
 * connected with the new one, then it is revoked: a charger that never applied the change, or
 * lost it in a reboot, is not locked out.
 */
import { CREDENTIAL } from './config.ts';
import type { Charger, Station } from './station.ts';

/** The 1.6 AuthorizationKey for a password: its bytes as hex (whitepaper: 16–20 bytes, 32–40 digits). */
export function authorizationKey(password: string): string {
  return Buffer.from(password, 'utf8').toString('hex');
}

/**
 * Issues the new password for a rotate_password command; `settle` keeps it when the charger
 * accepted it, and revokes it otherwise (the charger still has the old one).
 */
export async function startRotation(
  station: Station,
  charger: Charger,
): Promise<{ password: string; settle(accepted: boolean): Promise<void> }> {
  const { devices, clock } = station.ctx;
  const issued = await devices.issueSecret(charger.identity, CREDENTIAL);
  return {
    password: issued.secret,
    async settle(accepted) {
      if (accepted) station.rotations.accepted(charger.identity, issued.credential, clock.now());
      else await devices.revokeCredential(charger.identity, issued.credential);
    },
  };
}

/** A charger authenticated with `credential`: if that is its new password, the old ones go. */
export async function authenticatedWith(station: Station, identity: string, credential: string | undefined) {
  const pending = station.rotations.pending(identity);
  if (!pending || pending !== credential) return;
  await station.ctx.devices.retireOthers(identity, CREDENTIAL, pending);
  station.rotations.finished(identity);
  station.ctx.count('password_rotated');
  station.ctx.log.info({ device: identity }, 'charger connected with its new password; the old one is revoked');
}
