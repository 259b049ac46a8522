import { DomainError, Errors } from "../domain/errors.js";

/** Who is calling, as established from the access token. */
export interface AuthenticatedCaller {
  readonly userId: string;
}

/** Verifies bearer tokens. Implementations throw DomainError (Unauthenticated) for anything not acceptable. */
export interface Authenticator {
  verify(token: string): Promise<AuthenticatedCaller>;
}

export function tokenError(): DomainError {
  return new DomainError(Errors.tokenInvalid);
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
