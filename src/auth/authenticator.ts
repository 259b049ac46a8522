import { DomainError, Errors } from "../domain/errors.js";

/** Who is calling, as established from the access token. */
export interface AuthenticatedCaller {
  readonly userId: string;
  /** The user's organisation as the token names it (MYPHONE_AUTH_ORG_CLAIM); used only to provision the user. */
  readonly orgId?: string;
  /** A login name the token suggests (preferred_username, username or email); used only to provision the user. */
  readonly userName?: string;
  /** The roles in the token's MYPHONE_AUTH_ROLES_CLAIM; absent when it names none (user-write-permission.ts). */
  readonly roles?: readonly string[];
}

/** What is known about a call besides its token. */
export interface VerificationContext {
  /** The client address (src/transport/client-address.ts), for limits on failed authentications. */
  readonly clientAddress?: string;
}

/** Verifies bearer tokens. Implementations throw DomainError (Unauthenticated) for anything not acceptable. */
export interface Authenticator {
  verify(token: string, context?: VerificationContext): Promise<AuthenticatedCaller>;
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
/** `Bearer <credentials>`; the scheme is case-insensitive (RFC 9110 11.1). */
const BEARER_SCHEME = /^Bearer[ \t]+(\S.*)$/is;
/** RFC 6750's token68 syntax. */
const TOKEN68 = /^[A-Za-z0-9\-._~+/]+=*$/;

/**
 * Verifies the bearer token, refusing as ZITADEL does: no header → `auth header missing` (no id), another scheme →
 * AUTH-toLo1, a bad token → AUTH-7fs1e. `=` padding is refused: no JWT or ZITADEL token has it, and lenient decoders
 * would read `t` and `t=` as one token while caches keyed by the text would not.
 */
export async function authenticate(
  authorization: string | null,
  authenticator: Authenticator,
  context?: VerificationContext,
): Promise<AuthenticatedCaller> {
  if (authorization === null || authorization.trim() === "") throw new DomainError(Errors.authHeaderMissing);
  const match = BEARER_SCHEME.exec(authorization.trim());
  if (!match) throw new DomainError(Errors.authHeaderInvalid);
  const token = match[1]!.trim();
  if (token.length > MAX_TOKEN_LENGTH || !TOKEN68.test(token) || token.endsWith("=")) throw tokenError();
  return authenticator.verify(token, context);
}
