import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { ApiKeys, ApiKeyInfo } from '../../collector/inventory/index.ts';

export interface UiSession {
  keyId: string;
  /** The form token of this session: every form carries it, every post must. */
  csrf: string;
  lastUsedAt: number;
}

/**
 * Sign-ins of the operator pages: an API key exchanged once for a random session token (the
 * cookie). Held in memory, by the token's SHA-256, so a restart signs everyone out; a session ends
 * after `idleMs` without a request, at sign-out, or when its key is revoked (looked up on every use).
 */
export class UiSessions {
  private readonly byDigest = new Map<string, UiSession>();

  constructor(
    private readonly keys: Pick<ApiKeys, 'get'>,
    private readonly idleMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** A new session for a key already verified; returns the token to set as the cookie. */
  open(key: ApiKeyInfo): { token: string; session: UiSession } {
    this.prune();
    // `fps_` keeps session tokens apart from API keys (`fpk_`) in logs and headers.
    const token = `fps_${randomBytes(32).toString('base64url')}`;
    const session = { keyId: key.id, csrf: randomBytes(24).toString('base64url'), lastUsedAt: this.now() };
    this.byDigest.set(digest(token), session);
    return { token, session };
  }

  /** The session and its key, or null when unknown, idle too long, or the key is revoked; refreshes it. */
  use(token: string): { session: UiSession; key: ApiKeyInfo } | null {
    const id = digest(token);
    const session = this.byDigest.get(id);
    if (!session) return null;
    const key = this.keys.get(session.keyId);
    if (this.now() - session.lastUsedAt > this.idleMs || !key || key.revoked_at !== null) {
      this.byDigest.delete(id);
      return null;
    }
    session.lastUsedAt = this.now();
    return { session, key };
  }

  /** For the API's key check: a session token stands for its key. */
  verify(token: string): ApiKeyInfo | null {
    return token.startsWith('fps_') ? (this.use(token)?.key ?? null) : null;
  }

  close(token: string): void {
    this.byDigest.delete(digest(token));
  }

  private prune(): void {
    const now = this.now();
    for (const [id, s] of this.byDigest) if (now - s.lastUsedAt > this.idleMs) this.byDigest.delete(id);
  }
}

/** Whether a posted form token is the expected one, in constant time. */
export function sameToken(expected: string, presented: unknown): boolean {
  if (typeof presented !== 'string') return false;
  const a = Buffer.from(expected);
  const b = Buffer.from(presented);
  return a.length === b.length && timingSafeEqual(a, b);
}

function digest(token: string): string {
  return createHash('sha256').update(token).digest('base64url');
}
