import { DomainError, Errors } from "../domain/errors.js";

/** Who is calling, as established from the access token. */
export interface AuthenticatedCaller {
  readonly userId: string;
  /** The user's organisation as the token names it (MYPHONE_AUTH_ORG_CLAIM); used only to provision the user. */
  readonly orgId?: string;
  /** A login name the token suggests (preferred_username, username or email); used only to provision the user. */
  readonly userName?: string;
  /** The roles the token's roles claim (MYPHONE_AUTH_ROLES_CLAIM) names; absent when it has none (user-write-permission.ts). */
  readonly roles?: readonly string[];
}

/** Verifies bearer tokens. Implementations throw DomainError (Unauthenticated) for anything not acceptable. */
export interface Authenticator {
  verify(token: string): Promise<AuthenticatedCaller>;
}

/** The one answer for every unacceptable token: callers learn nothing about why. */
export function tokenError(): DomainError {
  return new DomainError(Errors.tokenInvalid);
}

/** The identity provider could not be asked (network, timeout, bad answer): the token may well be fine. */
export function tokenUnverifiableError(): DomainError {
  return new DomainError(Errors.tokenUnverifiable);
}

/** Longest token we try to verify; anything larger is refused before parsing. */
const MAX_TOKEN_LENGTH = 8192;
const BEARER = /^Bearer[ \t]+([A-Za-z0-9\-._~+/]+=*)[ \t]*$/i;

/** Extracts the token of an `Authorization: Bearer ...` header (RFC 6750 syntax) and verifies it. */
export async function authenticate(authorization: string | null, authenticator: Authenticator): Promise<AuthenticatedCaller> {
  if (authorization === null || authorization.trim() === "") throw new DomainError(Errors.authHeaderMissing);
  const match = authorization.length <= MAX_TOKEN_LENGTH ? BEARER.exec(authorization) : null;
  if (!match) throw new DomainError(Errors.authHeaderInvalid);
  return authenticator.verify(match[1]!);
}
