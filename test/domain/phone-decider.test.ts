import { MAX_REMEMBERED_SENDS } from "../../src/domain/code-send-rules.js";
import { DomainError } from "../../src/domain/errors.js";
import {
  decide,
  evolve,
  externalCodeCheck,
  initialState,
  readPhone,
  replay,
  validateCommand,
  type UserCommand,
  type UserState,
} from "../../src/domain/phone-decider.js";
import { UserEventType, type UserEvent } from "../../src/domain/user-events.js";
import { DEFAULT_CODE_POLICY, type EncryptedCode } from "../../src/domain/verification-code.js";
import {
  CODE,
  KEY_ID,
  NOW,
  ONE_HOUR_NS,
  OTHER_PHONE,
  OWNER,
  PHONE,
  decryptCode,
  eventTime,
  given,
  makeEnv,
  reader,
  toEnvelopes,
} from "./given-when-then.js";

// ---------------------------------------------------------------------------------------------- fixtures

const ONE_HOUR_MS = 3_600_000;

const humanAdded: UserEvent = { type: UserEventType.humanAdded, data: { userName: "alice" } };
const machineAdded: UserEvent = { type: UserEventType.machineAdded, data: { userName: "robot" } };
const userRemoved: UserEvent = { type: UserEventType.userRemoved, data: null };
const phoneChanged = (phone: string = PHONE): UserEvent => ({ type: UserEventType.phoneChanged, data: { phone } });
const codeAdded = (plain: string = CODE): UserEvent => ({
  type: UserEventType.phoneCodeAdded,
  data: { code: reader.encrypt(plain), expiry: ONE_HOUR_NS },
});
const codeSent: UserEvent = { type: UserEventType.phoneCodeSent, data: { generatorInfo: {} } };
const phoneVerified: UserEvent = { type: UserEventType.phoneVerified, data: null };
const verificationFailed: UserEvent = { type: UserEventType.phoneVerificationFailed, data: null };
const phoneRemoved: UserEvent = { type: UserEventType.phoneRemoved, data: null };

/** humanAdded(1), phoneChanged(2), codeAdded(3) with code ABC123, created at eventTime(3). */
const withPendingCode = (): UserEvent[] => [humanAdded, phoneChanged(), codeAdded()];
const failures = (n: number): UserEvent[] => Array.from({ length: n }, () => verificationFailed);

/** The shape of a freshly generated code.added event (the ciphertext is checked by decrypting it). */
const expectedCodeAdded = {
  type: UserEventType.phoneCodeAdded,
  data: {
    code: { CryptoType: 0, Algorithm: "aes-256-gcm", KeyID: KEY_ID, Crypted: expect.any(String) },
    expiry: ONE_HOUR_NS,
  },
} as unknown as UserEvent;

function codeOf(event: UserEvent | undefined): EncryptedCode {
  if (event?.type !== UserEventType.phoneCodeAdded || !("code" in event.data))
    throw new Error(`not a code.added event with a code: ${event?.type}`);
  return event.data.code;
}

const set = (phone: string): UserCommand => ({ type: "SetPhone", phone });
const verify = (code: string): UserCommand => ({ type: "VerifyPhone", code });
const resend: UserCommand = { type: "ResendPhoneCode" };
const remove: UserCommand = { type: "RemovePhone" };
const markSent = (codeSequence: number): UserCommand => ({ type: "MarkPhoneCodeSent", codeSequence });

/** 50 code points, every one multi-byte in UTF-8; 88 UTF-16 units (the emoji are surrogate pairs). */
const FULLWIDTH_PHONE_50 = "＋４１７９１２３４５６７" + "😀".repeat(38);

// ---------------------------------------------------------------------------------------------- add user

describe("AddHumanUser", () => {
  it("adds a human user to an empty stream, with the optional fields when given", () => {
    given([])
      .when({ type: "AddHumanUser", userName: "alice", preferredLanguage: "de", displayName: "Alice" })
      .then([
        { type: UserEventType.humanAdded, data: { userName: "alice", preferredLanguage: "de", displayName: "Alice" } },
      ]);
  });

  it("leaves out empty optional fields", () => {
    given([])
      .when({ type: "AddHumanUser", userName: "alice" })
      .then((events) => {
        expect(events).toStrictEqual([{ type: UserEventType.humanAdded, data: { userName: "alice" } }]);
      });
  });

  it.each([
    ["a human", [humanAdded]],
    ["a machine", [machineAdded]],
    ["a removed user", [humanAdded, userRemoved]],
  ])("refuses when the stream already holds %s", (_label, history) => {
    given(history)
      .when({ type: "AddHumanUser", userName: "bob" })
      .thenFails("MYPHONE-UsrEx", "FailedPrecondition", { message: "User already exists" });
  });
});

describe("AddMachineUser", () => {
  it("adds a machine user to an empty stream", () => {
    given([]).when({ type: "AddMachineUser", userName: "robot" }).then([machineAdded]);
  });

  it.each([
    ["a human", [humanAdded]],
    ["a machine", [machineAdded]],
  ])("refuses when the stream already holds %s", (_label, history) => {
    given(history).when({ type: "AddMachineUser", userName: "robot" }).thenFails("MYPHONE-UsrEx", "FailedPrecondition");
  });
});

// ---------------------------------------------------------------------------------------------- SetPhone

describe("SetPhone", () => {
  describe("length (runes, checked before anything else)", () => {
    it("refuses an empty number", () => {
      given([humanAdded]).when(set("")).thenFails("MYPHONE-PhLen", "InvalidArgument", {
        message: "Phone must be 1 to 50 characters",
      });
    });

    it("refuses 51 characters", () => {
      given([humanAdded])
        .when(set("1".repeat(51)))
        .thenFails("MYPHONE-PhLen", "InvalidArgument");
    });

    it("refuses 51 multi-byte characters", () => {
      given([humanAdded])
        .when(set(FULLWIDTH_PHONE_50 + "😀"))
        .thenFails("MYPHONE-PhLen", "InvalidArgument");
    });

    it("checks the length before the user exists (no stream at all)", () => {
      given([]).when(set("")).thenFails("MYPHONE-PhLen", "InvalidArgument");
    });

    it("accepts 50 multi-byte characters (counted in code points, not UTF-16 units or bytes)", () => {
      expect(FULLWIDTH_PHONE_50.length).toBe(88);
      expect([...FULLWIDTH_PHONE_50]).toHaveLength(50);
      expect(validateCommand(set(FULLWIDTH_PHONE_50))).toBeUndefined();
      given([humanAdded])
        .when(set(FULLWIDTH_PHONE_50))
        .then([{ type: UserEventType.phoneChanged, data: { phone: PHONE } }, expectedCodeAdded]);
    });

    it("accepts exactly 50 ASCII characters by length (then libphonenumber refuses 50 digits as too long)", () => {
      expect(validateCommand(set("1".repeat(50)))).toBeUndefined();
      given([humanAdded])
        .when(set("1".repeat(50)))
        .thenFails("PHONE-so0wa", "InvalidArgument");
    });
  });

  describe("normalisation", () => {
    it("refuses an unparseable number with PHONE-so0wa", () => {
      given([humanAdded]).when(set("abc")).thenFails("PHONE-so0wa", "InvalidArgument", { message: "Phone is invalid" });
    });

    it("normalises before looking at the user (an unparseable number for a missing user is PHONE-so0wa)", () => {
      given([]).when(set("abc")).thenFails("PHONE-so0wa", "InvalidArgument");
    });

    it("reads a national number in the default region CH", () => {
      given([humanAdded])
        .when(set("079 123 45 67"))
        .then([{ type: UserEventType.phoneChanged, data: { phone: "+41791234567" } }, expectedCodeAdded]);
    });

    it("reads a national number in another configured default region", () => {
      given([humanAdded])
        .when(set("030 1234567"), { phonePolicy: { defaultRegion: "DE", check: "possible", mobileOnly: false } })
        .then([{ type: UserEventType.phoneChanged, data: { phone: "+49301234567" } }, expectedCodeAdded]);
    });

    it('accepts "+1 555 123 4567" under check "possible"', () => {
      given([humanAdded])
        .when(set("+1 555 123 4567"))
        .then([{ type: UserEventType.phoneChanged, data: { phone: "+15551234567" } }, expectedCodeAdded]);
    });

    it('refuses "+1 555 123 4567" as not valid under check "valid"', () => {
      given([humanAdded])
        .when(set("+1 555 123 4567"), { phonePolicy: { defaultRegion: "CH", check: "valid", mobileOnly: false } })
        .thenFails("MYPHONE-PhVal", "InvalidArgument", {
          message: "Phone is invalid (not an assigned number for its country)",
        });
    });

    it('accepts a valid number under check "valid"', () => {
      given([humanAdded])
        .when(set("079 123 45 67"), { phonePolicy: { defaultRegion: "CH", check: "valid", mobileOnly: false } })
        .then([phoneChanged(PHONE), expectedCodeAdded]);
    });

    it('refuses "12" under check "possible"', () => {
      given([humanAdded]).when(set("12")).thenFails("MYPHONE-PhPos", "InvalidArgument", {
        message: "Phone is invalid (not a possible number for its country)",
      });
    });

    it('accepts "12" under check "parse" (ZITADEL parity)', () => {
      given([humanAdded])
        .when(set("12"), { phonePolicy: { defaultRegion: "CH", check: "parse", mobileOnly: false } })
        .then([{ type: UserEventType.phoneChanged, data: { phone: "+4112" } }, expectedCodeAdded]);
    });

    it("mobileOnly refuses a Swiss fixed line", () => {
      given([humanAdded])
        .when(set("+41 44 668 18 00"), { phonePolicy: { defaultRegion: "CH", check: "possible", mobileOnly: true } })
        .thenFails("MYPHONE-PhMob", "InvalidArgument", { message: "Phone is invalid (not a mobile number)" });
    });

    it("without mobileOnly the same Swiss fixed line is accepted", () => {
      given([humanAdded])
        .when(set("+41 44 668 18 00"))
        .then([phoneChanged("+41446681800"), expectedCodeAdded]);
    });

    it("mobileOnly accepts a Swiss mobile number", () => {
      given([humanAdded])
        .when(set("079 123 45 67"), { phonePolicy: { defaultRegion: "CH", check: "possible", mobileOnly: true } })
        .then([phoneChanged(PHONE), expectedCodeAdded]);
    });
  });

  describe("user", () => {
    it.each([
      ["no user", [] as UserEvent[]],
      ["a machine user", [machineAdded]],
      ["a removed user", [humanAdded, phoneChanged(), userRemoved]],
    ])("refuses %s with COMMAND-3M0fs", (_label, history) => {
      given(history).when(set("079 123 45 67")).thenFails("COMMAND-3M0fs", "FailedPrecondition", {
        message: "User could not be found",
      });
    });
  });

  describe("same number", () => {
    it("refuses the current unverified number", () => {
      given(withPendingCode()).when(set(PHONE)).thenFails("COMMAND-wF94r", "FailedPrecondition", {
        message: "Phone not changed",
      });
    });

    it("refuses the current verified number", () => {
      given([...withPendingCode(), phoneVerified])
        .when(set(PHONE))
        .thenFails("COMMAND-wF94r", "FailedPrecondition");
    });

    it("compares normalised numbers (national spelling of the current number)", () => {
      given(withPendingCode()).when(set("079 123 45 67")).thenFails("COMMAND-wF94r", "FailedPrecondition");
    });
  });

  describe("success", () => {
    it("appends exactly phone.changed then code.added with an encrypted 6-character A-Z0-9 code", () => {
      given([humanAdded])
        .when(set("+41 79 123 45 67"))
        .then((events, { env }) => {
          expect(events).toHaveLength(2);
          expect(events[0]).toStrictEqual({ type: "user.human.phone.changed", data: { phone: "+41791234567" } });
          expect(events[1]).toEqual(expectedCodeAdded);
          const code = codeOf(events[1]);
          expect(Object.keys(code).sort()).toEqual(["Algorithm", "Crypted", "CryptoType", "KeyID"]);
          expect(code.Algorithm).toBe("aes-256-gcm");
          // The stored value is not the plain code.
          const plain = decryptCode(code);
          expect(plain).toMatch(/^[A-Z0-9]{6}$/);
          expect(code.Crypted).not.toContain(plain);
          // env.random is a counter 0, 1, 2, ...: bytes 0..5 are A..F.
          expect(plain).toBe("ABCDEF");
          expect(env.cipher.decrypt(code)).toBe("ABCDEF");
        });
    });

    it("expiry is the code policy's ttl in nanoseconds", () => {
      given([humanAdded])
        .when(set("079 123 45 67"), { codePolicy: { ...DEFAULT_CODE_POLICY, ttlMs: 10 * 60 * 1000 } })
        .then((events) => {
          expect(events[1]).toMatchObject({ data: { expiry: 600_000_000_000 } });
        });
    });

    it("uses crypto randomness when env.random is not given", () => {
      given([humanAdded])
        .when(set("079 123 45 67"), { random: undefined })
        .then((events) => {
          expect(decryptCode(codeOf(events[1]))).toMatch(/^[A-Z0-9]{6}$/);
        });
    });

    it("changes a number that has a pending code, and the new code replaces the old one", () => {
      given(withPendingCode())
        .when(set("078 123 45 67"))
        .then([phoneChanged(OTHER_PHONE), expectedCodeAdded])
        .when(verify(CODE))
        .thenFails("COMMAND-sM0cs", "InvalidArgument", { events: [verificationFailed] });
    });

    it("changes a verified number; the new one is unverified", () => {
      const after = given([...withPendingCode(), phoneVerified])
        .when(set("078 123 45 67"))
        .then([phoneChanged(OTHER_PHONE), expectedCodeAdded]);
      expect(readPhone(after.state)).toEqual({ phone: OTHER_PHONE, verified: false });
    });
  });
});

// ---------------------------------------------------------------------------------------------- VerifyPhone

describe("VerifyPhone", () => {
  describe("user", () => {
    it.each([
      ["no user", [] as UserEvent[]],
      ["a machine user", [machineAdded]],
      ["a removed user", [...withPendingCode(), userRemoved]],
    ])("refuses %s with COMMAND-Rsj8c FailedPrecondition", (_label, history) => {
      given(history).when(verify(CODE)).thenFails("COMMAND-Rsj8c", "FailedPrecondition", {
        message: "User could not be found",
      });
    });
  });

  describe("no code", () => {
    it.each([
      ["no phone", [humanAdded]],
      ["a phone but no pending code", [humanAdded, phoneChanged()]],
      ["an already verified phone", [...withPendingCode(), phoneVerified]],
      ["a removed phone", [...withPendingCode(), phoneRemoved]],
      ["a stray code.added without any phone", [humanAdded, codeAdded()]],
    ])("refuses %s with COMMAND-Rsj8c NotFound", (_label, history) => {
      given(history).when(verify(CODE)).thenFails("COMMAND-Rsj8c", "NotFound", { message: "Code not found" });
    });
  });

  describe("code length (runes, checked first)", () => {
    it("refuses an empty code", () => {
      given(withPendingCode()).when(verify("")).thenFails("MYPHONE-CoLen", "InvalidArgument", {
        message: "Code must be 1 to 200 characters",
      });
    });

    it("refuses 201 characters", () => {
      given(withPendingCode())
        .when(verify("A".repeat(201)))
        .thenFails("MYPHONE-CoLen", "InvalidArgument");
    });

    it("checks the length before the user exists", () => {
      given([]).when(verify("")).thenFails("MYPHONE-CoLen", "InvalidArgument");
    });

    it("accepts 200 characters by length (then they are just a wrong code)", () => {
      expect(validateCommand(verify("A".repeat(200)))).toBeUndefined();
      given(withPendingCode())
        .when(verify("A".repeat(200)))
        .thenFails("COMMAND-sM0cs", "InvalidArgument", { events: [verificationFailed] });
    });

    it("counts code points: 200 emoji are accepted, 201 refused", () => {
      expect(validateCommand(verify("😀".repeat(200)))).toBeUndefined();
      expect(validateCommand(verify("😀".repeat(201)))?.id).toBe("MYPHONE-CoLen");
    });
  });

  describe("wrong or expired", () => {
    it("a wrong code appends verification.failed and answers COMMAND-sM0cs", () => {
      given(withPendingCode())
        .when(verify("ZZZ999"))
        .thenFails("COMMAND-sM0cs", "InvalidArgument", {
          message: "Code is invalid",
          events: [verificationFailed],
        });
    });

    it("the comparison is case-sensitive", () => {
      given(withPendingCode())
        .when(verify(CODE.toLowerCase()))
        .thenFails("COMMAND-sM0cs", "InvalidArgument", { events: [verificationFailed] });
    });

    it("a prefix of the right code is wrong", () => {
      given(withPendingCode())
        .when(verify(CODE.slice(0, 5)))
        .thenFails("COMMAND-sM0cs", "InvalidArgument", { events: [verificationFailed] });
    });

    it("the right code after createdAt + 1h is refused like a wrong one", () => {
      const expired = new Date(eventTime(3).getTime() + ONE_HOUR_MS + 1);
      given(withPendingCode())
        .when(verify(CODE), { now: expired })
        .thenFails("COMMAND-sM0cs", "InvalidArgument", { message: "Code is invalid", events: [verificationFailed] });
    });

    it("the right code exactly at createdAt + 1h is still accepted", () => {
      const boundary = new Date(eventTime(3).getTime() + ONE_HOUR_MS);
      given(withPendingCode()).when(verify(CODE), { now: boundary }).then([phoneVerified]);
    });
  });

  describe("right code", () => {
    it("appends phone.verified", () => {
      const after = given(withPendingCode()).when(verify(CODE)).then([phoneVerified]);
      expect(readPhone(after.state)).toEqual({ phone: PHONE, verified: true });
    });

    it("verifies the code that SetPhone generated", () => {
      given([humanAdded])
        .when(set("079 123 45 67"))
        .then([phoneChanged(PHONE), expectedCodeAdded])
        .when(verify("ABCDEF"))
        .then([phoneVerified])
        .when(verify("ABCDEF"))
        .thenFails("COMMAND-Rsj8c", "NotFound");
    });

    it("a code that was already sent still verifies", () => {
      given([...withPendingCode(), codeSent])
        .when(verify(CODE))
        .then([phoneVerified]);
    });

    it("verifies after 4 failed attempts", () => {
      given([...withPendingCode(), ...failures(4)])
        .when(verify(CODE))
        .then([phoneVerified]);
    });
  });

  describe("attempt limit", () => {
    it("after 5 failed attempts the right code is refused with MYPHONE-CoAtt and nothing is appended", () => {
      given([...withPendingCode(), ...failures(5)])
        .when(verify(CODE))
        .thenFails("MYPHONE-CoAtt", "FailedPrecondition", {
          message: "Code is blocked after too many failed attempts (request a new code)",
          events: [],
        });
    });

    it("a wrong code past the limit appends nothing either", () => {
      given([...withPendingCode(), ...failures(7)])
        .when(verify("ZZZ999"))
        .thenFails("MYPHONE-CoAtt", "FailedPrecondition", { events: [] });
    });

    it("counts failures made through the decider (chained)", () => {
      let scenario = given(withPendingCode());
      for (let i = 0; i < 5; i++) {
        scenario = scenario.when(verify("WRONG" + i)).thenFails("COMMAND-sM0cs", "InvalidArgument", {
          events: [verificationFailed],
        });
      }
      expect(scenario.state.pendingCode?.failedAttempts).toBe(5);
      scenario.when(verify(CODE)).thenFails("MYPHONE-CoAtt", "FailedPrecondition");
    });

    it("expired attempts count as failures", () => {
      const expired = new Date(eventTime(3).getTime() + ONE_HOUR_MS + 1);
      let scenario = given(withPendingCode());
      for (let i = 0; i < 5; i++) {
        scenario = scenario
          .when(verify(CODE), { now: expired })
          .thenFails("COMMAND-sM0cs", "InvalidArgument", { events: [verificationFailed] });
      }
      scenario.when(verify(CODE), { now: expired }).thenFails("MYPHONE-CoAtt", "FailedPrecondition");
    });

    it("maxAttempts 0 means unlimited", () => {
      given([...withPendingCode(), ...failures(25)])
        .when(verify(CODE), { codePolicy: { ...DEFAULT_CODE_POLICY, maxAttempts: 0 } })
        .then([phoneVerified]);
    });

    it("a custom maxAttempts is honoured", () => {
      const policy = { ...DEFAULT_CODE_POLICY, maxAttempts: 2 };
      given([...withPendingCode(), ...failures(1)])
        .when(verify(CODE), { codePolicy: policy })
        .then([phoneVerified]);
      given([...withPendingCode(), ...failures(2)])
        .when(verify(CODE), { codePolicy: policy })
        .thenFails("MYPHONE-CoAtt", "FailedPrecondition");
    });

    it("a new code (resend) resets the attempt count", () => {
      given([...withPendingCode(), ...failures(5), codeAdded("XYZ789")])
        .when(verify("XYZ789"))
        .then([phoneVerified]);
    });

    it("a resend through the decider unblocks verification with the new code", () => {
      given([...withPendingCode(), ...failures(5)])
        .when(resend)
        .then([expectedCodeAdded])
        .when(verify("ABCDEF"))
        .then([phoneVerified]);
    });

    it("an older superseded code no longer verifies", () => {
      given([...withPendingCode(), codeAdded("XYZ789")])
        .when(verify(CODE))
        .thenFails("COMMAND-sM0cs", "InvalidArgument", { events: [verificationFailed] });
    });
  });
});

// ---------------------------------------------------------------------------------------------- ResendPhoneCode

describe("ResendPhoneCode", () => {
  it.each([
    ["no user", [] as UserEvent[]],
    ["a machine user", [machineAdded]],
    ["a removed user", [...withPendingCode(), userRemoved]],
  ])("refuses %s with COMMAND-2M0fs", (_label, history) => {
    given(history)
      .when(resend)
      .thenFails("COMMAND-2M0fs", "FailedPrecondition", { message: "User could not be found" });
  });

  it.each([
    ["no phone", [humanAdded]],
    ["a removed phone", [...withPendingCode(), phoneRemoved]],
  ])("refuses %s with COMMAND-2b7Hf NotFound", (_label, history) => {
    given(history).when(resend).thenFails("COMMAND-2b7Hf", "NotFound", { message: "Phone not found" });
  });

  it("refuses a verified phone with COMMAND-2M9sf", () => {
    given([...withPendingCode(), phoneVerified])
      .when(resend)
      .thenFails("COMMAND-2M9sf", "FailedPrecondition", {
        message: "Phone already verified",
      });
  });

  it("appends exactly one new code.added", () => {
    given(withPendingCode())
      .when(resend)
      .then((events) => {
        expect(events).toEqual([expectedCodeAdded]);
        expect(decryptCode(codeOf(events[0]))).toBe("ABCDEF");
      });
  });

  it("also works for an unverified phone without a pending code", () => {
    given([humanAdded, phoneChanged()]).when(resend).then([expectedCodeAdded]);
  });
});

// ---------------------------------------------------------------------------------------------- RemovePhone

describe("RemovePhone", () => {
  it.each([
    ["no user", [] as UserEvent[]],
    ["a machine user", [machineAdded]],
    ["a removed user", [...withPendingCode(), userRemoved]],
  ])("refuses %s with COMMAND-3M9fs", (_label, history) => {
    given(history)
      .when(remove)
      .thenFails("COMMAND-3M9fs", "FailedPrecondition", { message: "User could not be found" });
  });

  it.each([
    ["no phone", [humanAdded]],
    ["an already removed phone", [...withPendingCode(), phoneRemoved]],
  ])("refuses %s with COMMAND-p6rsc NotFound", (_label, history) => {
    given(history).when(remove).thenFails("COMMAND-p6rsc", "NotFound", { message: "Phone not found" });
  });

  it("appends phone.removed for an unverified phone", () => {
    given(withPendingCode()).when(remove).then([phoneRemoved]);
  });

  it("appends phone.removed for a verified phone", () => {
    given([...withPendingCode(), phoneVerified])
      .when(remove)
      .then([phoneRemoved]);
  });

  it("after removal, setting the same number again succeeds", () => {
    given([...withPendingCode(), phoneVerified])
      .when(remove)
      .then([phoneRemoved])
      .when(set(PHONE))
      .then([phoneChanged(PHONE), expectedCodeAdded]);
  });
});

// ---------------------------------------------------------------------------------------------- MarkPhoneCodeSent

describe("MarkPhoneCodeSent", () => {
  it("marks the pending code with that sequence as sent", () => {
    given(withPendingCode())
      .when(markSent(3))
      .then([{ type: UserEventType.phoneCodeSent, data: { generatorInfo: {} } }]);
  });

  it("marks a code only once, so a job re-run after a crash neither re-sends nor re-records it", () => {
    const history: UserEvent[] = [
      ...withPendingCode(),
      { type: UserEventType.phoneCodeSent, data: { generatorInfo: {} } },
    ];
    given(history).when(markSent(3)).then([]);
    expect(replay(toEnvelopes(history)).pendingCode?.sent).toBe(true);
  });

  it.each([
    ["a superseded code", [...withPendingCode(), codeAdded("XYZ789")], 3],
    ["a code of a changed number", [...withPendingCode(), phoneChanged(OTHER_PHONE)], 3],
    ["a verified code", [...withPendingCode(), phoneVerified], 3],
    ["a code of a removed phone", [...withPendingCode(), phoneRemoved], 3],
    ["an unknown sequence", withPendingCode(), 99],
    ["the sequence of a non-code event", withPendingCode(), 2],
    ["a removed user", [...withPendingCode(), userRemoved], 3],
    ["no user", [] as UserEvent[], 1],
    ["a machine user with a stray code.added", [machineAdded, codeAdded()], 2],
  ])("does nothing for %s (no events, no error)", (_label, history, sequence) => {
    given(history).when(markSent(sequence)).then([]);
  });

  it("marks the newer code when the older one is superseded", () => {
    given([...withPendingCode(), codeAdded("XYZ789")])
      .when(markSent(4))
      .then([codeSent]);
  });
});

// ---------------------------------------------------------------------------------------------- external code service

describe("codes an external service holds (Twilio Verify; ZITADEL's generatorId)", () => {
  const SERVICE = `VA${"1".repeat(32)}`;
  const VERIFICATION = `VE${"2".repeat(32)}`;
  const external = { externalCodeGenerator: SERVICE };
  const externalCodeAdded: UserEvent = {
    type: UserEventType.phoneCodeAdded,
    data: { generatorId: SERVICE, expiry: ONE_HOUR_NS },
  };
  const externalSent: UserEvent = {
    type: UserEventType.phoneCodeSent,
    data: { generatorInfo: { id: SERVICE, verificationId: VERIFICATION } },
  };
  /** humanAdded(1), phoneChanged(2), an external code.added(3). */
  const withExternalCode = (): UserEvent[] => [humanAdded, phoneChanged(), externalCodeAdded];
  const verifyWith = (code: string, externalVerdict?: "approved" | "rejected"): UserCommand => ({
    type: "VerifyPhone",
    code,
    externalVerdict,
  });

  it("SetPhone and Resend record the generator instead of a code", () => {
    given([humanAdded]).when(set("+41 79 123 45 67"), external).then([phoneChanged(), externalCodeAdded]);
    given(withExternalCode()).when(resend, external).then([externalCodeAdded]);
  });

  it("the state knows the service, and the verification id once code.sent recorded it", () => {
    expect(given(withExternalCode()).state.pendingCode).toMatchObject({
      encrypted: null,
      generatorId: SERVICE,
      verificationId: "",
      sent: false,
    });
    expect(given([...withExternalCode(), externalSent]).state.pendingCode).toMatchObject({
      generatorId: SERVICE,
      verificationId: VERIFICATION,
      sent: true,
    });
    given(withExternalCode())
      .when({
        type: "MarkPhoneCodeSent",
        codeSequence: 3,
        generatorInfo: { id: SERVICE, verificationId: VERIFICATION },
      })
      .then([externalSent]);
  });

  it("externalCodeCheck says what to ask, by verification id once known, else by number", () => {
    const before = replay(toEnvelopes(withExternalCode()));
    expect(externalCodeCheck(verify("123456"), before, makeEnv())).toEqual({
      generatorId: SERVICE,
      verificationId: "",
      phone: PHONE,
      code: "123456",
      codeSequence: 3,
    });
    const after = replay(toEnvelopes([...withExternalCode(), externalSent]));
    expect(externalCodeCheck(verify("123456"), after, makeEnv())?.verificationId).toBe(VERIFICATION);
  });

  it.each<[string, UserEvent[], UserCommand]>([
    ["a code myphone made", withPendingCode(), verify(CODE)],
    ["no pending code", [humanAdded, phoneChanged()], verify("123456")],
    ["a verified phone", [...withExternalCode(), phoneVerified], verify("123456")],
    [
      "a code that failed too often",
      [...withExternalCode(), ...failures(DEFAULT_CODE_POLICY.maxAttempts)],
      verify("123456"),
    ],
    ["an empty code", withExternalCode(), verify("")],
    ["another command", withExternalCode(), resend],
    ["a machine user", [machineAdded], verify("123456")],
  ])("externalCodeCheck asks nothing for %s", (_label, history, command) => {
    expect(externalCodeCheck(command, replay(toEnvelopes(history)), makeEnv())).toBeUndefined();
  });

  it("an approved code verifies the phone, even past myphone's own expiry (the service decides)", () => {
    given(withExternalCode()).when(verifyWith("123456", "approved")).then([phoneVerified]);
    given(withExternalCode())
      .when(verifyWith("123456", "approved"), { now: new Date(eventTime(3).getTime() + 2 * ONE_HOUR_MS) })
      .then([phoneVerified]);
  });

  it("a rejected code, or one nobody asked the service about, is recorded as failed and answers COMMAND-sM0cs", () => {
    for (const verdict of ["rejected", undefined] as const) {
      given(withExternalCode())
        .when(verifyWith("123456", verdict))
        .thenFails("COMMAND-sM0cs", "InvalidArgument", { events: [verificationFailed] });
    }
  });

  it("the attempt limit still applies: a spent code is refused without asking", () => {
    given([...withExternalCode(), ...failures(DEFAULT_CODE_POLICY.maxAttempts)])
      .when(verifyWith("123456", "approved"))
      .thenFails("MYPHONE-CoAtt", "FailedPrecondition", { events: [] });
  });
});

// ---------------------------------------------------------------------------------------------- validateCommand

describe("validateCommand", () => {
  it.each<[string, UserCommand, string | undefined]>([
    ["SetPhone empty", set(""), "MYPHONE-PhLen"],
    ["SetPhone 1 char", set("1"), undefined],
    ["SetPhone 50 chars", set("1".repeat(50)), undefined],
    ["SetPhone 51 chars", set("1".repeat(51)), "MYPHONE-PhLen"],
    ["SetPhone 50 multi-byte chars", set(FULLWIDTH_PHONE_50), undefined],
    ["SetPhone 51 multi-byte chars", set(FULLWIDTH_PHONE_50 + "😀"), "MYPHONE-PhLen"],
    ["VerifyPhone empty", verify(""), "MYPHONE-CoLen"],
    ["VerifyPhone 1 char", verify("A"), undefined],
    ["VerifyPhone 200 chars", verify("A".repeat(200)), undefined],
    ["VerifyPhone 201 chars", verify("A".repeat(201)), "MYPHONE-CoLen"],
    ["AddHumanUser", { type: "AddHumanUser", userName: "" }, undefined],
    ["AddMachineUser", { type: "AddMachineUser", userName: "" }, undefined],
    ["ResendPhoneCode", resend, undefined],
    ["RemovePhone", remove, undefined],
    ["MarkPhoneCodeSent", markSent(0), undefined],
  ])("%s", (_label, command, expectedId) => {
    const error = validateCommand(command);
    if (expectedId === undefined) {
      expect(error).toBeUndefined();
    } else {
      expect(error).toBeInstanceOf(DomainError);
      expect(error?.id).toBe(expectedId);
      expect(error?.kind).toBe("InvalidArgument");
    }
  });
});

// ---------------------------------------------------------------------------------------------- readPhone

describe("readPhone", () => {
  function readError(state: UserState): DomainError {
    try {
      readPhone(state);
    } catch (error) {
      if (error instanceof DomainError) return error;
      throw error;
    }
    throw new Error("readPhone did not throw");
  }

  it("refuses a machine user with QUERY-hliQl", () => {
    const error = readError(given([machineAdded]).state);
    expect({ id: error.id, kind: error.kind, message: error.message }).toEqual({
      id: "QUERY-hliQl",
      kind: "FailedPrecondition",
      message: "The User must be personal",
    });
  });

  it.each([
    ["no user", [] as UserEvent[]],
    ["a removed user", [...withPendingCode(), phoneVerified, userRemoved]],
  ])("refuses %s with QUERY-DAvb3", (_label, history) => {
    const error = readError(given(history).state);
    expect({ id: error.id, kind: error.kind, message: error.message }).toEqual({
      id: "QUERY-DAvb3",
      kind: "NotFound",
      message: "User could not be found",
    });
  });

  it.each<[string, UserEvent[], { phone: string; verified: boolean }]>([
    ["a human without phone", [humanAdded], { phone: "", verified: false }],
    ["an unverified phone", withPendingCode(), { phone: PHONE, verified: false }],
    ["a verified phone", [...withPendingCode(), phoneVerified], { phone: PHONE, verified: true }],
    ["a removed phone", [...withPendingCode(), phoneVerified, phoneRemoved], { phone: "", verified: false }],
    [
      "a new number after a verified one",
      [...withPendingCode(), phoneVerified, phoneChanged(OTHER_PHONE)],
      { phone: OTHER_PHONE, verified: false },
    ],
    ["failed attempts do not verify", [...withPendingCode(), ...failures(2)], { phone: PHONE, verified: false }],
  ])("answers %s", (_label, history, expected) => {
    expect(readPhone(given(history).state)).toStrictEqual(expected);
  });
});

// ---------------------------------------------------------------------------------------------- evolve

describe("evolve", () => {
  it("starts from an empty state", () => {
    expect(initialState()).toEqual({
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
    });
    expect(replay([])).toEqual(initialState());
  });

  it("remembers the times of the last MAX_REMEMBERED_SENDS codes, dropping the oldest, and never changes an earlier state", () => {
    const extra = 5;
    const history = toEnvelopes([
      humanAdded,
      phoneChanged(),
      ...Array.from({ length: MAX_REMEMBERED_SENDS + extra }, () => codeAdded()),
    ]);
    const before = replay(history.slice(0, -1));
    const beforeTimes = [...before.codesIssuedAt];
    const after = evolve(before, history.at(-1)!);
    expect(before.codesIssuedAt).toEqual(beforeTimes);
    expect(after.codesIssuedAt).toHaveLength(MAX_REMEMBERED_SENDS);
    // Events 1 and 2 are the user and the phone; codes start at sequence 3, and the first `extra` are forgotten.
    expect(after.codesIssuedAt[0]).toBe(eventTime(3 + extra).getTime());
    expect(after.codesIssuedAt.at(-1)).toBe(eventTime(history.length).getTime());
    expect(after.codesIssuedAt).toEqual(replay(history).codesIssuedAt);
  });

  it("takes owner, sequence, createdAt (first event) and changedAt (last event) from the stream", () => {
    const state = given([humanAdded, phoneChanged(), codeAdded(), verificationFailed]).state;
    expect(state.owner).toBe(OWNER);
    expect(state.sequence).toBe(4);
    expect(state.createdAt).toEqual(eventTime(1));
    expect(state.changedAt).toEqual(eventTime(4));
    expect(state.createdAt).not.toEqual(state.changedAt);
  });

  it("keeps the owner of the first event", () => {
    const [first, second] = toEnvelopes([humanAdded, phoneChanged()]);
    const state = replay([first!, { ...second!, owner: "org2" }]);
    expect(state.owner).toBe(OWNER);
  });

  it("folds user.human.added", () => {
    const state = given([
      { type: UserEventType.humanAdded, data: { userName: "alice", preferredLanguage: "de", displayName: "Alice" } },
    ]).state;
    expect(state).toEqual({
      ...initialState(),
      kind: "human",
      owner: OWNER,
      userName: "alice",
      preferredLanguage: "de",
      displayName: "Alice",
      sequence: 1,
      createdAt: eventTime(1),
      changedAt: eventTime(1),
    });
  });

  it("folds user.machine.added", () => {
    const state = given([machineAdded]).state;
    expect({ kind: state.kind, userName: state.userName }).toEqual({ kind: "machine", userName: "robot" });
  });

  it("folds code.added into a pending code that expires expiry nanoseconds after its creation", () => {
    const history = given(withPendingCode()).history;
    const state = replay(history);
    const stored = history[2]!.data as { code: EncryptedCode };
    expect(state.pendingCode).toEqual({
      encrypted: stored.code,
      generatorId: "",
      verificationId: "",
      createdAt: eventTime(3),
      expiresAt: new Date(eventTime(3).getTime() + ONE_HOUR_MS),
      sequence: 3,
      failedAttempts: 0,
      sent: false,
    });
    expect(decryptCode(state.pendingCode!.encrypted!)).toBe(CODE);
  });

  it("counts verification.failed on the pending code", () => {
    expect(given([...withPendingCode(), ...failures(3)]).state.pendingCode?.failedAttempts).toBe(3);
  });

  it("verification.failed without a pending code only advances the sequence", () => {
    const before = given([humanAdded, phoneChanged()]).state;
    const after = given([humanAdded, phoneChanged(), verificationFailed]).state;
    expect(after).toEqual({ ...before, sequence: 3, changedAt: eventTime(3) });
  });

  it("phone.changed resets verification and the pending code", () => {
    const state = given([...withPendingCode(), phoneVerified, codeAdded(), phoneChanged(OTHER_PHONE)]).state;
    expect({ phone: state.phone, verified: state.phoneVerified, pending: state.pendingCode }).toEqual({
      phone: OTHER_PHONE,
      verified: false,
      pending: null,
    });
  });

  it("phone.verified sets the flag and drops the pending code", () => {
    const state = given([...withPendingCode(), phoneVerified]).state;
    expect({ verified: state.phoneVerified, pending: state.pendingCode }).toEqual({ verified: true, pending: null });
  });

  it("phone.removed clears number, flag and pending code", () => {
    const state = given([...withPendingCode(), phoneVerified, codeAdded(), phoneRemoved]).state;
    expect({ phone: state.phone, verified: state.phoneVerified, pending: state.pendingCode }).toEqual({
      phone: "",
      verified: false,
      pending: null,
    });
  });

  it("user.removed marks the user removed and clears the phone", () => {
    const state = given([...withPendingCode(), phoneVerified, userRemoved]).state;
    expect({ kind: state.kind, phone: state.phone, verified: state.phoneVerified, pending: state.pendingCode }).toEqual(
      { kind: "removed", phone: "", verified: false, pending: null },
    );
  });

  it("code.sent marks the pending code as sent and changes nothing else but the sequence", () => {
    const before = given(withPendingCode()).state;
    const after = evolve(before, toEnvelopes([codeSent], 3)[0]!);
    expect(after).toEqual({
      ...before,
      pendingCode: { ...before.pendingCode!, sent: true },
      sequence: 4,
      changedAt: eventTime(4),
    });
  });

  it("does not mutate the state it is given", () => {
    const before = given(withPendingCode()).state;
    const snapshot = structuredClone(before);
    evolve(before, toEnvelopes([verificationFailed], 3)[0]!);
    expect(before).toEqual(snapshot);
  });
});

// ---------------------------------------------------------------------------------------------- decide is pure

describe("decide", () => {
  it("does not depend on wall-clock time: the same input gives the same events", () => {
    const state = given([humanAdded]).state;
    const a = decide(set("079 123 45 67"), state, makeEnv());
    const b = decide(set("079 123 45 67"), state, makeEnv());
    expect(a).toEqual(b);
    expect(NOW.toISOString()).toBe("2024-05-01T10:30:00.000Z");
  });
});
