import { NO_SEND_RULES, type CodeSendPolicy } from "../../src/domain/code-send-rules.js";
import {
  decide,
  replay,
  validateCommand,
  validateUserId,
  type CallerAccess,
  type PhoneVerification,
  type UserCommand,
} from "../../src/domain/phone-decider.js";
import { isSentCode, UserEventType, type UserEvent } from "../../src/domain/user-events.js";
import {
  CODE,
  ONE_HOUR_NS,
  OTHER_PHONE,
  PHONE,
  decryptCode,
  given,
  makeEnv,
  reader,
  toEnvelopes,
} from "./given-when-then.js";

/**
 * The zitadel.user.v2 phone commands (ZITADEL internal/command/user_v2_phone.go at a97999e5): the order of checks,
 * the permission rules (self, return_code, is_verified, another user), v2's error ids, return_code's event.
 */

const humanAdded: UserEvent = { type: UserEventType.humanAdded, data: { userName: "alice" } };
const machineAdded: UserEvent = { type: UserEventType.machineAdded, data: { userName: "robot" } };
const userRemoved: UserEvent = { type: UserEventType.userRemoved, data: null };
const phoneChanged = (phone = PHONE): UserEvent => ({ type: UserEventType.phoneChanged, data: { phone } });
const codeAdded = (plain = CODE): UserEvent => ({
  type: UserEventType.phoneCodeAdded,
  data: { code: reader.encrypt(plain), expiry: ONE_HOUR_NS },
});
const phoneVerified: UserEvent = { type: UserEventType.phoneVerified, data: null };
const phoneRemoved: UserEvent = { type: UserEventType.phoneRemoved, data: null };
const verificationFailed: UserEvent = { type: UserEventType.phoneVerificationFailed, data: null };
const withPendingCode = (): UserEvent[] => [humanAdded, phoneChanged(), codeAdded()];

/** The callers: the user itself, or another user, each with or without user.write. */
const SELF: CallerAccess = { self: true, userWrite: "no_memberships" };
const SELF_ADMIN: CallerAccess = { self: true, userWrite: "granted" };
const ADMIN: CallerAccess = { self: false, userWrite: "granted" };
const STRANGER: CallerAccess = { self: false, userWrite: "no_memberships" };
const MEMBER: CallerAccess = { self: false, userWrite: "denied" };

const sendCode: PhoneVerification = { case: "sendCode" };
const returnCode: PhoneVerification = { case: "returnCode" };
const isVerified: PhoneVerification = { case: "isVerified", value: true };

const setPhone = (
  phone: string,
  verification: PhoneVerification = sendCode,
  access: CallerAccess = SELF,
): UserCommand => ({
  type: "SetPhone",
  api: "user.v2",
  phone,
  verification,
  access,
});
const resend = (
  verification: Exclude<PhoneVerification, { case: "isVerified" }> = sendCode,
  access: CallerAccess = SELF,
): UserCommand => ({
  type: "ResendPhoneCode",
  api: "user.v2",
  verification,
  access,
});
const verify = (code: string): UserCommand => ({ type: "VerifyPhone", api: "user.v2", code });
const remove = (access: CallerAccess = SELF): UserCommand => ({ type: "RemovePhone", api: "user.v2", access });

const sentCode = {
  type: UserEventType.phoneCodeAdded,
  data: { code: expect.objectContaining({ Crypted: expect.any(String) }), expiry: ONE_HOUR_NS },
} as unknown as UserEvent;
const returnedCode = {
  type: UserEventType.phoneCodeAdded,
  data: { code: expect.objectContaining({ Crypted: expect.any(String) }), expiry: ONE_HOUR_NS, code_returned: true },
} as unknown as UserEvent;

/** A cooldown of an hour: any code sent in the given history (all within the last 30 minutes) blocks the next send. */
const HOUR_COOLDOWN: CodeSendPolicy = { ...NO_SEND_RULES, resendCooldownMs: 3_600_000 };

describe("v2 field rules (PGV in ZITADEL, ids of our own)", () => {
  it.each([
    ["empty", "", "MYPHONE-V2Uid"],
    ["201 characters", "1".repeat(201), "MYPHONE-V2Uid"],
    ["200 characters", "1".repeat(200), undefined],
    ["200 emoji (code points, not UTF-16 units)", "😀".repeat(200), undefined],
  ])("user_id %s", (_label, userId, id) => {
    expect(validateUserId(userId)?.id).toBe(id);
  });

  it("SetPhone: phone 1 to 200 characters (v1 allows 50)", () => {
    expect(validateCommand(setPhone(""))?.id).toBe("MYPHONE-V2PhL");
    expect(validateCommand(setPhone("1".repeat(201)))?.message).toBe("Phone must be 1 to 200 characters");
    expect(validateCommand(setPhone("1".repeat(200)))).toBeUndefined();
    expect(validateCommand({ type: "SetPhone", phone: "1".repeat(51) })?.id).toBe("MYPHONE-PhLen");
  });

  it("SetPhone: is_verified set to false is refused, after the phone's length", () => {
    expect(validateCommand(setPhone(PHONE, { case: "isVerified", value: false }))?.id).toBe("MYPHONE-V2Vrf");
    expect(validateCommand(setPhone("", { case: "isVerified", value: false }))?.id).toBe("MYPHONE-V2PhL");
  });

  it("VerifyPhone: code 1 to 20 characters (v1 allows 200)", () => {
    expect(validateCommand(verify(""))?.id).toBe("MYPHONE-V2CoL");
    expect(validateCommand(verify("A".repeat(21)))?.message).toBe("Code must be 1 to 20 characters");
    expect(validateCommand(verify("A".repeat(20)))).toBeUndefined();
    expect(validateCommand({ type: "VerifyPhone", code: "A".repeat(21) })).toBeUndefined();
  });
});

describe("SetPhone (v2)", () => {
  it.each([
    ["no stream", []],
    ["a machine user", [machineAdded]],
    ["a removed user", [humanAdded, userRemoved]],
  ])(
    "a missing user (%s) is COMMAND-ieJ2e NotFound, before the permission and the number are looked at",
    (_label, history) => {
      given(history).when(setPhone(PHONE)).thenFails("COMMAND-ieJ2e", "NotFound", { message: "Phone not found" });
      given(history)
        .when(setPhone("abc", returnCode, STRANGER))
        .thenFails("COMMAND-ieJ2e", "NotFound");
    },
  );

  it("the caller sets their own number with send_code, no permission needed: phone.changed and a code to send", () => {
    const when = given([humanAdded]).when(setPhone("079 123 45 67", sendCode, SELF));
    when.then([phoneChanged(PHONE), sentCode]);
    expect(when.decision.returnedCode).toBeUndefined();
  });

  it.each([
    ["return_code for oneself", setPhone(PHONE, returnCode, SELF)],
    ["is_verified for oneself", setPhone(PHONE, isVerified, SELF)],
    ["send_code for another user", setPhone(PHONE, sendCode, STRANGER)],
  ])("%s without user.write and without memberships: AUTHZ-cdgFk NotFound", (_label, command) => {
    given([humanAdded]).when(command).thenFails("AUTHZ-cdgFk", "NotFound", { message: "membership not found" });
  });

  it("another user's number with memberships but not user.write: AUTH-AWfge PermissionDenied", () => {
    given([humanAdded])
      .when(setPhone(PHONE, sendCode, MEMBER))
      .thenFails("AUTH-AWfge", "PermissionDenied", {
        message: "No matching permissions found",
      });
  });

  it("the permission comes before the number: an invalid number of another user is refused for the permission", () => {
    given([humanAdded])
      .when(setPhone("abc", sendCode, MEMBER))
      .thenFails("AUTH-AWfge", "PermissionDenied");
    given([humanAdded])
      .when(setPhone("abc", sendCode, ADMIN))
      .thenFails("PHONE-so0wa", "InvalidArgument");
  });

  it("the same number is COMMAND-Uch5e, verified or not, and with is_verified too", () => {
    given(withPendingCode())
      .when(setPhone("079 123 45 67"))
      .thenFails("COMMAND-Uch5e", "FailedPrecondition", { message: "Phone not changed" });
    given([...withPendingCode(), phoneVerified])
      .when(setPhone(PHONE, isVerified, SELF_ADMIN))
      .thenFails("COMMAND-Uch5e", "FailedPrecondition");
  });

  it("return_code: phone.changed and a code.added marked code_returned; the plain code comes back in the decision", () => {
    const when = given([humanAdded]).when(setPhone(PHONE, returnCode, SELF_ADMIN));
    const next = when.then([phoneChanged(PHONE), returnedCode]);
    const event = when.decision.events[1]!;
    if (event.type !== UserEventType.phoneCodeAdded || !("code" in event.data))
      throw new Error("no code event with a code");
    expect(when.decision.returnedCode).toMatch(/^[A-Z0-9]{6}$/);
    expect(decryptCode(event.data.code)).toBe(when.decision.returnedCode);
    // The returned code verifies like a sent one.
    next.when(verify(when.decision.returnedCode!)).then([phoneVerified]);
  });

  it("is_verified: phone.changed and phone.verified, no code", () => {
    given([humanAdded])
      .when(setPhone(PHONE, isVerified, ADMIN))
      .then([phoneChanged(PHONE), phoneVerified]);
  });

  it("send_code passes the abuse rules; return_code and is_verified send nothing and do not", () => {
    const history = [humanAdded, phoneChanged(OTHER_PHONE), codeAdded()];
    given(history)
      .when(setPhone(PHONE, sendCode, SELF), { sendPolicy: HOUR_COOLDOWN })
      .thenFails("MYPHONE-SnCdn", "ResourceExhausted");
    given(history)
      .when(setPhone(PHONE, returnCode, SELF_ADMIN), { sendPolicy: HOUR_COOLDOWN })
      .then([phoneChanged(PHONE), returnedCode]);
    given(history)
      .when(setPhone(PHONE, isVerified, SELF_ADMIN), { sendPolicy: HOUR_COOLDOWN })
      .then([phoneChanged(PHONE), phoneVerified]);
  });

  it("a returned code does not count as a send: the next SMS is not held back by the cooldown", () => {
    given([humanAdded])
      .when(setPhone(PHONE, returnCode, SELF_ADMIN))
      .then([phoneChanged(PHONE), returnedCode])
      .when(resend(sendCode, SELF), { sendPolicy: HOUR_COOLDOWN })
      .then([sentCode]);
  });
});

describe("ResendPhoneCode (v2)", () => {
  it("a missing user is COMMAND-ieJ2e NotFound, before the permission", () => {
    given([machineAdded]).when(resend(sendCode, STRANGER)).thenFails("COMMAND-ieJ2e", "NotFound");
  });

  it.each([
    ["no number", [humanAdded]],
    ["a verified number", [...withPendingCode(), phoneVerified]],
    ["a removed number", [...withPendingCode(), phoneRemoved]],
    // v1 sends a code here; v2 asks for a pending code only.
    ["a number without a pending code", [humanAdded, phoneChanged()]],
  ])("without a pending code (%s): PHONE-5xrra88eq8 FailedPrecondition", (_label, history) => {
    given(history).when(resend()).thenFails("PHONE-5xrra88eq8", "FailedPrecondition", { message: "Code is empty" });
  });

  it("the permission comes before the pending code", () => {
    given([humanAdded]).when(resend(sendCode, MEMBER)).thenFails("AUTH-AWfge", "PermissionDenied");
    given([humanAdded]).when(resend(returnCode, SELF)).thenFails("AUTHZ-cdgFk", "NotFound");
  });

  it("send_code: one new code to send, under the abuse rules", () => {
    given(withPendingCode()).when(resend()).then([sentCode]);
    given(withPendingCode()).when(resend(sendCode, ADMIN)).then([sentCode]);
    given(withPendingCode())
      .when(resend(), { sendPolicy: HOUR_COOLDOWN })
      .thenFails("MYPHONE-SnCdn", "ResourceExhausted");
  });

  it("return_code (user.write): one code marked code_returned, returned, outside the abuse rules", () => {
    const when = given(withPendingCode()).when(resend(returnCode, SELF_ADMIN), { sendPolicy: HOUR_COOLDOWN });
    when.then([returnedCode]);
    const event = when.decision.events[0]!;
    if (event.type !== UserEventType.phoneCodeAdded || !("code" in event.data))
      throw new Error("no code event with a code");
    expect(decryptCode(event.data.code)).toBe(when.decision.returnedCode);
  });
});

describe("VerifyPhone (v2)", () => {
  it("a missing user is COMMAND-ieJ2e NotFound", () => {
    given([]).when(verify(CODE)).thenFails("COMMAND-ieJ2e", "NotFound");
  });

  it("no code is COMMAND-eis9R InvalidArgument; nothing is recorded (ZITADEL records verification.failed)", () => {
    given([humanAdded])
      .when(verify(CODE))
      .thenFails("COMMAND-eis9R", "InvalidArgument", { message: "Code is invalid" });
    given([...withPendingCode(), phoneVerified])
      .when(verify(CODE))
      .thenFails("COMMAND-eis9R", "InvalidArgument");
  });

  it("a wrong code is COMMAND-eis9R and records verification.failed", () => {
    given(withPendingCode())
      .when(verify("WRONG1"))
      .thenFails("COMMAND-eis9R", "InvalidArgument", { events: [verificationFailed] });
  });

  it("the right code verifies the number, whoever calls (there is no permission check)", () => {
    given(withPendingCode()).when(verify(CODE)).then([phoneVerified]);
  });

  it("a code that failed too often is dead, as in v1 (MYPHONE-CoAtt)", () => {
    const failures = Array.from({ length: 5 }, () => verificationFailed);
    given([...withPendingCode(), ...failures])
      .when(verify(CODE))
      .thenFails("MYPHONE-CoAtt", "FailedPrecondition");
  });
});

describe("RemovePhone (v2)", () => {
  it("a missing user is COMMAND-ieJ2e NotFound", () => {
    given([humanAdded, userRemoved]).when(remove()).thenFails("COMMAND-ieJ2e", "NotFound");
  });

  it("no number is COMMAND-ieJ2e FailedPrecondition (the same id, another code)", () => {
    given([humanAdded]).when(remove()).thenFails("COMMAND-ieJ2e", "FailedPrecondition", { message: "Phone not found" });
    given([...withPendingCode(), phoneRemoved])
      .when(remove(ADMIN))
      .thenFails("COMMAND-ieJ2e", "FailedPrecondition");
  });

  it("the caller removes their own number without any permission", () => {
    given(withPendingCode()).when(remove(SELF)).then([phoneRemoved]);
  });

  it("another user's number needs user.write, checked before the number", () => {
    given(withPendingCode()).when(remove(STRANGER)).thenFails("AUTHZ-cdgFk", "NotFound");
    given([humanAdded]).when(remove(MEMBER)).thenFails("AUTH-AWfge", "PermissionDenied");
    given(withPendingCode()).when(remove(ADMIN)).then([phoneRemoved]);
  });
});

describe("code_returned", () => {
  const returned: UserEvent = {
    type: UserEventType.phoneCodeAdded,
    data: { code: reader.encrypt(CODE), expiry: ONE_HOUR_NS, code_returned: true },
  };

  it("only codes without code_returned are sent", () => {
    expect(isSentCode(codeAdded())).toBe(true);
    expect(isSentCode(returned)).toBe(false);
    expect(isSentCode(phoneChanged())).toBe(false);
  });

  it("a returned code is pending (it verifies) but is not in the send history the abuse limits count", () => {
    const state = replay(toEnvelopes([humanAdded, phoneChanged(), returned]));
    expect(state.pendingCode?.sequence).toBe(3);
    expect(state.codesIssuedAt).toEqual([]);
    expect(decide(verify(CODE), state, makeEnv()).events).toEqual([phoneVerified]);
  });
});

describe("v1 and v2 on one stream", () => {
  it("a number set by v2 is seen by v1: v1 Resend sends a new code for it, v1 Set of the same number is COMMAND-wF94r", () => {
    const afterV2 = given([humanAdded])
      .when(setPhone(PHONE, returnCode, SELF_ADMIN))
      .then([phoneChanged(PHONE), returnedCode]);
    afterV2.when({ type: "ResendPhoneCode" }).then([sentCode]);
    afterV2.when({ type: "SetPhone", phone: PHONE }).thenFails("COMMAND-wF94r", "FailedPrecondition");
  });

  it("a number verified by v2 is verified for v1 (COMMAND-2M9sf), and a v1 code verifies through v2", () => {
    given([humanAdded])
      .when(setPhone(PHONE, isVerified, ADMIN))
      .then([phoneChanged(PHONE), phoneVerified])
      .when({ type: "ResendPhoneCode" })
      .thenFails("COMMAND-2M9sf", "FailedPrecondition");
    given(withPendingCode()).when(verify(CODE)).then([phoneVerified]);
  });
});
