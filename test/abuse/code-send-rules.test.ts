import {
  capWaitMs,
  countryAllowed,
  MAX_REMEMBERED_SENDS,
  NO_SEND_RULES,
  numberTypeAllowed,
  type CodeSendPolicy,
} from "../../src/domain/code-send-rules.js";
import { UserEventType, type UserEvent } from "../../src/domain/user-events.js";
import { eventTime, given, reader, toEnvelopes } from "../domain/given-when-then.js";

/**
 * The abuse rules the decider applies to every code send (SPEC 3.5 and 5): country lists, resend cooldown,
 * per-user caps. Pure: the clock is the `now` of the decision and the times of the stored code.added events.
 */

const PHONE = "+41791234567";
const OTHER_PHONE = "+41781234567";
const ONE_HOUR_NS = 3_600_000_000_000;
const MINUTE = 60_000;

const humanAdded: UserEvent = { type: UserEventType.humanAdded, data: { userName: "alice" } };
const phoneChanged = (phone: string = PHONE): UserEvent => ({ type: UserEventType.phoneChanged, data: { phone } });
const codeAdded: UserEvent = {
  type: UserEventType.phoneCodeAdded,
  data: { code: reader.encrypt("ABC123"), expiry: ONE_HOUR_NS },
};
const phoneRemoved: UserEvent = { type: UserEventType.phoneRemoved, data: null };
const phoneVerified: UserEvent = { type: UserEventType.phoneVerified, data: null };

const policy = (overrides: Partial<CodeSendPolicy> = {}): CodeSendPolicy => ({ ...NO_SEND_RULES, ...overrides });
const at = (sequence: number, plusMs: number) => new Date(eventTime(sequence).getTime() + plusMs);

/** humanAdded(1), phoneChanged(2), codeAdded(3): the last code was issued at eventTime(3). */
const withCode = (): UserEvent[] => [humanAdded, phoneChanged(), codeAdded];

describe("resend cooldown", () => {
  const cooldown = policy({ resendCooldownMs: MINUTE });

  it("refuses a resend inside the cooldown with ResourceExhausted MYPHONE-SnCdn and the remaining seconds", () => {
    const when = given(withCode()).when({ type: "ResendPhoneCode" }, { now: at(3, 10_000), sendPolicy: cooldown });
    when.thenFails("MYPHONE-SnCdn", "ResourceExhausted");
    expect(when.decision.error?.retryAfterSeconds).toBe(50);
  });

  it("rounds the remaining time up to whole seconds, and never answers 0", () => {
    const almost = given(withCode()).when(
      { type: "ResendPhoneCode" },
      { now: at(3, MINUTE - 1), sendPolicy: cooldown },
    );
    expect(almost.decision.error?.retryAfterSeconds).toBe(1);
    const partial = given(withCode()).when({ type: "ResendPhoneCode" }, { now: at(3, 10_500), sendPolicy: cooldown });
    expect(partial.decision.error?.retryAfterSeconds).toBe(50);
  });

  it("applies to SetMyPhone with another number too: every code send counts", () => {
    const when = given(withCode()).when(
      { type: "SetPhone", phone: OTHER_PHONE },
      { now: at(3, 1_000), sendPolicy: cooldown },
    );
    when.thenFails("MYPHONE-SnCdn", "ResourceExhausted");
    expect(when.decision.error?.retryAfterSeconds).toBe(59);
  });

  it("survives removing the number: the cooldown is the user's, not the number's", () => {
    given([...withCode(), phoneRemoved])
      .when({ type: "SetPhone", phone: PHONE }, { now: at(4, 1_000), sendPolicy: cooldown })
      .thenFails("MYPHONE-SnCdn", "ResourceExhausted");
  });

  it("lets the send through once the cooldown has passed", () => {
    given(withCode())
      .when({ type: "ResendPhoneCode" }, { now: at(3, MINUTE), sendPolicy: cooldown })
      .then((events) => expect(events.map((e) => e.type)).toEqual([UserEventType.phoneCodeAdded]));
  });

  it("0 disables it, and so does the absence of a policy (MYPHONE_ABUSE_LIMITS=off)", () => {
    given(withCode())
      .when({ type: "ResendPhoneCode" }, { now: at(3, 1), sendPolicy: policy({ resendCooldownMs: 0 }) })
      .then(() => true);
    given(withCode())
      .when({ type: "ResendPhoneCode" }, { now: at(3, 1) })
      .then(() => true);
  });

  it("comes after the checks ZITADEL makes: not changed, not found, already verified", () => {
    given(withCode())
      .when({ type: "SetPhone", phone: PHONE }, { now: at(3, 1_000), sendPolicy: cooldown })
      .thenFails("COMMAND-wF94r", "FailedPrecondition");
    given([...withCode(), phoneVerified])
      .when({ type: "ResendPhoneCode" }, { now: at(4, 1_000), sendPolicy: cooldown })
      .thenFails("COMMAND-2M9sf", "FailedPrecondition");
    given([...withCode(), phoneRemoved])
      .when({ type: "ResendPhoneCode" }, { now: at(4, 1_000), sendPolicy: cooldown })
      .thenFails("COMMAND-2b7Hf", "NotFound");
  });

  it("does not apply to a user's first code", () => {
    given([humanAdded])
      .when({ type: "SetPhone", phone: PHONE }, { now: at(1, 1), sendPolicy: cooldown })
      .then(() => true);
  });
});

describe("per-user caps", () => {
  /** humanAdded(1), phoneChanged(2), then `n` codes at eventTime(3..n+2), one second apart. */
  const withCodes = (n: number): UserEvent[] => [
    humanAdded,
    phoneChanged(),
    ...Array.from({ length: n }, () => codeAdded),
  ];
  const caps = policy({ perUser: [{ max: 3, windowMs: 60 * MINUTE }] });

  it("refuses the send over the cap with MYPHONE-SnUsr, retrying when the oldest send in the window leaves it", () => {
    const when = given(withCodes(3)).when({ type: "ResendPhoneCode" }, { now: at(5, 10_000), sendPolicy: caps });
    when.thenFails("MYPHONE-SnUsr", "ResourceExhausted");
    // The oldest of the three (eventTime(3)) leaves the hour 60 min after it: 60 min - 12 s from now.
    expect(when.decision.error?.retryAfterSeconds).toBe(60 * 60 - 12);
  });

  it("is a sliding window: once the oldest send is older than the window, one more fits", () => {
    given(withCodes(3))
      .when({ type: "ResendPhoneCode" }, { now: at(3, 60 * MINUTE), sendPolicy: caps })
      .then(() => true);
  });

  it("below the cap the send goes through", () => {
    given(withCodes(2))
      .when({ type: "ResendPhoneCode" }, { now: at(4, 1_000), sendPolicy: caps })
      .then(() => true);
  });

  it("reports the limit with the longest wait when several refuse", () => {
    const both = policy({ resendCooldownMs: MINUTE, perUser: [{ max: 3, windowMs: 60 * MINUTE }] });
    const when = given(withCodes(3)).when({ type: "ResendPhoneCode" }, { now: at(5, 1_000), sendPolicy: both });
    when.thenFails("MYPHONE-SnUsr", "ResourceExhausted");
    const cooldownOnly = given(withCodes(1)).when({ type: "ResendPhoneCode" }, { now: at(3, 1_000), sendPolicy: both });
    cooldownOnly.thenFails("MYPHONE-SnCdn", "ResourceExhausted");
  });

  it("counts code.added events only, from the stored history (replayed state)", () => {
    const state = given(withCodes(4)).state;
    expect(state.codesIssuedAt).toEqual(
      [eventTime(3), eventTime(4), eventTime(5), eventTime(6)].map((at) => at.getTime()),
    );
    expect(given(toEnvelopes([humanAdded, phoneChanged()])).state.codesIssuedAt).toEqual([]);
  });
});

describe("capWaitMs", () => {
  it("is 0 below the cap and the time until the right send leaves the window above it", () => {
    const cap = { max: 2, windowMs: 1000 };
    expect(capWaitMs([], cap, 5000)).toBe(0);
    expect(capWaitMs([4500], cap, 5000)).toBe(0);
    expect(capWaitMs([4200, 4500], cap, 5000)).toBe(200);
    // Three inside the window (after a cap change): two must leave, so the wait ends when the second oldest does.
    expect(capWaitMs([4500, 4200, 4300], cap, 5000)).toBe(300);
    expect(capWaitMs([3000, 4000], cap, 5000)).toBe(0);
  });
});

describe("country lists", () => {
  it("refuses a number whose region is denied with InvalidArgument MYPHONE-PhCty, on SetMyPhone and on resend", () => {
    const deny = policy({ deniedRegions: new Set(["GB"]) });
    given([humanAdded])
      .when({ type: "SetPhone", phone: "+447400123456" }, { sendPolicy: deny })
      .thenFails("MYPHONE-PhCty", "InvalidArgument");
    given([humanAdded])
      .when({ type: "SetPhone", phone: PHONE }, { sendPolicy: deny })
      .then(() => true);
    // The list changed after the number was set: the next code for it is refused too.
    given([humanAdded, phoneChanged("+447400123456"), codeAdded])
      .when({ type: "ResendPhoneCode" }, { sendPolicy: deny })
      .thenFails("MYPHONE-PhCty", "InvalidArgument");
  });

  it("with an allow list, only its regions get codes", () => {
    const allow = policy({ allowedRegions: new Set(["CH", "DE"]) });
    given([humanAdded])
      .when({ type: "SetPhone", phone: PHONE }, { sendPolicy: allow })
      .then(() => true);
    given([humanAdded])
      .when({ type: "SetPhone", phone: "+4915123456789" }, { sendPolicy: allow })
      .then(() => true);
    given([humanAdded])
      .when({ type: "SetPhone", phone: "+33612345678" }, { sendPolicy: allow })
      .thenFails("MYPHONE-PhCty", "InvalidArgument");
  });

  it("reads the region from the normalised number, national input included", () => {
    const deny = policy({ deniedRegions: new Set(["CH"]) });
    given([humanAdded])
      .when({ type: "SetPhone", phone: "079 123 45 67" }, { sendPolicy: deny })
      .thenFails("MYPHONE-PhCty", "InvalidArgument");
  });

  it("fails closed when the region is ambiguous: every region of the calling code must pass", () => {
    // +1 555 ... is possible but in no assigned range, so libphonenumber cannot tell US from CA or JM.
    expect(countryAllowed("+15550000000", { allowedRegions: new Set(["US"]), deniedRegions: new Set() })).toBe(false);
    expect(countryAllowed("+15550000000", { deniedRegions: new Set(["JM"]) })).toBe(false);
    expect(countryAllowed("+15550000000", { deniedRegions: new Set(["GB"]) })).toBe(true);
    // An assigned number has one region.
    expect(countryAllowed("+12025550123", { allowedRegions: new Set(["US"]), deniedRegions: new Set(["CA"]) })).toBe(
      true,
    );
  });

  it("names non-geographic numbers (satellite, international networks) 001", () => {
    expect(countryAllowed("+881612345678", { deniedRegions: new Set(["001"]) })).toBe(false);
    expect(countryAllowed("+881612345678", { allowedRegions: new Set(["CH"]), deniedRegions: new Set() })).toBe(false);
  });

  it("comes before the time-based limits: waiting would not help", () => {
    const both = policy({ resendCooldownMs: MINUTE, deniedRegions: new Set(["GB"]) });
    given([humanAdded, phoneChanged("+447400123456"), codeAdded])
      .when({ type: "ResendPhoneCode" }, { now: at(3, 1_000), sendPolicy: both })
      .thenFails("MYPHONE-PhCty", "InvalidArgument");
  });
});

describe("kinds of number", () => {
  const refusePremium = policy({ deniedTypes: new Set(["PREMIUM_RATE", "SHARED_COST"]) });

  it("refuses premium-rate and shared-cost numbers with InvalidArgument MYPHONE-PhTyp, appending nothing", () => {
    for (const phone of ["+41901234567", "+449098790000", "+41840123456", "+979123456789"]) {
      given([humanAdded])
        .when({ type: "SetPhone", phone }, { sendPolicy: refusePremium })
        .thenFails("MYPHONE-PhTyp", "InvalidArgument");
    }
    given([humanAdded])
      .when({ type: "SetPhone", phone: PHONE }, { sendPolicy: refusePremium })
      .then(() => true);
  });

  it("refuses the next code to a number set before the kind was denied", () => {
    given([humanAdded, phoneChanged("+41901234567"), codeAdded])
      .when({ type: "ResendPhoneCode" }, { sendPolicy: refusePremium })
      .thenFails("MYPHONE-PhTyp", "InvalidArgument");
  });

  it("names libphonenumber's types, and refuses nothing without a list", () => {
    expect(numberTypeAllowed("+4915123456789", { deniedTypes: new Set(["MOBILE"]) })).toBe(false);
    expect(numberTypeAllowed("+41441234567", { deniedTypes: new Set(["MOBILE"]) })).toBe(true);
    expect(numberTypeAllowed("+41901234567", {})).toBe(true);
  });

  it("comes after the country lists and before the time-based limits", () => {
    const all = policy({
      resendCooldownMs: MINUTE,
      deniedRegions: new Set(["001"]),
      deniedTypes: new Set(["PREMIUM_RATE"]),
    });
    // +979 is both non-geographic and premium rate: the country answers.
    given([humanAdded])
      .when({ type: "SetPhone", phone: "+979123456789" }, { sendPolicy: all })
      .thenFails("MYPHONE-PhCty", "InvalidArgument");
    given([humanAdded, phoneChanged("+41901234567"), codeAdded])
      .when({ type: "ResendPhoneCode" }, { now: at(3, 1_000), sendPolicy: all })
      .thenFails("MYPHONE-PhTyp", "InvalidArgument");
  });
});

describe("remembered sends", () => {
  it("keeps the times of the last MAX_REMEMBERED_SENDS codes, enough for the largest cap", () => {
    const many = Array.from({ length: MAX_REMEMBERED_SENDS + 5 }, () => codeAdded);
    const state = given([humanAdded, phoneChanged(), ...many]).state;
    expect(state.codesIssuedAt).toHaveLength(MAX_REMEMBERED_SENDS);
    expect(state.codesIssuedAt.at(-1)).toBe(eventTime(MAX_REMEMBERED_SENDS + 7).getTime());
    expect(state.codesIssuedAt[0]).toBe(eventTime(8).getTime());
  });
});
