import { DomainError, Errors, type ErrorDefinition } from "./errors.js";
import { describeNumber, type PhoneNumberTypeName } from "./phone-number.js";

/**
 * Abuse rules decidable from the user's own stream (SPEC section 5): country lists, refused number kinds, resend
 * cooldown, per-user caps. Caps spanning users need shared state and live behind the SendLimiter port (src/abuse).
 */

/** At most `max` code sends within any window of `windowMs` (a sliding window). */
export interface SendCap {
  readonly max: number;
  readonly windowMs: number;
}

export interface CodeSendPolicy {
  /** Minimum time between two code sends of one user; 0 = no cooldown. */
  readonly resendCooldownMs: number;
  /** Caps on the code sends of one user. */
  readonly perUser: readonly SendCap[];
  /** When set, codes go only to numbers of these ISO regions ("001" = non-geographic numbers). */
  readonly allowedRegions?: ReadonlySet<string>;
  /** Codes never go to numbers of these regions. */
  readonly deniedRegions: ReadonlySet<string>;
  /** Codes never go to numbers of these libphonenumber types (premium rate, shared cost, ...); absent = none. */
  readonly deniedTypes?: ReadonlySet<PhoneNumberTypeName>;
}

/** Send times a user's state remembers: enough for any cap, few enough that replaying long streams stays linear. */
export const MAX_REMEMBERED_SENDS = 1000;

/** No rule at all: what `MYPHONE_ABUSE_LIMITS=off` means. */
export const NO_SEND_RULES: CodeSendPolicy = { resendCooldownMs: 0, perUser: [], deniedRegions: new Set() };

/**
 * How long until one more send fits under `cap`, given the times (ms) of earlier sends; 0 when it fits now.
 * Sliding window: the send that must leave the window is the (count - max + 1)-th newest one inside it.
 */
export function capWaitMs(sentAtMs: readonly number[], cap: SendCap, nowMs: number): number {
  const inWindow = sentAtMs.filter((at) => at > nowMs - cap.windowMs).sort((a, b) => a - b);
  if (inWindow.length < cap.max) return 0;
  const leaving = inWindow[inWindow.length - cap.max]!;
  return Math.max(1, leaving + cap.windowMs - nowMs);
}

/** Whole seconds a client should wait (RetryInfo, Retry-After): never 0, since 0 would mean "retry now". */
export function retryAfterSeconds(waitMs: number): number {
  return Math.max(1, Math.ceil(waitMs / 1000));
}

/** True when codes may be sent to this normalised number under the policy's country lists. */
export function countryAllowed(
  e164: string,
  policy: Pick<CodeSendPolicy, "allowedRegions" | "deniedRegions">,
): boolean {
  // No lists, nothing to look up: finding a number's region means parsing it again, on every SetMyPhone.
  if (!policy.allowedRegions && policy.deniedRegions.size === 0) return true;
  const { regions } = describeNumber(e164);
  // When the number's region is ambiguous, every candidate must pass: lists fail closed.
  if (policy.allowedRegions && !regions.every((region) => policy.allowedRegions!.has(region))) return false;
  return !regions.some((region) => policy.deniedRegions.has(region));
}

/** True when codes may be sent to this normalised number's kind (its libphonenumber type). */
export function numberTypeAllowed(e164: string, policy: Pick<CodeSendPolicy, "deniedTypes">): boolean {
  if (!policy.deniedTypes || policy.deniedTypes.size === 0) return true;
  return !policy.deniedTypes.has(describeNumber(e164).type);
}

/**
 * Checks one more code send to `phone` given the user's earlier send times (epoch ms); returns the refusal, if any.
 * Country and number kind come first (waiting cannot fix them); of the time limits the longest wait is reported, so
 * a client honouring RetryInfo is not refused again right away.
 */
export function checkCodeSend(
  phone: string,
  sentAtMs: readonly number[],
  policy: CodeSendPolicy,
  now: Date,
): DomainError | undefined {
  if (!countryAllowed(phone, policy)) return new DomainError(Errors.phoneCountryNotAllowed);
  if (!numberTypeAllowed(phone, policy)) return new DomainError(Errors.phoneTypeNotAllowed);
  const nowMs = now.getTime();
  let refusal: { waitMs: number; error: ErrorDefinition } | undefined;
  // Only a rule in force looks at the times: a user may have up to MAX_REMEMBERED_SENDS of them.
  if (policy.resendCooldownMs > 0) {
    let last: number | undefined;
    for (const at of sentAtMs) if (last === undefined || at > last) last = at;
    if (last !== undefined && nowMs - last < policy.resendCooldownMs) {
      refusal = { waitMs: last + policy.resendCooldownMs - nowMs, error: Errors.sendCooldown };
    }
  }
  for (const cap of policy.perUser) {
    const waitMs = capWaitMs(sentAtMs, cap, nowMs);
    if (waitMs > 0 && (!refusal || waitMs > refusal.waitMs)) refusal = { waitMs, error: Errors.sendCapUser };
  }
  if (!refusal) return undefined;
  return new DomainError(refusal.error, { retryAfterSeconds: retryAfterSeconds(refusal.waitMs) });
}
