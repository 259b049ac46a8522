import { decodeJwt } from "jose";
import type { AuthenticatedCaller, Authenticator, VerificationContext } from "./authenticator.js";

export interface VerifiedTokenCacheOptions {
  /** Longest time a verification is reused, whatever the token's `exp` (bounds how long a withdrawn key is trusted). */
  readonly maxAgeMs: number;
  /** Tokens remembered at most; the oldest are dropped first. */
  readonly maxEntries: number;
  readonly now?: () => number;
}

/**
 * Reuses successful JWT verifications briefly, sparing a signature check per call; never past the token's `exp` or
 * `maxAgeMs`. Failures are not cached, so a rejected token is checked again.
 */
export class VerifiedTokenCache implements Authenticator {
  private readonly entries = new Map<string, { caller: AuthenticatedCaller; until: number }>();
  private readonly now: () => number;

  constructor(
    private readonly inner: Authenticator,
    private readonly options: VerifiedTokenCacheOptions,
  ) {
    this.now = options.now ?? Date.now;
  }

  async verify(token: string, context?: VerificationContext): Promise<AuthenticatedCaller> {
    const now = this.now();
    const hit = this.entries.get(token);
    if (hit && hit.until > now) return hit.caller;
    if (hit) this.entries.delete(token);
    const caller = await this.inner.verify(token, context);
    const exp = decodeJwt(token).exp;
    const until = Math.min(now + this.options.maxAgeMs, exp === undefined ? now : exp * 1000);
    if (until > now) {
      this.entries.set(token, { caller, until });
      if (this.entries.size > this.options.maxEntries) this.entries.delete(this.entries.keys().next().value!);
    }
    return caller;
  }
}
