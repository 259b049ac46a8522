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
  | { type: typeof UserEventType.humanAdded; data: { userName: string; preferredLanguage?: string; displayName?: string } }
  | { type: typeof UserEventType.machineAdded; data: { userName: string } }
  | { type: typeof UserEventType.userRemoved; data: null }
  | { type: typeof UserEventType.phoneChanged; data: { phone: string } }
  /**
   * `expiry` is nanoseconds, like Go's time.Duration in ZITADEL's payload. A code an external service generates
   * (Twilio Verify) has no `code` but the `generatorId` of that service, as in ZITADEL.
   */
  | { type: typeof UserEventType.phoneCodeAdded; data: { code: EncryptedCode; expiry: number } | { generatorId: string; expiry: number } }
  /** `generatorInfo` names the external service and its verification (ZITADEL's senders.CodeGeneratorInfo); `{}` otherwise. */
  | { type: typeof UserEventType.phoneCodeSent; data: { generatorInfo: CodeGeneratorInfo } }
  | { type: typeof UserEventType.phoneVerified; data: null }
  | { type: typeof UserEventType.phoneVerificationFailed; data: null }
  | { type: typeof UserEventType.phoneRemoved; data: null };

/** Which external service holds a code, and its id for the verification (`{}` when myphone made the code). */
export interface CodeGeneratorInfo {
  readonly id?: string;
  readonly verificationId?: string;
}

/** What evolve needs from a stored event (structurally satisfied by the event store's RecordedEvent). */
export interface UserEventEnvelope {
  readonly type: string;
  readonly data: Record<string, unknown> | null;
  readonly owner: string;
  readonly sequence: number;
  readonly createdAt: Date;
}

export const NANOS_PER_MILLI = 1_000_000;
