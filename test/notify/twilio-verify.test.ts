import { TwilioVerifyProvider } from "../../src/notify/twilio-verify-provider.js";
import { USER_AGGREGATE, UserEventType } from "../../src/domain/user-events.js";
import { ALL_CLIENTS, closeAllClients } from "../support/clients.js";
import { caught } from "../support/wire-assertions.js";
import {
  HANG,
  jobKey,
  newTwilioCredentials,
  newVerifyServiceSid,
  startFakeTwilioVerify,
  status,
  twilioError,
  type FakeTwilioVerifyServer,
} from "../support/fake-sms-servers.js";
import { startTestServer, type TestServer } from "../support/test-server.js";
import { FAST_RETRIES, addUser, deadJob, outboxSettled, resendCode, setPhone, swissMobile } from "./notify-kit.js";

/**
 * Issue 20, item 6: MYPHONE_SMS_PROVIDER=twilio-verify, against a fake Twilio Verify API on loopback that follows
 * Twilio's documented requests and answers. SetMyPhone and Resend start a verification through the outbox worker and
 * store no code; VerifyMyPhone asks Twilio's VerificationCheck; a wrong code is recorded and answers COMMAND-sM0cs;
 * Twilio unreachable answers Unavailable MYPHONE-CoUna and records nothing; the abuse limits still apply.
 */

const VERIFY_CLIENTS = ["grpc-js", "connect-web grpc-web fetch", "connect-node connect json h1", "curl REST"].map(
  (name) => ALL_CLIENTS.find((client) => client.name === name)!,
);

let fake: FakeTwilioVerifyServer;
let server: TestServer;
let serviceSid: string;
let env: Record<string, string>;

async function startBoth(extra: Record<string, string> = {}): Promise<void> {
  const { accountSid, authToken } = newTwilioCredentials();
  serviceSid = newVerifyServiceSid();
  fake = await startFakeTwilioVerify({ accountSid, authToken, serviceSid });
  env = {
    ...FAST_RETRIES,
    MYPHONE_SMS_PROVIDER: "twilio-verify",
    MYPHONE_TWILIO_ACCOUNT_SID: accountSid,
    MYPHONE_TWILIO_AUTH_TOKEN: authToken,
    MYPHONE_TWILIO_VERIFY_SERVICE_SID: serviceSid,
    MYPHONE_TWILIO_VERIFY_BASE_URL: fake.url,
    ...extra,
  };
  server = await startTestServer(env);
}

afterEach(async () => {
  await server?.stop();
  await fake?.close();
});

afterAll(() => closeAllClients());

/** The user's events, type and payload. */
async function stream(userId: string) {
  return (await server.store.readStream(USER_AGGREGATE, userId)).map((event) => ({
    type: event.type,
    data: event.data,
  }));
}

/** SetMyPhone, then wait until Twilio started the verification and code.sent is recorded; resolves with the code Twilio sent. */
async function setAndReceive(token: string, phone: string): Promise<string> {
  await setPhone(server, token, phone);
  await fake.waitFor(() => fake.codeFor(phone) !== undefined);
  await outboxSettled(server.store);
  return fake.codeFor(phone)!;
}

/** A new user with the phone swissMobile(`n`) set; with the code Twilio sent it. */
async function userWithCode(n: number) {
  const user = await addUser(server);
  const phone = swissMobile(n);
  return { user, phone, code: await setAndReceive(user.token, phone) };
}

/** A code that is not `code`. */
const wrongCode = (code: string) => (code === "111111" ? "222222" : "111111");

describe("twilio-verify", () => {
  beforeEach(() => startBoth());

  test("SetMyPhone starts a verification through the worker; the events name the service and keep no code", async () => {
    const { user, phone } = await userWithCode(900);

    const [start] = fake.requests;
    expect(start).toMatchObject({ route: "Verifications", form: { To: phone, Channel: "sms" }, answered: 201 });
    expect(start!.headers["i-twilio-idempotency-token"]).toBe(jobKey(user.userId, 3));
    const verification = fake.verifications[0]!;
    expect(await stream(user.userId)).toEqual([
      { type: UserEventType.humanAdded, data: expect.any(Object) },
      { type: UserEventType.phoneChanged, data: { phone } },
      { type: UserEventType.phoneCodeAdded, data: { generatorId: serviceSid, expiry: 3_600_000_000_000 } },
      {
        type: UserEventType.phoneCodeSent,
        data: { generatorInfo: { id: serviceSid, verificationId: verification.sid } },
      },
    ]);
    expect(fake.rejected).toEqual([]);
  });

  test.each(VERIFY_CLIENTS)(
    "VerifyMyPhone over $name: wrong code recorded as failed (COMMAND-sM0cs), the right one verifies",
    async (client) => {
      const { user, phone, code } = await userWithCode(901);
      const api = client.create(server.url, user.token);

      const wrong = await caught(api.verify(wrongCode(code)));
      expect({ code: wrong.code, message: wrong.message, detailId: wrong.detailId }).toEqual({
        code: 3,
        message: "Code is invalid (COMMAND-sM0cs)",
        detailId: "COMMAND-sM0cs",
      });
      expect((await stream(user.userId)).at(-1)!.type).toBe(UserEventType.phoneVerificationFailed);

      await api.verify(code);
      expect((await stream(user.userId)).at(-1)!.type).toBe(UserEventType.phoneVerified);
      expect(await api.get()).toMatchObject({ phone: { phone, isPhoneVerified: true } });
      // Both checks went to Twilio by the verification's sid, with the code the user typed.
      const checks = fake.requests.filter((request) => request.route === "VerificationCheck");
      expect(checks.map((request) => request.form)).toEqual([
        { Code: expect.any(String), VerificationSid: fake.verifications[0]!.sid },
        { Code: code, VerificationSid: fake.verifications[0]!.sid },
      ]);
    },
  );

  test.each(VERIFY_CLIENTS)(
    "v2 UserService VerifyPhone over $name asks Twilio too, with v2's id for a wrong code (COMMAND-eis9R)",
    async (client) => {
      const { user, code } = await userWithCode(906);
      const v2 = client.createV2(server.url, user.token);
      const wrong = await caught(v2.verifyPhone({ userId: user.userId, verificationCode: wrongCode(code) }));
      expect({ code: wrong.code, detailId: wrong.detailId }).toEqual({ code: 3, detailId: "COMMAND-eis9R" });
      await v2.verifyPhone({ userId: user.userId, verificationCode: code });
      expect((await stream(user.userId)).slice(-2).map((event) => event.type)).toEqual([
        UserEventType.phoneVerificationFailed,
        UserEventType.phoneVerified,
      ]);
      expect(
        fake.requests.filter((request) => request.route === "VerificationCheck").map((request) => request.form.Code),
      ).toEqual([expect.any(String), code]);
    },
  );

  test("an expired verification (Twilio: 404 / 20404) is a wrong code: recorded, COMMAND-sM0cs", async () => {
    const { user, phone, code } = await userWithCode(902);
    fake.expire(phone);
    const error = await caught(VERIFY_CLIENTS[0]!.create(server.url, user.token).verify(code));
    expect(error.detailId).toBe("COMMAND-sM0cs");
    expect(fake.requests.at(-1)!.answered).toBe(404);
    expect((await stream(user.userId)).at(-1)!.type).toBe(UserEventType.phoneVerificationFailed);
  });

  test.each(VERIFY_CLIENTS)(
    "Twilio unreachable, failing or silent: Unavailable MYPHONE-CoUna over $name, nothing recorded",
    async (client) => {
      const { user, code } = await userWithCode(903);
      const before = await stream(user.userId);
      const api = client.create(server.url, user.token);
      const unavailable = {
        code: 14,
        message: "Code cannot be checked now (verification service unreachable) (MYPHONE-CoUna)",
        detailId: "MYPHONE-CoUna",
      };

      fake.interrupt(
        "VerificationCheck",
        twilioError(500, 20500, "Internal Server Error"),
        HANG,
        twilioError(401, 20003, "Authenticate"),
      );
      for (let i = 0; i < 3; i++) {
        const error = await caught(api.verify(code));
        expect({ code: error.code, message: error.message, detailId: error.detailId }).toEqual(unavailable);
        if (client.kind === "curl-rest") expect(error.httpStatus).toBe(503);
      }
      await fake.setDown(true);
      expect((await caught(api.verify(code))).detailId).toBe("MYPHONE-CoUna");
      expect(await stream(user.userId)).toEqual(before);

      await fake.setDown(false);
      await api.verify(code);
      expect((await stream(user.userId)).at(-1)!.type).toBe(UserEventType.phoneVerified);
    },
  );

  test("Resend starts a verification again (Twilio re-sends the pending code) and records a new code event", async () => {
    const { user, code } = await userWithCode(904);
    await resendCode(server, user.token);
    await fake.waitFor(() => fake.requests.filter((request) => request.route === "Verifications").length === 2);
    await outboxSettled(server.store);
    expect(fake.verifications).toHaveLength(1);
    expect(fake.verifications[0]!.sends).toBe(2);
    const events = await stream(user.userId);
    expect(events.filter((event) => event.type === UserEventType.phoneCodeAdded)).toHaveLength(2);
    expect(events.at(-1)).toEqual({
      type: UserEventType.phoneCodeSent,
      data: { generatorInfo: { id: serviceSid, verificationId: fake.verifications[0]!.sid } },
    });
    await VERIFY_CLIENTS[0]!.create(server.url, user.token).verify(code);
  });

  test("starting: Twilio's 'never' answers (60203 max sends, 60410 fraud block, 60200 bad number) kill the job; 429 / 20429 and 5xx are retried", async () => {
    const cases = [
      { phone: swissMobile(910), answers: [twilioError(429, 60203, "Max send attempts reached")], dead: true },
      {
        phone: swissMobile(911),
        answers: [twilioError(403, 60410, "Verification delivery attempt blocked")],
        dead: true,
      },
      { phone: swissMobile(912), answers: [twilioError(400, 60200, "Invalid parameter `To`")], dead: true },
      { phone: swissMobile(913), answers: [twilioError(429, 20429, "Too Many Requests"), status(503)], dead: false },
    ];
    for (const { phone, answers, dead } of cases) {
      fake.interrupt("Verifications", ...answers);
      const user = await addUser(server);
      const key = jobKey(user.userId, await setPhone(server, user.token, phone));
      await outboxSettled(server.store);
      expect({ phone, dead: (await deadJob(server.store, key)) !== undefined }).toEqual({ phone, dead });
      expect({ phone, started: fake.codeFor(phone) !== undefined }).toEqual({ phone, started: !dead });
    }
  });

  test("the provider asks by number while the verification's sid is not known yet", async () => {
    const { phone, code } = await userWithCode(905);
    const provider = new TwilioVerifyProvider({
      accountSid: env.MYPHONE_TWILIO_ACCOUNT_SID!,
      authToken: env.MYPHONE_TWILIO_AUTH_TOKEN!,
      serviceSid,
      baseUrl: fake.url,
      timeoutMs: 2000,
    });
    const check = { generatorId: serviceSid, verificationId: "", phone, codeSequence: 3 };
    expect(await provider.check({ ...check, code: "000000" === code ? "999999" : "000000" })).toBe("rejected");
    expect(await provider.check({ ...check, code })).toBe("approved");
    expect(
      fake.requests.filter((request) => request.route === "VerificationCheck").map((request) => request.form),
    ).toEqual([
      { Code: expect.any(String), To: phone },
      { Code: code, To: phone },
    ]);
    // Approved is spent: Twilio answers 404 now, a wrong code.
    expect(await provider.check({ ...check, code })).toBe("rejected");
  });
});

describe("twilio-verify with abuse limits on", () => {
  beforeEach(() => startBoth({ MYPHONE_ABUSE_LIMITS: "on", MYPHONE_CODE_MAX_ATTEMPTS: "3" }));

  test("the resend cooldown refuses before Twilio is asked; the attempt limit stops asking Twilio", async () => {
    const { user, code } = await userWithCode(920);
    const api = VERIFY_CLIENTS[3]!.create(server.url, user.token);

    const cooldown = await caught(api.resend());
    expect({ code: cooldown.code, detailId: cooldown.detailId, httpStatus: cooldown.httpStatus }).toEqual({
      code: 8,
      detailId: "MYPHONE-SnCdn",
      httpStatus: 429,
    });
    expect(fake.requests.filter((request) => request.route === "Verifications")).toHaveLength(1);

    for (let i = 0; i < 3; i++) expect((await caught(api.verify("000001"))).detailId).toBe("COMMAND-sM0cs");
    const blocked = await caught(api.verify(code));
    expect({ code: blocked.code, detailId: blocked.detailId }).toEqual({ code: 9, detailId: "MYPHONE-CoAtt" });
    expect(fake.requests.filter((request) => request.route === "VerificationCheck")).toHaveLength(3);
  });
});
