import type { Config } from "../config.js";
import type { Logger } from "../logger.js";
import { AuthenticationFailureLimiter } from "../auth/authentication-failure-limiter.js";
import type { Authenticator } from "../auth/authenticator.js";
import type { DevTokenIssuer } from "../auth/dev-token-issuer.js";
import { IntrospectionAuthenticator } from "../auth/introspection-authenticator.js";
import { JwtAuthenticator } from "../auth/jwt-authenticator.js";
import { OidcDiscovery } from "../auth/oidc-discovery.js";
import { VerifiedTokenCache } from "../auth/verified-token-cache.js";
import type { ClaimMapping } from "../auth/token-claims.js";

/** Reuse of a JWT verification: short, so a key withdrawn from the JWKS stops being trusted within a minute. */
const VERIFIED_TOKEN_CACHE = { maxAgeMs: 60_000, maxEntries: 10_000 };

/**
 * The token verification MYPHONE_AUTH_MODE selects (the config schema has checked each mode's settings).
 * `addressKey` says what a client address counts as for the limit on refused introspections (e.g. its /64).
 */
export function createAuthenticator(
  config: Config,
  parts: { devIssuer: DevTokenIssuer; logger?: Logger; addressKey?: (address: string) => string },
): Authenticator {
  const claims: ClaimMapping = {
    userClaim: config.MYPHONE_AUTH_USER_CLAIM,
    rolesClaim: config.MYPHONE_AUTH_ROLES_CLAIM,
    ...(config.MYPHONE_AUTH_ORG_CLAIM ? { orgClaim: config.MYPHONE_AUTH_ORG_CLAIM } : {}),
  };
  const issuer = config.MYPHONE_AUTH_ISSUER;
  const discovery = issuer ? new OidcDiscovery(issuer) : undefined;
  switch (config.MYPHONE_AUTH_MODE) {
    case "dev":
      return new VerifiedTokenCache(parts.devIssuer, VERIFIED_TOKEN_CACHE);
    case "jwt":
      return new VerifiedTokenCache(
        new JwtAuthenticator({
          issuer: issuer!,
          audience: config.MYPHONE_AUTH_AUDIENCE ?? [],
          jwksUrl: config.MYPHONE_AUTH_JWKS_URL,
          discovery,
          algorithms: config.MYPHONE_AUTH_ALGORITHMS,
          clockSkewMs: config.MYPHONE_AUTH_CLOCK_SKEW,
          jwksCooldownMs: config.MYPHONE_AUTH_JWKS_COOLDOWN,
          claims,
          logger: parts.logger,
        }),
        VERIFIED_TOKEN_CACHE,
      );
    case "introspection":
      return new IntrospectionAuthenticator({
        endpoint: config.MYPHONE_AUTH_INTROSPECTION_URL,
        discovery,
        clientId: config.MYPHONE_AUTH_INTROSPECTION_CLIENT_ID!,
        clientSecret: config.MYPHONE_AUTH_INTROSPECTION_CLIENT_SECRET!,
        issuer,
        audience: config.MYPHONE_AUTH_AUDIENCE,
        cacheTtlMs: config.MYPHONE_AUTH_INTROSPECTION_CACHE,
        negativeCacheTtlMs: config.MYPHONE_AUTH_INTROSPECTION_NEGATIVE_CACHE,
        failureLimiter:
          config.MYPHONE_AUTH_INTROSPECTION_FAILURES_PER_IP.length > 0
            ? new AuthenticationFailureLimiter(config.MYPHONE_AUTH_INTROSPECTION_FAILURES_PER_IP)
            : undefined,
        addressKey: parts.addressKey,
        clockSkewMs: config.MYPHONE_AUTH_CLOCK_SKEW,
        claims,
        logger: parts.logger,
      });
  }
}
