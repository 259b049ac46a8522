import type { EncryptedCode } from "./verification-code.js";

/** Aggregate type of every user stream (ZITADEL's). */
export const USER_AGGREGATE = "user";

/** Event type names, exactly as ZITADEL writes them. */
export const UserEventType = {
  humanAdded: "user.human.added",
  machineAdded: "user.machine.added",
  userRemoved: "user.removed",
  phoneChanged: "user.human.phone.changed",
  phoneCodeAdded: "user.human.phone.code.added",
  phoneCodeSent: "user.human.phone.code.sent",
  phoneVerified: "user.human.phone.verified",
  phoneVerificationFailed: "user.human.phone.verification.failed",
  phoneRemoved: "user.human.phone.removed",
} as const;

/** The events the decider emits, with their JSON payloads (ZITADEL's field names). */
export type UserEvent =
  | {
      type: typeof UserEventType.humanAdded;
      data: { userName: string; preferredLanguage?: string; displayName?: string };
    }
  | { type: typeof UserEventType.machineAdded; data: { userName: string } }
  | { type: typeof UserEventType.userRemoved; data: null }
  | { type: typeof UserEventType.phoneChanged; data: { phone: string } }
  /**
   * `expiry` is nanoseconds (Go's time.Duration, as in ZITADEL); `code_returned` marks a code the v2 API answered
   * instead of sending (omitted when false). An external service's code (Twilio Verify) has its `generatorId` instead.
   */
  | {
      type: typeof UserEventType.phoneCodeAdded;
      data:
        | { code: EncryptedCode; expiry: number; code_returned?: boolean }
        | { generatorId: string; expiry: number; code_returned?: undefined };
    }
  /** `generatorInfo`: the external service and its verification (ZITADEL's senders.CodeGeneratorInfo), else `{}`. */
  | { type: typeof UserEventType.phoneCodeSent; data: { generatorInfo: CodeGeneratorInfo } }
  | { type: typeof UserEventType.phoneVerified; data: null }
  | { type: typeof UserEventType.phoneVerificationFailed; data: null }
  | { type: typeof UserEventType.phoneRemoved; data: null };

/** Which external service holds a code, and its id for the verification (`{}` when myphone made the code). */
export interface CodeGeneratorInfo {
  readonly id?: string;
  readonly verificationId?: string;
}

/** Where a stored event sits: its aggregate's owner, its sequence in the stream, its commit time. */
export interface EventMetadata {
  readonly owner: string;
  readonly sequence: number;
  readonly createdAt: Date;
}

/** A stored user event, typed: what evolve folds. */
export type UserEventEnvelope = UserEvent & EventMetadata;

/** A stored event not yet known to be a user event (structurally, the event store's RecordedEvent). */
export interface StoredEvent extends EventMetadata {
  readonly aggregateId?: string;
  readonly type: string;
  readonly data: unknown;
}

/** A stored event this code cannot fold: an unknown type, or data that is not what its type says. */
export class UnreadableEventError extends Error {
  constructor(event: StoredEvent, reason: string) {
    // Never the data: it may hold a phone number or an encrypted code.
    super(`user ${event.aggregateId ?? "?"}, event ${event.sequence} (${event.type}): ${reason}`);
    this.name = "UnreadableEventError";
  }
}

type Payload<T extends UserEvent["type"]> = Extract<UserEvent, { type: T }>["data"];
type Fields = Record<string, unknown>;

const isFields = (value: unknown): value is Fields =>
  typeof value === "object" && value !== null && !Array.isArray(value);
const isString = (value: unknown): value is string => typeof value === "string";
const isAbsentOrString = (value: unknown): boolean => value === undefined || isString(value);
const isNull = (value: unknown): value is null => value === null;
const isEncryptedCode = (value: unknown): value is EncryptedCode =>
  isFields(value) &&
  value.CryptoType === 0 &&
  value.Algorithm === "aes-256-gcm" &&
  isString(value.KeyID) &&
  isString(value.Crypted);

/** What each event type's data must look like; a type missing here does not compile. */
const PAYLOAD_CHECKS: { readonly [T in UserEvent["type"]]: (data: unknown) => data is Payload<T> } = {
  [UserEventType.humanAdded]: (data): data is Payload<typeof UserEventType.humanAdded> =>
    isFields(data) &&
    isString(data.userName) &&
    isAbsentOrString(data.preferredLanguage) &&
    isAbsentOrString(data.displayName),
  [UserEventType.machineAdded]: (data): data is Payload<typeof UserEventType.machineAdded> =>
    isFields(data) && isString(data.userName),
  [UserEventType.userRemoved]: isNull,
  [UserEventType.phoneChanged]: (data): data is Payload<typeof UserEventType.phoneChanged> =>
    isFields(data) && isString(data.phone),
  [UserEventType.phoneCodeAdded]: (data): data is Payload<typeof UserEventType.phoneCodeAdded> =>
    isFields(data) &&
    // Either myphone's encrypted code (possibly returned, v2) or the id of the external service holding it.
    (data.code === undefined
      ? isString(data.generatorId) && data.generatorId !== "" && data.code_returned === undefined
      : isEncryptedCode(data.code) &&
        data.generatorId === undefined &&
        (data.code_returned === undefined || typeof data.code_returned === "boolean")) &&
    typeof data.expiry === "number" &&
    Number.isFinite(data.expiry) &&
    data.expiry >= 0,
  [UserEventType.phoneCodeSent]: (data): data is Payload<typeof UserEventType.phoneCodeSent> =>
    isFields(data) &&
    isFields(data.generatorInfo) &&
    isAbsentOrString(data.generatorInfo.id) &&
    isAbsentOrString(data.generatorInfo.verificationId),
  [UserEventType.phoneVerified]: isNull,
  [UserEventType.phoneVerificationFailed]: isNull,
  [UserEventType.phoneRemoved]: isNull,
};

/**
 * Reads a stored user-stream event as a typed user event. Throws UnreadableEventError for an unknown type (deciding
 * while skipping it could break a rule it stands for) or for data that does not match its type.
 */
export function parseUserEvent(event: StoredEvent): UserEventEnvelope {
  const check: ((data: unknown) => boolean) | undefined = Object.hasOwn(PAYLOAD_CHECKS, event.type)
    ? PAYLOAD_CHECKS[event.type as UserEvent["type"]]
    : undefined;
  if (!check) throw new UnreadableEventError(event, "unknown event type");
  if (!check(event.data)) throw new UnreadableEventError(event, "data does not match the event type");
  // The check above is the proof TypeScript cannot follow from a table lookup.
  return {
    type: event.type,
    data: event.data,
    owner: event.owner,
    sequence: event.sequence,
    createdAt: event.createdAt,
  } as UserEventEnvelope;
}

export const NANOS_PER_MILLI = 1_000_000;

/**
 * Whether an event is a code that goes out by SMS (code.added without `code_returned`): only these get an SMS job,
 * reserve a send under the abuse limits and count in the user's send history.
 */
export function isSentCode(event: UserEvent): boolean {
  return event.type === UserEventType.phoneCodeAdded && event.data.code_returned !== true;
}
