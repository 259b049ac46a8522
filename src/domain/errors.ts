/**
 * Domain errors: a stable id, an English message and the kind of failure. The kinds are named after the
 * gRPC status codes they become on the wire; the mapping to wire codes lives in src/api/wire-errors.ts.
 */
export type ErrorKind =
  | "InvalidArgument"
  | "FailedPrecondition"
  | "NotFound"
  | "PermissionDenied"
  | "Unauthenticated"
  | "ResourceExhausted"
  | "Unavailable"
  | "Internal";

export interface ErrorDefinition {
  /** Stable id, shown on the wire as "<message> (<id>)" and in the ErrorDetail; "" for ZITADEL's one refusal without an id. */
  readonly id: string;
  readonly kind: ErrorKind;
  /** The English message; it also keys the translations in error-messages.ts. */
  readonly message: string;
}

/** A refusal decided by the domain or the auth layer; safe to show to the caller as is. */
export class DomainError extends Error {
  /** The table entry this error was raised from (its translations are looked up by it). */
  readonly definition: ErrorDefinition;
  readonly id: string;
  readonly kind: ErrorKind;
  /** Seconds after which retrying may succeed (only for ResourceExhausted). */
  readonly retryAfterSeconds?: number;

  constructor(definition: ErrorDefinition, options: { retryAfterSeconds?: number; message?: string } = {}) {
    super(options.message ?? definition.message);
    this.name = "DomainError";
    this.definition = definition;
    this.id = definition.id;
    this.kind = definition.kind;
    if (options.retryAfterSeconds !== undefined) this.retryAfterSeconds = options.retryAfterSeconds;
  }
}

function define<const Message extends string>(id: string, kind: ErrorKind, message: Message): ErrorDefinition & { readonly message: Message } {
  return Object.freeze({ id, kind, message });
}

/**
 * Every error the API can answer, in one place. Ids and English texts are ZITADEL's where ZITADEL has the
 * error (reference/zitadel_spec.md section 5.2); ids starting with MYPHONE- are ours. Messages avoid the
 * characters `: , / ? # & = + ;` because @grpc/grpc-js decodes grpc-message with decodeURI, which leaves
 * those percent-encoded (test/domain/errors.test.ts checks this). Every message needs a translation in every
 * language of error-messages.ts (the compiler and test/domain/error-messages.test.ts check that).
 */
export const Errors = {
  phoneLength: define("MYPHONE-PhLen", "InvalidArgument", "Phone must be 1 to 50 characters"),
  codeLength: define("MYPHONE-CoLen", "InvalidArgument", "Code must be 1 to 200 characters"),
  phoneInvalid: define("PHONE-so0wa", "InvalidArgument", "Phone is invalid"),
  phoneNotPossible: define("MYPHONE-PhPos", "InvalidArgument", "Phone is invalid (not a possible number for its country)"),
  phoneNotValid: define("MYPHONE-PhVal", "InvalidArgument", "Phone is invalid (not an assigned number for its country)"),
  phoneNotMobile: define("MYPHONE-PhMob", "InvalidArgument", "Phone is invalid (not a mobile number)"),
  userNotFoundOnSet: define("COMMAND-3M0fs", "FailedPrecondition", "User could not be found"),
  phoneNotChanged: define("COMMAND-wF94r", "FailedPrecondition", "Phone not changed"),
  userNotFoundOnVerify: define("COMMAND-Rsj8c", "FailedPrecondition", "User could not be found"),
  codeNotFound: define("COMMAND-Rsj8c", "NotFound", "Code not found"),
  codeInvalid: define("COMMAND-sM0cs", "InvalidArgument", "Code is invalid"),
  codeAttemptsExhausted: define(
    "MYPHONE-CoAtt",
    "FailedPrecondition",
    "Code is blocked after too many failed attempts (request a new code)",
  ),
  phoneCountryNotAllowed: define("MYPHONE-PhCty", "InvalidArgument", "Phone is invalid (codes are not sent to this country)"),
  sendCooldown: define("MYPHONE-SnCdn", "ResourceExhausted", "A code was sent moments ago (wait before requesting another)"),
  sendCapUser: define("MYPHONE-SnUsr", "ResourceExhausted", "Too many codes sent for this user (try again later)"),
  sendCapNumber: define("MYPHONE-SnNum", "ResourceExhausted", "Too many codes sent to this number (try again later)"),
  sendCapAddress: define("MYPHONE-SnAdr", "ResourceExhausted", "Too many codes requested from this address (try again later)"),
  userNotFoundOnResend: define("COMMAND-2M0fs", "FailedPrecondition", "User could not be found"),
  phoneNotFoundOnResend: define("COMMAND-2b7Hf", "NotFound", "Phone not found"),
  phoneAlreadyVerified: define("COMMAND-2M9sf", "FailedPrecondition", "Phone already verified"),
  userNotFoundOnRemove: define("COMMAND-3M9fs", "FailedPrecondition", "User could not be found"),
  phoneNotFoundOnRemove: define("COMMAND-p6rsc", "NotFound", "Phone not found"),
  userNotFoundOnGet: define("QUERY-DAvb3", "NotFound", "User could not be found"),
  userNotHuman: define("QUERY-hliQl", "FailedPrecondition", "The User must be personal"),
  // ZITADEL answers a missing header with a bare status: no id, no ErrorDetail (auth_interceptor.go).
  authHeaderMissing: define("", "Unauthenticated", "auth header missing"),
  authHeaderInvalid: define("AUTH-toLo1", "Unauthenticated", "invalid auth header"),
  tokenInvalid: define("AUTH-7fs1e", "Unauthenticated", "Token is invalid"),
  orgNotFound: define("AUTH-Bs7Ds", "PermissionDenied", "Organisation doesn't exist"),
  tokenUnverifiable: define("MYPHONE-AuthU", "Unavailable", "Token cannot be verified now (identity provider unreachable)"),
  userExists: define("MYPHONE-UsrEx", "FailedPrecondition", "User already exists"),
  internal: define("MYPHONE-Inter", "Internal", "An internal error occurred"),
  unavailable: define("MYPHONE-Unava", "Unavailable", "Service is shutting down"),
  codeCheckUnavailable: define("MYPHONE-CoUna", "Unavailable", "Code cannot be checked now (verification service unreachable)"),
} as const satisfies Record<string, ErrorDefinition>;

/** The English message of some entry of `Errors`: the key of its translations. */
export type ErrorMessageKey = (typeof Errors)[keyof typeof Errors]["message"];
