import { readFileSync } from "node:fs";
import { join } from "node:path";
import { exportJWK, generateKeyPair, importJWK, jwtVerify, SignJWT, type JWK, type KeyLike } from "jose";
import { writeSecretFileOnce } from "../storage/secret-files.js";
import type { Authenticator, AuthenticatedCaller } from "./authenticator.js";
import { tokenError } from "./authenticator.js";
import { callerFromClaims, issuedInTheFuture } from "./token-claims.js";

const KEY_FILE = "dev-signing-key.json";
const ALGORITHM = "ES256";
/** Issuer and audience of development tokens; fixed so tokens from `myphone token` match the server's checks. */
export const DEV_ISSUER = "myphone-dev";
export const DEV_AUDIENCE = "myphone";
/** Clock difference tolerated on a development token's `iat` (the CLI minting it may run on another machine). */
const DEV_CLOCK_SKEW_SECONDS = 30;

export interface DevTokenIssuerOptions {
  /** Claim that carries roles in minted tokens and is read from verified ones (MYPHONE_AUTH_ROLES_CLAIM). */
  readonly rolesClaim?: string;
  /** Longest lifetime minted or accepted (MAX_DEV_TOKEN_TTL_MS from the server and CLI); unset: no cap. */
  readonly maxTtlMs?: number;
}

/**
 * Development token issuer: an ES256 key pair generated once in the data directory. The CLI mints tokens with
 * it and the server verifies them, so a newcomer needs no identity provider. Not for production.
 */
export class DevTokenIssuer implements Authenticator {
  private constructor(
    private readonly privateKey: KeyLike | Uint8Array,
    private readonly publicKey: KeyLike | Uint8Array,
    private readonly kid: string,
    private readonly rolesClaim: string | undefined,
    private readonly maxTtlMs: number,
  ) {}

  /** Loads the key from `dataDir`, creating it on first use. */
  static async open(dataDir: string, options: DevTokenIssuerOptions = {}): Promise<DevTokenIssuer> {
    const file = join(dataDir, KEY_FILE);
    const { privateKey } = await generateKeyPair(ALGORITHM, { extractable: true });
    const fresh = { ...(await exportJWK(privateKey)), alg: ALGORITHM, kid: `dev-${Date.now().toString(36)}` };
    writeSecretFileOnce(file, JSON.stringify(fresh));
    const jwk = JSON.parse(readFileSync(file, "utf8")) as JWK & { kid: string };
    const { d: _private, ...publicJwk } = jwk;
    return new DevTokenIssuer(
      await importJWK(jwk, ALGORITHM),
      await importJWK(publicJwk, ALGORITHM),
      jwk.kid,
      options.rolesClaim,
      options.maxTtlMs ?? Infinity,
    );
  }

  /** A signed access token for `userId`; `roles` go into the roles claim in ZITADEL's shape (keyed by role name). */
  async mint(userId: string, ttlSeconds: number, options: { roles?: readonly string[] } = {}): Promise<string> {
    if (ttlSeconds * 1000 > this.maxTtlMs)
      throw new RangeError(`a development token lives at most ${this.maxTtlMs / 1000} s`);
    const roles = options.roles ?? [];
    if (roles.length > 0 && this.rolesClaim === undefined)
      throw new Error("this issuer has no roles claim to put roles in");
    const claims = roles.length > 0 ? { [this.rolesClaim!]: Object.fromEntries(roles.map((role) => [role, {}])) } : {};
    return new SignJWT(claims)
      .setProtectedHeader({ alg: ALGORITHM, kid: this.kid, typ: "at+jwt" })
      .setIssuer(DEV_ISSUER)
      .setAudience(DEV_AUDIENCE)
      .setSubject(userId)
      .setIssuedAt()
      .setExpirationTime(Math.floor(Date.now() / 1000) + ttlSeconds)
      .sign(this.privateKey);
  }

  /** Accepts tokens of this key unless issued in the future or living past `maxTtlMs` (minted before the cap). */
  async verify(token: string): Promise<AuthenticatedCaller> {
    let payload;
    try {
      ({ payload } = await jwtVerify(token, this.publicKey, {
        algorithms: [ALGORITHM],
        issuer: DEV_ISSUER,
        audience: DEV_AUDIENCE,
        requiredClaims: ["sub", "exp", "iat"],
      }));
    } catch {
      throw tokenError();
    }
    const lifetimeMs = (payload.exp! - payload.iat!) * 1000;
    if (issuedInTheFuture(payload.iat, DEV_CLOCK_SKEW_SECONDS * 1000) || lifetimeMs > this.maxTtlMs) throw tokenError();
    return callerFromClaims(payload, {
      userClaim: "sub",
      ...(this.rolesClaim !== undefined ? { rolesClaim: this.rolesClaim } : {}),
    });
  }
}
