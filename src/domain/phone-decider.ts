import { checkCodeSend, MAX_REMEMBERED_SENDS, type CodeSendPolicy } from "./code-send-rules.js";
import { DomainError, Errors } from "./errors.js";
import { normalisePhone, type PhonePolicy } from "./phone-number.js";
import { UserEventType, NANOS_PER_MILLI, type UserEvent, type UserEventEnvelope } from "./user-events.js";
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
  readonly encrypted: EncryptedCode;
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
   * When the last codes of this user were issued (code.added), in epoch milliseconds, oldest first, at most
   * MAX_REMEMBERED_SENDS: the resend cooldown and per-user caps count these. Numbers, not Dates: a cached state
   * holds up to a thousand of them, 8 bytes each in a packed array instead of an object each.
   */
  readonly codesIssuedAt: readonly number[];
  /** Sequence of the last event seen; 0 for an empty stream. */
  readonly sequence: number;
  readonly createdAt: Date | null;
  readonly changedAt: Date | null;
}

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

export type UserCommand =
  | { type: "AddHumanUser"; userName: string; preferredLanguage?: string; displayName?: string }
  | { type: "AddMachineUser"; userName: string }
  | { type: "SetPhone"; phone: string }
  | { type: "VerifyPhone"; code: string }
  | { type: "ResendPhoneCode" }
  | { type: "RemovePhone" }
  /** The notifier delivered the code of event `codeSequence`. */
  | { type: "MarkPhoneCodeSent"; codeSequence: number };

/** Everything outside the aggregate that a decision may depend on. */
export interface DecideEnv {
  readonly now: Date;
  readonly phonePolicy: PhonePolicy;
  readonly codePolicy: CodePolicy;
  readonly cipher: CodeCipher;
  readonly random?: RandomBytes;
  /** Abuse rules for every code send (country list, resend cooldown, per-user caps); absent = none. */
  readonly sendPolicy?: CodeSendPolicy;
}

/** Events to append and, when the command was refused, the error to answer (events may still be appended). */
export interface Decision {
  readonly events: UserEvent[];
  readonly error?: DomainError;
}

const MAX_PHONE_LENGTH = 50;
const MAX_CODE_LENGTH = 200;

function refuse(error: DomainError | ConstructorParameters<typeof DomainError>[0]): Decision {
  return { events: [], error: error instanceof DomainError ? error : new DomainError(error) };
}

/** Length in characters (code points), like protoc-gen-validate's rune count. */
function runeLength(value: string): number {
  let count = 0;
  for (const _ of value) count++;
  return count;
}

/** Checks a command's own fields, before any state is loaded. Returns the error, if any. */
export function validateCommand(command: UserCommand): DomainError | undefined {
  if (command.type === "SetPhone") {
    const length = runeLength(command.phone);
    if (length < 1 || length > MAX_PHONE_LENGTH) return new DomainError(Errors.phoneLength);
  }
  if (command.type === "VerifyPhone") {
    const length = runeLength(command.code);
    if (length < 1 || length > MAX_CODE_LENGTH) return new DomainError(Errors.codeLength);
  }
  return undefined;
}

/** The abuse rules a code send to `phone` must pass (SPEC 3.5: after the "not changed" check). */
function sendRefusal(phone: string, state: UserState, env: DecideEnv): Decision | undefined {
  if (!env.sendPolicy) return undefined;
  const error = checkCodeSend(phone, state.codesIssuedAt, env.sendPolicy, env.now);
  return error ? refuse(error) : undefined;
}

function newCodeEvent(env: DecideEnv): UserEvent {
  const code = generateCode(env.codePolicy, env.random);
  return {
    type: UserEventType.phoneCodeAdded,
    data: { code: env.cipher.encrypt(code), expiry: env.codePolicy.ttlMs * NANOS_PER_MILLI },
  };
}

function decideSetPhone(phoneInput: string, state: UserState, env: DecideEnv): Decision {
  let phone: string;
  try {
    phone = normalisePhone(phoneInput, env.phonePolicy);
  } catch (error) {
    if (error instanceof DomainError) return refuse(error);
    throw error;
  }
  if (state.kind !== "human") return refuse(Errors.userNotFoundOnSet);
  if (state.phone === phone) return refuse(Errors.phoneNotChanged);
  const refused = sendRefusal(phone, state, env);
  if (refused) return refused;
  return { events: [{ type: UserEventType.phoneChanged, data: { phone } }, newCodeEvent(env)] };
}

function decideVerifyPhone(code: string, state: UserState, env: DecideEnv): Decision {
  if (state.kind !== "human") return refuse(Errors.userNotFoundOnVerify);
  const pending = state.pendingCode;
  if (state.phone === "" || pending === null) return refuse(Errors.codeNotFound);
  const { maxAttempts } = env.codePolicy;
  // A dead code is refused without writing, so guessing past the limit costs us nothing.
  if (maxAttempts > 0 && pending.failedAttempts >= maxAttempts) return refuse(Errors.codeAttemptsExhausted);
  let matches = false;
  if (env.now.getTime() <= pending.expiresAt.getTime()) {
    matches = codesEqual(env.cipher.decrypt(pending.encrypted), code);
  }
  if (!matches) {
    // Like ZITADEL: expired and wrong codes both answer "Code is invalid" and are recorded.
    return {
      events: [{ type: UserEventType.phoneVerificationFailed, data: null }],
      error: new DomainError(Errors.codeInvalid),
    };
  }
  return { events: [{ type: UserEventType.phoneVerified, data: null }] };
}

function decideResendCode(state: UserState, env: DecideEnv): Decision {
  if (state.kind !== "human") return refuse(Errors.userNotFoundOnResend);
  if (state.phone === "") return refuse(Errors.phoneNotFoundOnResend);
  if (state.phoneVerified) return refuse(Errors.phoneAlreadyVerified);
  return sendRefusal(state.phone, state, env) ?? { events: [newCodeEvent(env)] };
}

function decideRemovePhone(state: UserState): Decision {
  if (state.kind !== "human") return refuse(Errors.userNotFoundOnRemove);
  if (state.phone === "") return refuse(Errors.phoneNotFoundOnRemove);
  return { events: [{ type: UserEventType.phoneRemoved, data: null }] };
}

function decideMarkCodeSent(codeSequence: number, state: UserState): Decision {
  // Only the code that is still pending is marked, once; a superseded, used or already marked code needs no event.
  const pending = state.pendingCode;
  if (state.kind !== "human" || pending?.sequence !== codeSequence || pending.sent) return { events: [] };
  return { events: [{ type: UserEventType.phoneCodeSent, data: { generatorInfo: {} } }] };
}

/** Decides what a command does to a user, in ZITADEL's order of checks (reference/zitadel_spec.md 2-3). */
export function decide(command: UserCommand, state: UserState, env: DecideEnv): Decision {
  const invalid = validateCommand(command);
  if (invalid) return refuse(invalid);
  switch (command.type) {
    case "AddHumanUser":
      if (state.kind !== "none") return refuse(Errors.userExists);
      return {
        events: [
          {
            type: UserEventType.humanAdded,
            data: {
              userName: command.userName,
              ...(command.preferredLanguage ? { preferredLanguage: command.preferredLanguage } : {}),
              ...(command.displayName ? { displayName: command.displayName } : {}),
            },
          },
        ],
      };
    case "AddMachineUser":
      if (state.kind !== "none") return refuse(Errors.userExists);
      return { events: [{ type: UserEventType.machineAdded, data: { userName: command.userName } }] };
    case "SetPhone":
      return decideSetPhone(command.phone, state, env);
    case "VerifyPhone":
      return decideVerifyPhone(command.code, state, env);
    case "ResendPhoneCode":
      return decideResendCode(state, env);
    case "RemovePhone":
      return decideRemovePhone(state);
    case "MarkPhoneCodeSent":
      return decideMarkCodeSent(command.codeSequence, state);
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
          encrypted: event.data.code,
          createdAt: event.createdAt,
          expiresAt: new Date(event.createdAt.getTime() + event.data.expiry / NANOS_PER_MILLI),
          sequence: event.sequence,
          failedAttempts: 0,
          sent: false,
        },
        codesIssuedAt: withSendTime(state.codesIssuedAt, event.createdAt.getTime()),
      };
    case UserEventType.phoneVerificationFailed:
      return state.pendingCode
        ? { ...base, pendingCode: { ...state.pendingCode, failedAttempts: state.pendingCode.failedAttempts + 1 } }
        : base;
    case UserEventType.phoneCodeSent:
      return state.pendingCode ? { ...base, pendingCode: { ...state.pendingCode, sent: true } } : base;
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

/** The remembered send times plus `at`, the oldest dropped beyond MAX_REMEMBERED_SENDS: one copy, never a change of `times`. */
function withSendTime(times: readonly number[], at: number): number[] {
  const next = times.slice(Math.max(0, times.length + 1 - MAX_REMEMBERED_SENDS));
  next.push(at);
  return next;
}
