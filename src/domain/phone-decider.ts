import { checkCodeSend, MAX_REMEMBERED_SENDS, type CodeSendPolicy } from "./code-send-rules.js";
import { MAX_NAME_CHARS, plainName } from "./display-text.js";
import { DomainError, Errors, PHONE_REFUSALS, type PhoneApi } from "./errors.js";
import { normalisePhone, type PhonePolicy } from "./phone-number.js";
import {
  isSentCode,
  UserEventType,
  NANOS_PER_MILLI,
  type CodeGeneratorInfo,
  type UserEvent,
  type UserEventEnvelope,
} from "./user-events.js";
import {
  codesEqual,
  generateCode,
  type CodeCipher,
  type CodePolicy,
  type EncryptedCode,
  type RandomBytes,
} from "./verification-code.js";

/**
 * The user aggregate as far as phone numbers go: a pure decider in the emmett style.
 * `decide(command, state, env)` returns the events to append (and possibly an error to answer);
 * `evolve(state, event)` folds stored events into state. No I/O here: time, randomness and keys come in `env`.
 */

export type UserKind = "none" | "human" | "machine" | "removed";

export interface PendingCode {
  /** The encrypted code, or null when an external service (Twilio Verify) generated and holds it. */
  readonly encrypted: EncryptedCode | null;
  /** The external service holding the code (ZITADEL's `generatorId`); "" when myphone made it. */
  readonly generatorId: string;
  /** That service's id of the verification, known once the code was sent; "" before, or for codes myphone made. */
  readonly verificationId: string;
  readonly createdAt: Date;
  readonly expiresAt: Date;
  /** Sequence of the code.added event; the notifier's job refers to it. */
  readonly sequence: number;
  readonly failedAttempts: number;
  /** True once `code.sent` was recorded: a job re-run after a crash must not send it again. */
  readonly sent: boolean;
}

export interface UserState {
  readonly kind: UserKind;
  readonly owner: string;
  readonly userName: string;
  readonly preferredLanguage: string;
  readonly displayName: string;
  /** E.164, or "" when the user has no phone. */
  readonly phone: string;
  readonly phoneVerified: boolean;
  readonly pendingCode: PendingCode | null;
  /**
   * Epoch ms of the user's last sent codes (code.added), oldest first, at most MAX_REMEMBERED_SENDS: the cooldown
   * and per-user caps count these. Numbers, not Dates: a cached state holds up to a thousand, packed.
   */
  readonly codesIssuedAt: readonly number[];
  /** Sequence of the last event seen; 0 for an empty stream. */
  readonly sequence: number;
  readonly createdAt: Date | null;
  readonly changedAt: Date | null;
}

/** The state of a user whose stream has no events yet. */
export function initialState(): UserState {
  return {
    kind: "none",
    owner: "",
    userName: "",
    preferredLanguage: "",
    displayName: "",
    phone: "",
    phoneVerified: false,
    pendingCode: null,
    codesIssuedAt: [],
    sequence: 0,
    createdAt: null,
    changedAt: null,
  };
}

/** How a v2 caller wants a new number verified: SetPhoneRequest's `verification` oneof (none set = sendCode). */
export type PhoneVerification =
  | { readonly case: "sendCode" }
  | { readonly case: "returnCode" }
  | { readonly case: "isVerified"; readonly value: boolean };

/** What the caller may do to the target user: ZITADEL's self-management rule and its `user.write` permission. */
export interface CallerAccess {
  /** The caller is the target user. */
  readonly self: boolean;
  /** Whether the caller holds user.write; when not, whether it has memberships at all (which picks ZITADEL's error). */
  readonly userWrite: "granted" | "denied" | "no_memberships";
}

/** Marks a phone command as arriving through zitadel.user.v2.UserService (v1's AuthService commands have no `api`). */
interface UserServiceV2 {
  readonly api: "user.v2";
}

/** A phone command of either API; v1's fields are the v2 command's minus what v2 adds. */
export type SetPhoneCommand =
  | { type: "SetPhone"; phone: string }
  | ({ type: "SetPhone"; phone: string; verification: PhoneVerification; access: CallerAccess } & UserServiceV2);
/** `externalVerdict`: what the external service said of `code`, for a code it holds (see externalCodeCheck). */
type VerifyPhoneFields = { type: "VerifyPhone"; code: string; externalVerdict?: ExternalCodeVerdict };
export type VerifyPhoneCommand = VerifyPhoneFields | (VerifyPhoneFields & UserServiceV2);
export type ResendPhoneCodeCommand =
  | { type: "ResendPhoneCode" }
  | ({
      type: "ResendPhoneCode";
      verification: Exclude<PhoneVerification, { case: "isVerified" }>;
      access: CallerAccess;
    } & UserServiceV2);
export type RemovePhoneCommand =
  { type: "RemovePhone" } | ({ type: "RemovePhone"; access: CallerAccess } & UserServiceV2);

export type UserCommand =
  | { type: "AddHumanUser"; userName: string; preferredLanguage?: string; displayName?: string }
  | { type: "AddMachineUser"; userName: string }
  | SetPhoneCommand
  | VerifyPhoneCommand
  | ResendPhoneCodeCommand
  | RemovePhoneCommand
  /** The notifier delivered the code of event `codeSequence` (through the external service of `generatorInfo`). */
  | { type: "MarkPhoneCodeSent"; codeSequence: number; generatorInfo?: CodeGeneratorInfo };

/** An external code service's answer about a code: right, or anything else (wrong, expired, unknown). */
export type ExternalCodeVerdict = "approved" | "rejected";

/** What to ask an external code service before a VerifyPhone can be decided. */
export interface ExternalCodeCheck {
  readonly generatorId: string;
  /** The service's verification id, "" when its code.sent is not recorded yet (then ask by number). */
  readonly verificationId: string;
  readonly phone: string;
  readonly code: string;
  /** The code.added event the answer is about; an answer is only good for this code. */
  readonly codeSequence: number;
}

/** Everything outside the aggregate that a decision may depend on. */
export interface DecideEnv {
  readonly now: Date;
  readonly phonePolicy: PhonePolicy;
  readonly codePolicy: CodePolicy;
  readonly cipher: CodeCipher;
  readonly random?: RandomBytes;
  /** Abuse rules for every code send (country list, resend cooldown, per-user caps); absent = none. */
  readonly sendPolicy?: CodeSendPolicy;
  /** When set, codes that are sent are generated and checked by this external service (its id), not by myphone. */
  readonly externalCodeGenerator?: string;
}

/** Events to append and, when the command was refused, the error to answer (events may still be appended). */
export interface Decision {
  readonly events: UserEvent[];
  readonly error?: DomainError;
  /** The plain code of a v2 `return_code`, for the answer (its event records it encrypted, marked code_returned). */
  readonly returnedCode?: string;
}

/** Longest phone and code each API accepts (ZITADEL's validation rules: auth.proto; user/v2/user_service.proto). */
const FIELD_LIMITS: Record<PhoneApi, { phone: number; code: number }> = {
  "auth.v1": { phone: 50, code: 200 },
  "user.v2": { phone: 200, code: 20 },
};
const MAX_USER_ID_LENGTH = 200;

function refuse(error: DomainError | ConstructorParameters<typeof DomainError>[0]): Decision {
  return { events: [], error: error instanceof DomainError ? error : new DomainError(error) };
}

/** Length in characters (code points), like protoc-gen-validate's rune count. */
function runeLength(value: string): number {
  let count = 0;
  for (const _ of value) count++;
  return count;
}

/** The API a command came through. */
function apiOf(command: object): PhoneApi {
  return "api" in command ? "user.v2" : "auth.v1";
}

function lengthWithin(value: string, max: number): boolean {
  const length = runeLength(value);
  return length >= 1 && length <= max;
}

/** Checks a command's own fields before any state is loaded, in the request's field order; returns any error. */
export function validateCommand(command: UserCommand): DomainError | undefined {
  if (command.type === "SetPhone") {
    const api = apiOf(command);
    if (!lengthWithin(command.phone, FIELD_LIMITS[api].phone))
      return new DomainError(PHONE_REFUSALS[api].SetPhone.phoneLength);
    if ("api" in command && command.verification.case === "isVerified" && !command.verification.value)
      return new DomainError(Errors.v2IsVerifiedFalse);
  }
  if (command.type === "VerifyPhone") {
    const api = apiOf(command);
    if (!lengthWithin(command.code, FIELD_LIMITS[api].code))
      return new DomainError(PHONE_REFUSALS[api].VerifyPhone.codeLength);
  }
  return undefined;
}

/** Checks the user id a v2 request names (its first field, so checked before the command's own). */
export function validateUserId(userId: string): DomainError | undefined {
  return lengthWithin(userId, MAX_USER_ID_LENGTH) ? undefined : new DomainError(Errors.v2UserIdLength);
}

/** The abuse rules a code send to `phone` must pass (SPEC 3.5: after the "not changed" check). */
function sendRefusal(phone: string, state: UserState, env: DecideEnv): Decision | undefined {
  if (!env.sendPolicy) return undefined;
  const error = checkCodeSend(phone, state.codesIssuedAt, env.sendPolicy, env.now);
  return error ? refuse(error) : undefined;
}

/**
 * A new code's event and its plain text; a returned code is marked so no SMS goes out for it. A code to send while
 * an external service makes the codes is that service's: the event names it and holds no code ("" here).
 */
function issueCode(env: DecideEnv, returned: boolean): { event: UserEvent; code: string } {
  const expiry = env.codePolicy.ttlMs * NANOS_PER_MILLI;
  // The expiry of an external code only bounds how late the notifier still starts its verification.
  if (!returned && env.externalCodeGenerator)
    return {
      event: { type: UserEventType.phoneCodeAdded, data: { generatorId: env.externalCodeGenerator, expiry } },
      code: "",
    };
  const code = generateCode(env.codePolicy, env.random);
  const data = { code: env.cipher.encrypt(code), expiry };
  return {
    event: { type: UserEventType.phoneCodeAdded, data: returned ? { ...data, code_returned: true } : data },
    code,
  };
}

/**
 * A v2 refusal for want of `user.write`, when the action needs it. ZITADEL answers AUTH-AWfge to a caller with
 * memberships but not this permission and AUTHZ-cdgFk to one with none (internal/api/authz/permissions.go).
 */
function accessRefusal(access: CallerAccess, needsUserWrite: boolean): Decision | undefined {
  if (!needsUserWrite || access.userWrite === "granted") return undefined;
  return refuse(access.userWrite === "denied" ? Errors.permissionDenied : Errors.membershipNotFound);
}

/** The normalised number, or the refusal of an invalid one. */
function normalised(phoneInput: string, env: DecideEnv): string | DomainError {
  try {
    return normalisePhone(phoneInput, env.phonePolicy);
  } catch (error) {
    if (error instanceof DomainError) return error;
    throw error;
  }
}

function decideSetPhone(command: SetPhoneCommand, state: UserState, env: DecideEnv): Decision {
  const refusals = PHONE_REFUSALS[apiOf(command)].SetPhone;
  let verification: PhoneVerification["case"] = "sendCode";
  // v1 normalises the number before it loads the user (ChangeHumanPhone); v2 loads the user and checks the
  // caller's permission first (ChangeUserPhone): a return_code or is_verified needs user.write even for oneself.
  if ("api" in command) {
    verification = command.verification.case;
    if (state.kind !== "human") return refuse(refusals.userMissing);
    const denied = accessRefusal(command.access, !command.access.self || verification !== "sendCode");
    if (denied) return denied;
  }
  const phone = normalised(command.phone, env);
  if (phone instanceof DomainError) return refuse(phone);
  if (state.kind !== "human") return refuse(refusals.userMissing);
  if (state.phone === phone) return refuse(refusals.phoneUnchanged);
  const changed: UserEvent = { type: UserEventType.phoneChanged, data: { phone } };
  if (verification === "isVerified") return { events: [changed, { type: UserEventType.phoneVerified, data: null }] };
  if (verification === "returnCode") {
    // Nothing is sent, so the abuse limits (which count sends) neither apply nor count it (README, v2).
    const issued = issueCode(env, true);
    return { events: [changed, issued.event], returnedCode: issued.code };
  }
  return sendRefusal(phone, state, env) ?? { events: [changed, issueCode(env, false).event] };
}

/** The pending code a VerifyPhone would check, when the decider gets that far (the checks before the code's own). */
function codeToCheck(command: VerifyPhoneCommand, state: UserState, env: DecideEnv): PendingCode | DomainError {
  const refusals = PHONE_REFUSALS[apiOf(command)].VerifyPhone;
  if (state.kind !== "human") return new DomainError(refusals.userMissing);
  const pending = state.pendingCode;
  if (state.phone === "" || pending === null) return new DomainError(refusals.codeMissing);
  const { maxAttempts } = env.codePolicy;
  // A dead code is refused without writing, so guessing past the limit costs us nothing.
  if (maxAttempts > 0 && pending.failedAttempts >= maxAttempts) return new DomainError(Errors.codeAttemptsExhausted);
  return pending;
}

/**
 * What the external code service must be asked before `command` can be decided: a VerifyPhone that would reach
 * the comparison of a code that service holds. Undefined for everything else (the decider answers alone).
 */
export function externalCodeCheck(
  command: UserCommand,
  state: UserState,
  env: DecideEnv,
): ExternalCodeCheck | undefined {
  if (command.type !== "VerifyPhone" || validateCommand(command)) return undefined;
  const pending = codeToCheck(command, state, env);
  if (pending instanceof DomainError || pending.generatorId === "") return undefined;
  return {
    generatorId: pending.generatorId,
    verificationId: pending.verificationId,
    phone: state.phone,
    code: command.code,
    codeSequence: pending.sequence,
  };
}

function decideVerifyPhone(command: VerifyPhoneCommand, state: UserState, env: DecideEnv): Decision {
  const refusals = PHONE_REFUSALS[apiOf(command)].VerifyPhone;
  const pending = codeToCheck(command, state, env);
  if (pending instanceof DomainError) return refuse(pending);
  let matches = false;
  if (pending.encrypted === null) {
    // The external service holds the code and its expiry; without its approval nothing is verified.
    matches = command.externalVerdict === "approved";
  } else if (env.now.getTime() <= pending.expiresAt.getTime()) {
    // A code another node encrypted with a key this one lacks (a rotation under way): not a wrong code, so
    // nothing is recorded, and a retry may reach a node that has the key (README, code keys).
    if (!env.cipher.hasKey(pending.encrypted.KeyID))
      return refuse(new DomainError(Errors.codeKeyMissing, { retryAfterSeconds: 1 }));
    matches = codesEqual(env.cipher.decrypt(pending.encrypted), command.code);
  }
  if (!matches) {
    // Like ZITADEL: expired and wrong codes both answer "Code is invalid" and are recorded.
    return {
      events: [{ type: UserEventType.phoneVerificationFailed, data: null }],
      error: new DomainError(refusals.codeWrong),
    };
  }
  return { events: [{ type: UserEventType.phoneVerified, data: null }] };
}

function decideResendCode(command: ResendPhoneCodeCommand, state: UserState, env: DecideEnv): Decision {
  if (state.kind !== "human") return refuse(PHONE_REFUSALS[apiOf(command)].ResendPhoneCode.userMissing);
  let returnCode = false;
  if ("api" in command) {
    returnCode = command.verification.case === "returnCode";
    const denied = accessRefusal(command.access, !command.access.self || returnCode);
    if (denied) return denied;
    // v2 asks only whether a code is pending (ResendUserPhoneCode); none is after verification or removal.
    if (state.pendingCode === null) return refuse(PHONE_REFUSALS["user.v2"].ResendPhoneCode.codeMissing);
  } else {
    const refusals = PHONE_REFUSALS["auth.v1"].ResendPhoneCode;
    if (state.phone === "") return refuse(refusals.phoneMissing);
    if (state.phoneVerified) return refuse(refusals.phoneVerified);
  }
  if (returnCode) {
    const issued = issueCode(env, true);
    return { events: [issued.event], returnedCode: issued.code };
  }
  return sendRefusal(state.phone, state, env) ?? { events: [issueCode(env, false).event] };
}

function decideRemovePhone(command: RemovePhoneCommand, state: UserState): Decision {
  const refusals = PHONE_REFUSALS[apiOf(command)].RemovePhone;
  if (state.kind !== "human") return refuse(refusals.userMissing);
  if ("api" in command) {
    // Removing one's own number needs no permission, unlike setting it with return_code (RemoveUserPhone).
    const denied = accessRefusal(command.access, !command.access.self);
    if (denied) return denied;
  }
  if (state.phone === "") return refuse(refusals.phoneMissing);
  return { events: [{ type: UserEventType.phoneRemoved, data: null }] };
}

function decideMarkCodeSent(codeSequence: number, generatorInfo: CodeGeneratorInfo, state: UserState): Decision {
  // Only the code that is still pending is marked, once; a superseded, used or already marked code needs no event.
  const pending = state.pendingCode;
  if (state.kind !== "human" || pending?.sequence !== codeSequence || pending.sent) return { events: [] };
  return { events: [{ type: UserEventType.phoneCodeSent, data: { generatorInfo } }] };
}

/** Decides what a command does to a user, in ZITADEL's order of checks (reference/zitadel_spec.md 2-3). */
export function decide(command: UserCommand, state: UserState, env: DecideEnv): Decision {
  const invalid = validateCommand(command);
  if (invalid) return refuse(invalid);
  switch (command.type) {
    case "AddHumanUser":
      if (state.kind !== "none") return refuse(Errors.userExists);
      {
        // Names reach SMS texts: stored as plain one-line text (src/domain/display-text.ts).
        const displayName = command.displayName === undefined ? "" : plainName(command.displayName, MAX_NAME_CHARS);
        return {
          events: [
            {
              type: UserEventType.humanAdded,
              data: {
                userName: plainName(command.userName, MAX_NAME_CHARS),
                ...(command.preferredLanguage ? { preferredLanguage: command.preferredLanguage } : {}),
                ...(displayName ? { displayName } : {}),
              },
            },
          ],
        };
      }
    case "AddMachineUser":
      if (state.kind !== "none") return refuse(Errors.userExists);
      return { events: [{ type: UserEventType.machineAdded, data: { userName: command.userName } }] };
    case "SetPhone":
      return decideSetPhone(command, state, env);
    case "VerifyPhone":
      return decideVerifyPhone(command, state, env);
    case "ResendPhoneCode":
      return decideResendCode(command, state, env);
    case "RemovePhone":
      return decideRemovePhone(command, state);
    case "MarkPhoneCodeSent":
      return decideMarkCodeSent(command.codeSequence, command.generatorInfo ?? {}, state);
  }
}

/** Folds one stored event, already read as a typed user event (parseUserEvent), into the state. */
export function evolve(state: UserState, event: UserEventEnvelope): UserState {
  const base: UserState = {
    ...state,
    owner: state.owner || event.owner,
    sequence: event.sequence,
    createdAt: state.createdAt ?? event.createdAt,
    changedAt: event.createdAt,
  };
  switch (event.type) {
    case UserEventType.humanAdded:
      return {
        ...base,
        kind: "human",
        userName: event.data.userName,
        preferredLanguage: event.data.preferredLanguage ?? "",
        displayName: event.data.displayName ?? "",
      };
    case UserEventType.machineAdded:
      return { ...base, kind: "machine", userName: event.data.userName };
    case UserEventType.userRemoved:
      return { ...base, kind: "removed", phone: "", phoneVerified: false, pendingCode: null };
    case UserEventType.phoneChanged:
      return { ...base, phone: event.data.phone, phoneVerified: false, pendingCode: null };
    case UserEventType.phoneCodeAdded:
      return {
        ...base,
        pendingCode: {
          encrypted: "code" in event.data ? event.data.code : null,
          generatorId: "generatorId" in event.data ? event.data.generatorId : "",
          verificationId: "",
          createdAt: event.createdAt,
          expiresAt: new Date(event.createdAt.getTime() + event.data.expiry / NANOS_PER_MILLI),
          sequence: event.sequence,
          failedAttempts: 0,
          sent: false,
        },
        // A returned code was not sent: the abuse limits that count sends do not count it.
        codesIssuedAt: isSentCode(event)
          ? withSendTime(state.codesIssuedAt, event.createdAt.getTime())
          : state.codesIssuedAt,
      };
    case UserEventType.phoneVerificationFailed:
      return state.pendingCode
        ? { ...base, pendingCode: { ...state.pendingCode, failedAttempts: state.pendingCode.failedAttempts + 1 } }
        : base;
    case UserEventType.phoneCodeSent: {
      if (!state.pendingCode) return base;
      const verificationId = event.data.generatorInfo.verificationId || state.pendingCode.verificationId;
      return { ...base, pendingCode: { ...state.pendingCode, sent: true, verificationId } };
    }
    case UserEventType.phoneVerified:
      return { ...base, phoneVerified: true, pendingCode: null };
    case UserEventType.phoneRemoved:
      // Reset the number too (ZITADEL PR #3544): setting the same number after removal must work.
      return { ...base, phone: "", phoneVerified: false, pendingCode: null };
  }
}

/** Replays a stream from the start. */
export function replay(events: readonly UserEventEnvelope[]): UserState {
  return events.reduce(evolve, initialState());
}

/** The answer of GetMyPhone, or the error ZITADEL gives for users without one. */
export function readPhone(state: UserState): { phone: string; verified: boolean } {
  if (state.kind === "machine") throw new DomainError(Errors.userNotHuman);
  if (state.kind !== "human") throw new DomainError(Errors.userNotFoundOnGet);
  return { phone: state.phone, verified: state.phoneVerified };
}

/** The remembered send times plus `at`, the oldest dropped beyond MAX_REMEMBERED_SENDS; never mutates `times`. */
function withSendTime(times: readonly number[], at: number): number[] {
  const next = times.slice(Math.max(0, times.length + 1 - MAX_REMEMBERED_SENDS));
  next.push(at);
  return next;
}
