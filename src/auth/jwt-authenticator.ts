import { createRemoteJWKSet, errors, jwtVerify, type JWTVerifyGetKey } from "jose";
import { DomainError } from "../domain/errors.js";
import type { Logger } from "../logger.js";
import { tokenError, tokenUnverifiableError, type AuthenticatedCaller, type Authenticator } from "./authenticator.js";
import { IDENTITY_PROVIDER_TIMEOUT_MS, IdentityProviderError, type OidcDiscovery } from "./oidc-discovery.js";
import { callerFromClaims, issuedInTheFuture, type ClaimMapping } from "./token-claims.js";

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

/**
 * Access tokens' `typ` (case-insensitive, RFC 7515 4.1.9): RFC 9068's `at+jwt`, and `JWT`, which ZITADEL puts on
 * access and ID tokens alike (internal/api/oidc/sign/signer.go).
 */
const ACCESS_TOKEN_TYPES: ReadonlySet<string> = new Set(["at+jwt", "application/at+jwt", "jwt"]);

/**
 * Claims only ID tokens carry (OpenID Connect Core 2, 3.3.2.11): ZITADEL's have `at_hash` whenever an access token
 * came with them and `nonce` when the client sent one; its access tokens have neither.
 */
const ID_TOKEN_CLAIMS = ["nonce", "at_hash", "c_hash"] as const;

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
 * Verifies JWT access tokens against the issuer's JWKS; ID tokens are refused. An unknown `kid` refetches the JWKS
 * (at most once per cooldown), which is how key rotation reaches us.
 */
export class JwtAuthenticator implements Authenticator {
  private keySet?: Promise<JWTVerifyGetKey>;

  constructor(private readonly options: JwtAuthenticatorOptions) {}

  async verify(token: string): Promise<AuthenticatedCaller> {
    const keys = await this.keys();
    let claims: Record<string, unknown>;
    try {
      const { payload, protectedHeader } = await jwtVerify(token, keys, {
        issuer: this.options.issuer,
        audience: [...this.options.audience],
        algorithms: [...this.options.algorithms],
        clockTolerance: Math.round(this.options.clockSkewMs / 1000),
        requiredClaims: ["exp"],
      });
      const reason = notAnAccessToken(payload, protectedHeader.typ, this.options.clockSkewMs);
      if (reason) {
        this.options.logger?.info({ reason }, "token rejected");
        throw tokenError();
      }
      claims = payload;
    } catch (error) {
      if (error instanceof DomainError) throw error;
      if (error instanceof errors.JOSEError && TOKEN_FAULTS.has(error.code)) {
        this.options.logger?.info(
          { reason: error.code, claim: (error as Partial<errors.JWTClaimValidationFailed>).claim },
          "token rejected",
        );
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
    if (!this.options.discovery)
      throw new IdentityProviderError("neither a JWKS URL nor an issuer to discover it from");
    return this.options.discovery.endpoint("jwks_uri");
  }
}

/**
 * Why a correctly signed token must still be refused: `iat` in the future, or an ID token, which a client holds for
 * the same user and audience but which grants no API call.
 */
function notAnAccessToken(
  claims: Record<string, unknown>,
  typ: string | undefined,
  clockSkewMs: number,
): string | undefined {
  if (issuedInTheFuture(claims.iat, clockSkewMs)) return "iat";
  if (typ !== undefined && !ACCESS_TOKEN_TYPES.has(typ.toLowerCase())) return "typ";
  return ID_TOKEN_CLAIMS.find((claim) => claims[claim] !== undefined);
}

/** A log-safe one-line description of a provider problem (never includes the token). */
function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = (error as { cause?: unknown }).cause;
  return cause instanceof Error ? `${error.message}: ${cause.message}` : error.message;
}
