import { createHash } from "node:crypto";
import type { Logger } from "../logger.js";
import type { AuthenticationFailureLimiter } from "./authentication-failure-limiter.js";
import {
  tokenError,
  tokenUnverifiableError,
  type AuthenticatedCaller,
  type Authenticator,
  type VerificationContext,
} from "./authenticator.js";
import { fetchJson, IdentityProviderError, type OidcDiscovery } from "./oidc-discovery.js";
import { callerFromClaims, issuedInTheFuture, type ClaimMapping } from "./token-claims.js";

export interface IntrospectionAuthenticatorOptions {
  /** The introspection endpoint; without it, the discovery document's `introspection_endpoint`. */
  readonly endpoint?: string;
  readonly discovery?: OidcDiscovery;
  readonly clientId: string;
  readonly clientSecret: string;
  /** When set, an answer's `iss` must be exactly this. */
  readonly issuer?: string;
  /** When set, an answer's `aud` must name one of these. */
  readonly audience?: readonly string[];
  /** How long an active answer is reused; 0 turns the cache off. */
  readonly cacheTtlMs: number;
  /** How long a refused token is refused again without asking; 0 turns this cache off. */
  readonly negativeCacheTtlMs?: number;
  /** Most answers kept (each cache); the least recently used goes first. */
  readonly cacheMaxEntries?: number;
  /** Refused introspections per client address: over its caps, unknown tokens from the address are refused unasked. */
  readonly failureLimiter?: AuthenticationFailureLimiter;
  /** What a client address counts as for `failureLimiter` (e.g. its IPv6 /64); default the address itself. */
  readonly addressKey?: (address: string) => string;
  readonly clockSkewMs: number;
  readonly claims: ClaimMapping;
  readonly logger?: Logger;
}

interface CachedCaller {
  readonly caller: AuthenticatedCaller;
  readonly expiresAt: number;
}

/** The RFC 7662 answer fields myphone looks at (besides the configured user and org claims). */
interface IntrospectionAnswer {
  readonly active?: unknown;
  readonly exp?: unknown;
  readonly nbf?: unknown;
  readonly iat?: unknown;
  readonly iss?: unknown;
  readonly aud?: unknown;
  readonly [claim: string]: unknown;
}

const DEFAULT_CACHE_ENTRIES = 10_000;

/**
 * OAuth 2.0 token introspection (RFC 7662) with HTTP Basic client credentials. Answers are cached briefly under the
 * token's SHA-256 (never past `exp`) and shared by concurrent calls; since each unknown token costs a provider
 * request, refusals are cached too, and addresses whose tokens keep being refused are not asked about.
 */
export class IntrospectionAuthenticator implements Authenticator {
  private readonly cache = new Map<string, CachedCaller>();
  /** Token hashes refused lately, with when that stops counting. */
  private readonly refused = new Map<string, number>();
  private readonly inFlight = new Map<string, Promise<AuthenticatedCaller>>();
  private readonly basicCredentials: string;
  private endpointUrl?: Promise<string>;

  constructor(private readonly options: IntrospectionAuthenticatorOptions) {
    const encode = (value: string) => encodeURIComponent(value).replace(/%20/g, "+");
    this.basicCredentials = Buffer.from(`${encode(options.clientId)}:${encode(options.clientSecret)}`).toString(
      "base64",
    );
  }

  async verify(token: string, context?: VerificationContext): Promise<AuthenticatedCaller> {
    const key = createHash("sha256").update(token).digest("base64url");
    const cached = this.cache.get(key);
    if (cached && cached.expiresAt > Date.now()) {
      // Re-insert: Map order is the eviction order, so this makes the entry the most recently used.
      this.cache.delete(key);
      this.cache.set(key, cached);
      return cached.caller;
    }
    if (cached) this.cache.delete(key);
    const refusedUntil = this.refused.get(key);
    if (refusedUntil !== undefined) {
      if (refusedUntil > Date.now()) throw tokenError();
      this.refused.delete(key);
    }
    let pending = this.inFlight.get(key);
    if (!pending) {
      const address =
        context?.clientAddress === undefined
          ? undefined
          : (this.options.addressKey ?? ((a: string) => a))(context.clientAddress);
      // The same answer as a bad token: the caller cannot tell a limited address from a refused token.
      if (address !== undefined && this.options.failureLimiter?.isLimited(address)) throw tokenError();
      pending = this.introspect(token, key, address).finally(() => this.inFlight.delete(key));
      this.inFlight.set(key, pending);
    }
    return pending;
  }

  private async introspect(token: string, key: string, address: string | undefined): Promise<AuthenticatedCaller> {
    let answer: IntrospectionAnswer;
    try {
      const json = await fetchJson(await this.endpoint(), {
        method: "POST",
        headers: {
          authorization: `Basic ${this.basicCredentials}`,
          "content-type": "application/x-www-form-urlencoded",
          accept: "application/json",
        },
        body: new URLSearchParams({ token, token_type_hint: "access_token" }).toString(),
      });
      if (json === null || typeof json !== "object" || Array.isArray(json))
        throw new IdentityProviderError("introspection answer is not a JSON object");
      answer = json as IntrospectionAnswer;
    } catch (error) {
      this.options.logger?.warn(
        { problem: error instanceof Error ? error.message : String(error) },
        "token introspection failed",
      );
      throw tokenUnverifiableError();
    }
    const reason = this.rejectionOf(answer);
    if (reason) {
      this.options.logger?.info({ reason }, "token rejected");
      this.rememberRefusal(key);
      if (address !== undefined && this.options.failureLimiter?.recordFailure(address)) {
        this.options.logger?.warn(
          { clientAddress: address },
          "too many refused tokens from this client address: its unknown tokens are refused without " +
            "introspection for now (MYPHONE_AUTH_INTROSPECTION_FAILURES_PER_IP)",
        );
      }
      throw tokenError();
    }
    const caller = callerFromClaims(answer, this.options.claims);
    this.remember(key, caller, typeof answer.exp === "number" ? answer.exp * 1000 : Infinity);
    return caller;
  }

  /** Why an answer does not let the caller in, or undefined when it does. */
  private rejectionOf(answer: IntrospectionAnswer): string | undefined {
    if (answer.active !== true) return "inactive";
    const now = Date.now();
    const skew = this.options.clockSkewMs;
    if (answer.exp !== undefined && (typeof answer.exp !== "number" || answer.exp * 1000 + skew <= now)) return "exp";
    if (answer.nbf !== undefined && (typeof answer.nbf !== "number" || answer.nbf * 1000 - skew > now)) return "nbf";
    if (answer.iat !== undefined && (typeof answer.iat !== "number" || issuedInTheFuture(answer.iat, skew, now)))
      return "iat";
    if (this.options.issuer !== undefined && answer.iss !== this.options.issuer) return "iss";
    if (this.options.audience?.length) {
      const audiences = typeof answer.aud === "string" ? [answer.aud] : Array.isArray(answer.aud) ? answer.aud : [];
      if (!audiences.some((audience) => this.options.audience!.includes(audience as string))) return "aud";
    }
    return undefined;
  }

  private remember(key: string, caller: AuthenticatedCaller, tokenExpiresAt: number): void {
    if (this.options.cacheTtlMs <= 0) return;
    const expiresAt = Math.min(Date.now() + this.options.cacheTtlMs, tokenExpiresAt);
    if (expiresAt <= Date.now()) return;
    this.cache.set(key, { caller, expiresAt });
    this.bound(this.cache);
  }

  private rememberRefusal(key: string): void {
    const ttl = this.options.negativeCacheTtlMs ?? 0;
    if (ttl <= 0) return;
    this.refused.set(key, Date.now() + ttl);
    this.bound(this.refused);
  }

  /** Drops the oldest entries of `cache` beyond the entry limit. */
  private bound(cache: Map<string, unknown>): void {
    const max = this.options.cacheMaxEntries ?? DEFAULT_CACHE_ENTRIES;
    for (const oldest of cache.keys()) {
      if (cache.size <= max) break;
      cache.delete(oldest);
    }
  }

  private endpoint(): Promise<string> {
    if (this.options.endpoint) return Promise.resolve(this.options.endpoint);
    if (!this.options.discovery)
      return Promise.reject(
        new IdentityProviderError("neither an introspection URL nor an issuer to discover it from"),
      );
    this.endpointUrl ??= this.options.discovery.endpoint("introspection_endpoint").catch((error: unknown) => {
      this.endpointUrl = undefined;
      throw error;
    });
    return this.endpointUrl;
  }
}
