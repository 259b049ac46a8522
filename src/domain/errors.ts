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
  /** Stable id, on the wire as "<message> (<id>)" and in the ErrorDetail; "" for ZITADEL's one id-less refusal. */
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
  /** Seconds after which retrying may succeed (ResourceExhausted, and Unavailable when the database is down). */
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

function define<const Message extends string>(
  id: string,
  kind: ErrorKind,
  message: Message,
): ErrorDefinition & { readonly message: Message } {
  return Object.freeze({ id, kind, message });
}

/**
 * Every error the API can answer. Ids and English texts are ZITADEL's where it has the error (zitadel_spec.md 5.2);
 * MYPHONE- ids are ours. Messages avoid `: , / ? # & = + ;`: @grpc/grpc-js decodes grpc-message with decodeURI,
 * which leaves those percent-encoded. Each message needs a translation in every language of error-messages.ts.
 */
export const Errors = {
  phoneLength: define("MYPHONE-PhLen", "InvalidArgument", "Phone must be 1 to 50 characters"),
  codeLength: define("MYPHONE-CoLen", "InvalidArgument", "Code must be 1 to 200 characters"),
  phoneInvalid: define("PHONE-so0wa", "InvalidArgument", "Phone is invalid"),
  phoneNotPossible: define(
    "MYPHONE-PhPos",
    "InvalidArgument",
    "Phone is invalid (not a possible number for its country)",
  ),
  phoneNotValid: define(
    "MYPHONE-PhVal",
    "InvalidArgument",
    "Phone is invalid (not an assigned number for its country)",
  ),
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
  phoneCountryNotAllowed: define(
    "MYPHONE-PhCty",
    "InvalidArgument",
    "Phone is invalid (codes are not sent to this country)",
  ),
  phoneTypeNotAllowed: define(
    "MYPHONE-PhTyp",
    "InvalidArgument",
    "Phone is invalid (codes are not sent to this kind of number)",
  ),
  sendCooldown: define(
    "MYPHONE-SnCdn",
    "ResourceExhausted",
    "A code was sent moments ago (wait before requesting another)",
  ),
  sendCapUser: define("MYPHONE-SnUsr", "ResourceExhausted", "Too many codes sent for this user (try again later)"),
  sendCapNumber: define("MYPHONE-SnNum", "ResourceExhausted", "Too many codes sent to this number (try again later)"),
  sendCapNumberUser: define(
    "MYPHONE-SnNUs",
    "ResourceExhausted",
    "Too many codes sent to this number for this user (try again later)",
  ),
  sendCapNumberAddress: define(
    "MYPHONE-SnNAd",
    "ResourceExhausted",
    "Too many codes sent to this number from this address (try again later)",
  ),
  sendCapAddress: define(
    "MYPHONE-SnAdr",
    "ResourceExhausted",
    "Too many codes requested from this address (try again later)",
  ),
  sendBudgetGlobal: define(
    "MYPHONE-SnGlb",
    "ResourceExhausted",
    "Too many codes sent by this service (try again later)",
  ),
  sendBudgetCountry: define(
    "MYPHONE-SnCtr",
    "ResourceExhausted",
    "Too many codes sent to this country (try again later)",
  ),
  sendBudgetPrefix: define(
    "MYPHONE-SnPfx",
    "ResourceExhausted",
    "Too many codes sent to this number range (try again later)",
  ),
  sendBreakerOpen: define(
    "MYPHONE-SnBrk",
    "ResourceExhausted",
    "Codes to this destination are paused because too few of them were verified (try again later)",
  ),
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
  // zitadel.user.v2.UserService (internal/command/user_v2_phone.go, internal/api/authz/permissions.go). ZITADEL's own
  // texts: a missing user is "Phone not found" (key Errors.User.Phone.NotFound); the permission texts are untranslated.
  v2UserIdLength: define("MYPHONE-V2Uid", "InvalidArgument", "User ID must be 1 to 200 characters"),
  v2PhoneLength: define("MYPHONE-V2PhL", "InvalidArgument", "Phone must be 1 to 200 characters"),
  v2CodeLength: define("MYPHONE-V2CoL", "InvalidArgument", "Code must be 1 to 20 characters"),
  v2IsVerifiedFalse: define("MYPHONE-V2Vrf", "InvalidArgument", "is_verified must be true when set"),
  v2UserNotFound: define("COMMAND-ieJ2e", "NotFound", "Phone not found"),
  v2PhoneNotChanged: define("COMMAND-Uch5e", "FailedPrecondition", "Phone not changed"),
  v2PhoneNotFound: define("COMMAND-ieJ2e", "FailedPrecondition", "Phone not found"),
  v2CodeEmpty: define("PHONE-5xrra88eq8", "FailedPrecondition", "Code is empty"),
  v2CodeInvalid: define("COMMAND-eis9R", "InvalidArgument", "Code is invalid"),
  permissionDenied: define("AUTH-AWfge", "PermissionDenied", "No matching permissions found"),
  membershipNotFound: define("AUTHZ-cdgFk", "NotFound", "membership not found"),
  tokenUnverifiable: define(
    "MYPHONE-AuthU",
    "Unavailable",
    "Token cannot be verified now (identity provider unreachable)",
  ),
  userExists: define("MYPHONE-UsrEx", "FailedPrecondition", "User already exists"),
  internal: define("MYPHONE-Inter", "Internal", "An internal error occurred"),
  unavailable: define("MYPHONE-Unava", "Unavailable", "Service is shutting down"),
  codeCheckUnavailable: define(
    "MYPHONE-CoUna",
    "Unavailable",
    "Code cannot be checked now (verification service unreachable)",
  ),
  codeKeyMissing: define(
    "MYPHONE-CoKey",
    "Unavailable",
    "The code cannot be checked by this server right now (try again)",
  ),
  storeUnavailable: define("MYPHONE-DbUna", "Unavailable", "The database cannot be reached (try again shortly)"),
} as const satisfies Record<string, ErrorDefinition>;

/** The English message of some entry of `Errors`: the key of its translations. */
export type ErrorMessageKey = (typeof Errors)[keyof typeof Errors]["message"];

/** The ZITADEL API a phone command arrived through: the checks are shared, the error ids and a few rules differ. */
export type PhoneApi = "auth.v1" | "user.v2";

/** The conditions the phone decider refuses a command for (validation and abuse refusals are the same in both APIs). */
export type PhoneRefusal =
  | "phoneLength"
  | "codeLength"
  | "userMissing"
  | "phoneUnchanged"
  | "phoneMissing"
  | "phoneVerified"
  | "codeMissing"
  | "codeWrong";

/**
 * The error each API answers for each condition, per command: the one place where v1's and v2's ids for the same
 * fact sit side by side. v1: internal/command/user_human_phone.go; v2: internal/command/user_v2_phone.go.
 */
export const PHONE_REFUSALS = {
  "auth.v1": {
    SetPhone: {
      phoneLength: Errors.phoneLength,
      userMissing: Errors.userNotFoundOnSet,
      phoneUnchanged: Errors.phoneNotChanged,
    },
    VerifyPhone: {
      codeLength: Errors.codeLength,
      userMissing: Errors.userNotFoundOnVerify,
      codeMissing: Errors.codeNotFound,
      codeWrong: Errors.codeInvalid,
    },
    ResendPhoneCode: {
      userMissing: Errors.userNotFoundOnResend,
      phoneMissing: Errors.phoneNotFoundOnResend,
      phoneVerified: Errors.phoneAlreadyVerified,
    },
    RemovePhone: { userMissing: Errors.userNotFoundOnRemove, phoneMissing: Errors.phoneNotFoundOnRemove },
  },
  "user.v2": {
    SetPhone: {
      phoneLength: Errors.v2PhoneLength,
      userMissing: Errors.v2UserNotFound,
      phoneUnchanged: Errors.v2PhoneNotChanged,
    },
    // v2 records a verification.failed also when there is no code; myphone does not (README, differences).
    VerifyPhone: {
      codeLength: Errors.v2CodeLength,
      userMissing: Errors.v2UserNotFound,
      codeMissing: Errors.v2CodeInvalid,
      codeWrong: Errors.v2CodeInvalid,
    },
    ResendPhoneCode: { userMissing: Errors.v2UserNotFound, codeMissing: Errors.v2CodeEmpty },
    RemovePhone: { userMissing: Errors.v2UserNotFound, phoneMissing: Errors.v2PhoneNotFound },
  },
} as const satisfies Record<PhoneApi, Record<string, Partial<Record<PhoneRefusal, ErrorDefinition>>>>;
