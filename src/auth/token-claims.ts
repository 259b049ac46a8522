import { MAX_NAME_CHARS, plainName } from "../domain/display-text.js";
import type { AuthenticatedCaller } from "./authenticator.js";
import { tokenError } from "./authenticator.js";

/** Which claims of a verified token (or introspection answer) name the user and the organisation. */
export interface ClaimMapping {
  /** Claim holding the user id (MYPHONE_AUTH_USER_CLAIM, default `sub`). */
  readonly userClaim: string;
  /** Claim holding the user's organisation id (MYPHONE_AUTH_ORG_CLAIM), if any. */
  readonly orgClaim?: string;
  /** Claim holding the caller's roles (MYPHONE_AUTH_ROLES_CLAIM), if any. */
  readonly rolesClaim?: string;
}

/** Ids longer than this are not ids; refusing them keeps stream keys and log lines bounded. */
const MAX_ID_LENGTH = 200;
/** Claims that may suggest a login name, in order of preference (OIDC, RFC 7662, OIDC). */
const USER_NAME_CLAIMS = ["preferred_username", "username", "email"] as const;

/** The caller a verified set of claims describes; throws the generic token error when the user claim is unusable. */
export function callerFromClaims(
  claims: Readonly<Record<string, unknown>>,
  mapping: ClaimMapping,
): AuthenticatedCaller {
  const userId = idClaim(claims[mapping.userClaim]);
  if (userId === undefined) throw tokenError();
  const orgId = mapping.orgClaim === undefined ? undefined : idClaim(claims[mapping.orgClaim]);
  // The name reaches SMS texts: plain one-line text only (no newlines, bidi overrides or invisible characters).
  const userName = USER_NAME_CLAIMS.map((name) => claims[name])
    .map((value) =>
      typeof value === "string" && value.length <= MAX_ID_LENGTH ? plainName(value, MAX_NAME_CHARS) : "",
    )
    .find((value) => value !== "");
  const roles = mapping.rolesClaim === undefined ? undefined : rolesIn(claims[mapping.rolesClaim]);
  return {
    userId,
    ...(orgId !== undefined ? { orgId } : {}),
    ...(userName !== undefined ? { userName } : {}),
    ...(roles !== undefined ? { roles } : {}),
  };
}

/** Role names are keys or strings; anything longer is not a role name. */
const MAX_ROLE_LENGTH = 200;

/**
 * The role names a roles claim holds: ZITADEL's object keyed by role (`{"user.write": {"<org id>": "<domain>"}}`), an
 * array of names, or a space-separated string (like `scope`). Undefined when the claim is absent, empty or unreadable.
 */
export function rolesIn(value: unknown): string[] | undefined {
  let names: unknown[];
  if (typeof value === "string") names = value.split(/\s+/);
  else if (Array.isArray(value)) names = value;
  else if (value !== null && typeof value === "object") names = Object.keys(value);
  else return undefined;
  const roles = names.filter(
    (name): name is string => typeof name === "string" && name !== "" && name.length <= MAX_ROLE_LENGTH,
  );
  return roles.length > 0 ? roles : undefined;
}

/** A bounded string without control characters, or an integer (some providers send numeric ids). */
function idClaim(value: unknown): string | undefined {
  const text = typeof value === "number" && Number.isSafeInteger(value) ? String(value) : value;
  if (typeof text !== "string") return undefined;
  // eslint-disable-next-line no-control-regex
  if (text === "" || text.length > MAX_ID_LENGTH || /[\u0000-\u001f\u007f]/.test(text)) return undefined;
  return text;
}

/**
 * True when `iat` (seconds) lies further in the future than the clock skew allows: such a token was not issued by
 * a clock we trust. jose checks `iat` only together with a maximum token age, so every mode checks it here.
 */
export function issuedInTheFuture(iat: unknown, clockSkewMs: number, now = Date.now()): boolean {
  return typeof iat === "number" && iat * 1000 - clockSkewMs > now;
}
