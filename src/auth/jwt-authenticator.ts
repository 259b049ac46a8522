import { createRemoteJWKSet, errors, jwtVerify, type JWTVerifyGetKey } from "jose";
import type { Logger } from "../logger.js";
import { tokenError, tokenUnverifiableError, type AuthenticatedCaller, type Authenticator } from "./authenticator.js";
import { IDENTITY_PROVIDER_TIMEOUT_MS, IdentityProviderError, type OidcDiscovery } from "./oidc-discovery.js";
import { callerFromClaims, type ClaimMapping } from "./token-claims.js";

export interface JwtAuthenticatorOptions {
  /** Tokens must carry exactly this `iss`. */
  readonly issuer: string;
  /** A token's `aud` must name at least one of these. */
  readonly audience: readonly string[];
  /** Where the signing keys are; without it, the discovery document's `jwks_uri`. */
  readonly jwksUrl?: string;
  readonly discovery?: OidcDiscovery;
  /** Accepted JWS algorithms (asymmetric only; the config schema refuses `none` and HS*). */
  readonly algorithms: readonly string[];
  readonly clockSkewMs: number;
  /** Shortest time between two JWKS downloads triggered by an unknown `kid`. */
  readonly jwksCooldownMs: number;
  readonly claims: ClaimMapping;
  readonly logger?: Logger;
}

/** JWKS answers older than this are refreshed even when every `kid` is known, so revoked keys go away. */
const JWKS_MAX_AGE_MS = 10 * 60_000;

/** jose errors that are the token's fault; anything else (network, bad JWKS document) is the provider's. */
const TOKEN_FAULTS: ReadonlySet<string> = new Set([
  errors.JWTClaimValidationFailed.code,
  errors.JWTExpired.code,
  errors.JOSEAlgNotAllowed.code,
  errors.JOSENotSupported.code,
  errors.JWSInvalid.code,
  errors.JWTInvalid.code,
  errors.JWKSNoMatchingKey.code,
  errors.JWKSMultipleMatchingKeys.code,
  errors.JWSSignatureVerificationFailed.code,
]);

/**
 * Verifies JWT access tokens against the issuer's published keys: signature with an allowed asymmetric
 * algorithm, `iss`, `aud`, `exp` (required), `nbf`, with a clock skew. Keys are picked by `kid`; an unknown
 * `kid` refetches the JWKS (at most once per cooldown), which is how key rotation reaches us.
 */
export class JwtAuthenticator implements Authenticator {
  private keySet?: Promise<JWTVerifyGetKey>;

  constructor(private readonly options: JwtAuthenticatorOptions) {}

  async verify(token: string): Promise<AuthenticatedCaller> {
    const keys = await this.keys();
    let claims: Record<string, unknown>;
    try {
      const { payload } = await jwtVerify(token, keys, {
        issuer: this.options.issuer,
        audience: [...this.options.audience],
        algorithms: [...this.options.algorithms],
        clockTolerance: Math.round(this.options.clockSkewMs / 1000),
        requiredClaims: ["exp"],
      });
      claims = payload;
    } catch (error) {
      if (error instanceof errors.JOSEError && TOKEN_FAULTS.has(error.code)) {
        this.options.logger?.info({ reason: error.code, claim: (error as Partial<errors.JWTClaimValidationFailed>).claim }, "token rejected");
        throw tokenError();
      }
      this.options.logger?.warn({ problem: describe(error) }, "token signing keys unavailable");
      throw tokenUnverifiableError();
    }
    return callerFromClaims(claims, this.options.claims);
  }

  /** The remote key set, created once the JWKS URL is known (from the configuration or discovery). */
  private keys(): Promise<JWTVerifyGetKey> {
    this.keySet ??= this.jwksUrl().then(
      (url) =>
        createRemoteJWKSet(new URL(url), {
          cooldownDuration: this.options.jwksCooldownMs,
          cacheMaxAge: Math.max(JWKS_MAX_AGE_MS, this.options.jwksCooldownMs),
          timeoutDuration: IDENTITY_PROVIDER_TIMEOUT_MS,
        }),
      (error: unknown) => {
        this.keySet = undefined;
        this.options.logger?.warn({ problem: describe(error) }, "OIDC discovery failed");
        throw tokenUnverifiableError();
      },
    );
    return this.keySet;
  }

  private async jwksUrl(): Promise<string> {
    if (this.options.jwksUrl) return this.options.jwksUrl;
    if (!this.options.discovery) throw new IdentityProviderError("neither a JWKS URL nor an issuer to discover it from");
    return this.options.discovery.endpoint("jwks_uri");
  }
}

/** A log-safe one-line description of a provider problem (never includes the token). */
function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = (error as { cause?: unknown }).cause;
  return cause instanceof Error ? `${error.message}: ${cause.message}` : error.message;
}
