import { RetryInfoSchema } from "../../gen/google/rpc/error_details_pb.js";
import { USER_AGGREGATE, UserEventType } from "../../src/domain/user-events.js";
import { ALL_CLIENTS, ApiError, closeAllClients, prepareBufSchema } from "../support/clients.js";
import { codeFromSms, startTestServer, type TestServer, type TestUser } from "../support/test-server.js";
import { closeGrpcClients, grpcCall, resend, rest, restRefusal, setPhone, transcript, verify } from "./wire.js";

/**
 * The abuse limits end to end (issue 5, acceptance 1 and 4; SPEC section 5), through real clients against real
 * servers: failed attempts per code, the resend cooldown with RetryInfo and Retry-After, per-user, per-number and
 * per-address caps, country lists, a log line for every refusal, and never a code or token in an answer or a log.
 */

/** Servers with different limits; every one has the limits on (the test helper's default is off). */
let defaults: TestServer; // the shipped defaults: 60 s cooldown, 5 attempts, default caps
let tight: TestServer; // no cooldown; 2 codes per user and per number per hour
let behindProxy: TestServer; // 3 codes per address per hour; the loopback proxy is trusted
let noProxy: TestServer; // 2 codes per address per hour; no trusted proxy
let countries: TestServer; // codes only to CH and DE, never to DE
const servers = () => [defaults, tight, behindProxy, noProxy, countries];

/** Every token minted and code sent in this file, for the leak checks at the end. */
const tokens: string[] = [];
const codes: string[] = [];

beforeAll(async () => {
  // Letters only, so that a code cannot turn up by chance inside an id or a timestamp in the leak checks.
  const on = { MYPHONE_ABUSE_LIMITS: "on", MYPHONE_CODE_ALPHABET: "ABCDEFGHJKLMNPQRSTUVWXYZ" };
  [defaults, tight, behindProxy, noProxy, countries] = await Promise.all([
    startTestServer(on),
    startTestServer({
      ...on,
      MYPHONE_RESEND_COOLDOWN: "0",
      MYPHONE_SENDS_PER_USER: "2/1h",
      MYPHONE_SENDS_PER_NUMBER: "2/1h",
    }),
    startTestServer({
      ...on,
      MYPHONE_RESEND_COOLDOWN: "0",
      MYPHONE_SENDS_PER_IP: "3/1h",
      MYPHONE_TRUSTED_PROXIES: "127.0.0.1",
    }),
    startTestServer({ ...on, MYPHONE_RESEND_COOLDOWN: "0", MYPHONE_SENDS_PER_IP: "2/1h" }),
    startTestServer({ ...on, MYPHONE_PHONE_COUNTRIES_ALLOW: "CH,DE", MYPHONE_PHONE_COUNTRIES_DENY: "DE" }),
    prepareBufSchema(),
  ]);
}, 60_000);

afterAll(async () => {
  closeAllClients();
  closeGrpcClients();
  await Promise.all(servers().map((server) => server?.stop()));
});

let phoneCounter = 0;
/** A fresh, possible Swiss mobile number. */
const freshPhone = () => `+4179${6_000_000 + ++phoneCounter}`;

async function newUser(server: TestServer): Promise<TestUser> {
  const user = await server.addUser();
  tokens.push(user.token);
  return user;
}

/** The code of the next SMS to `phone` logged after line `from`. */
async function smsCode(server: TestServer, phone: string, from: number): Promise<string> {
  const code = codeFromSms(await server.waitForSms(phone, from));
  codes.push(code);
  return code;
}

/** Asserts the server logged the refusal at warn level, naming the limit and the user. */
function expectRefusalLogged(server: TestServer, limit: string, userId: string, count = 1): void {
  const lines = server.logs.filter(
    (line) => line.msg === "abuse limit refused a request" && line.limit === limit && line.userId === userId,
  );
  expect(lines).toHaveLength(count);
  for (const line of lines) expect(line.level).toBe(40);
}

/** The RetryInfo a cooldown refusal should carry: seconds from the answer's time range to the code's age of 60 s. */
async function expectedCooldownRange(
  server: TestServer,
  userId: string,
  before: number,
  after: number,
): Promise<[number, number]> {
  const stream = await server.store.readStream(USER_AGGREGATE, userId);
  const issued = stream
    .filter((event) => event.type === UserEventType.phoneCodeAdded)
    .at(-1)!
    .createdAt.getTime();
  return [Math.ceil((issued + 60_000 - after) / 1000), Math.ceil((issued + 60_000 - before) / 1000)];
}

describe("failed attempts per code", () => {
  test("the 6th wrong code is refused even when it is the right one, until a new code is sent", async () => {
    const user = await newUser(tight);
    const phone = freshPhone();
    let from = tight.logs.length;
    expect((await setPhone(tight.url, user.token, phone)).status).toBe(200);
    const code = await smsCode(tight, phone, from);
    const wrong = code === "AAAAAA" ? "BBBBBB" : "AAAAAA";

    for (let attempt = 1; attempt <= 5; attempt++) {
      const answer = await verify(tight.url, user.token, wrong);
      expect({ status: answer.status, message: answer.json.message }).toEqual({
        status: 400,
        message: "Code is invalid (COMMAND-sM0cs)",
      });
    }
    const right = await verify(tight.url, user.token, code);
    expect(right.status).toBe(400);
    expect(right.json.message).toBe(
      "Code is blocked after too many failed attempts (request a new code) (MYPHONE-CoAtt)",
    );
    const overGrpc = await grpcCall(tight.url, "VerifyMyPhone", user.token, { code });
    expect(overGrpc).toMatchObject({ ok: false, code: 9, errorDetail: { id: "MYPHONE-CoAtt" } });
    expectRefusalLogged(tight, "code_attempts", user.userId, 2);

    from = tight.logs.length;
    expect((await resend(tight.url, user.token)).status).toBe(200);
    const fresh = await smsCode(tight, phone, from);
    if (fresh !== code)
      expect((await verify(tight.url, user.token, code)).json.message).toBe("Code is invalid (COMMAND-sM0cs)");
    expect((await verify(tight.url, user.token, fresh)).status).toBe(200);
  });
});

describe("resend cooldown", () => {
  test("a resend inside the cooldown gets ResourceExhausted on every client, with id MYPHONE-SnCdn", async () => {
    for (const factory of ALL_CLIENTS) {
      const user = await newUser(defaults);
      const api = factory.create(defaults.url, user.token);
      await api.set(freshPhone());
      const error = await api.resend().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(ApiError);
      const refusal = error as ApiError;
      expect({ client: factory.name, code: refusal.code, id: refusal.detailId, message: refusal.message }).toEqual({
        client: factory.name,
        code: 8,
        id: "MYPHONE-SnCdn",
        message: "A code was sent moments ago (wait before requesting another) (MYPHONE-SnCdn)",
      });
      if (refusal.httpStatus !== undefined) expect(refusal.httpStatus).toBe(429);
      if (factory.kind === "connect-node" || factory.kind === "connect-web") {
        const retry = (
          refusal.raw as { findDetails: (schema: typeof RetryInfoSchema) => { retryDelay?: { seconds: bigint } }[] }
        ).findDetails(RetryInfoSchema)[0];
        expect(Number(retry?.retryDelay?.seconds)).toBeGreaterThan(0);
        expect(Number(retry?.retryDelay?.seconds)).toBeLessThanOrEqual(60);
      }
      expectRefusalLogged(defaults, "resend_cooldown", user.userId);
    }
  }, 120_000);

  test("REST answers 429 with Retry-After equal to the RetryInfo delay, the time left of the 60 s cooldown", async () => {
    const user = await newUser(defaults);
    expect((await setPhone(defaults.url, user.token, freshPhone())).status).toBe(200);
    const before = Date.now();
    const answer = await resend(defaults.url, user.token);
    const after = Date.now();
    expect(answer.status).toBe(429);
    const refusal = restRefusal(answer);
    expect(refusal).toEqual({ code: 8, id: "MYPHONE-SnCdn", retryDelay: `${answer.retryAfter}s` });
    const [low, high] = await expectedCooldownRange(defaults, user.userId, before, after);
    expect(Number(answer.retryAfter)).toBeGreaterThanOrEqual(low);
    expect(Number(answer.retryAfter)).toBeLessThanOrEqual(high);
  });

  test("grpc-js decodes RetryInfo from grpc-status-details-bin, with the time left of the cooldown", async () => {
    const user = await newUser(defaults);
    expect(await grpcCall(defaults.url, "SetMyPhone", user.token, { phone: freshPhone() })).toMatchObject({ ok: true });
    const before = Date.now();
    const refusal = await grpcCall(defaults.url, "ResendMyPhoneVerification", user.token, {});
    const after = Date.now();
    expect(refusal).toMatchObject({
      ok: false,
      code: 8,
      message: "A code was sent moments ago (wait before requesting another) (MYPHONE-SnCdn)",
      errorDetail: { id: "MYPHONE-SnCdn", message: "A code was sent moments ago (wait before requesting another)" },
    });
    const [low, high] = await expectedCooldownRange(defaults, user.userId, before, after);
    const delay = (refusal as { retryDelaySeconds?: number }).retryDelaySeconds;
    expect(delay).toBeGreaterThanOrEqual(low);
    expect(delay).toBeLessThanOrEqual(high);
  });

  test("SetMyPhone with another number is a code send too, and is refused inside the cooldown", async () => {
    const user = await newUser(defaults);
    const first = freshPhone();
    expect((await setPhone(defaults.url, user.token, first)).status).toBe(200);
    const again = await setPhone(defaults.url, user.token, freshPhone());
    expect({ status: again.status, id: restRefusal(again).id }).toEqual({ status: 429, id: "MYPHONE-SnCdn" });
    expect(Number(again.retryAfter)).toBeGreaterThan(0);
    // The refused number was not set: the user still has the first one.
    expect((await rest(defaults.url, "GET", "/auth/v1/users/me/phone", user.token)).json.phone).toEqual({
      phone: first,
    });
  });

  test("'not changed' is answered before the cooldown (SPEC 3: abuse checks come after it)", async () => {
    const user = await newUser(defaults);
    const phone = freshPhone();
    expect((await setPhone(defaults.url, user.token, phone)).status).toBe(200);
    const same = await setPhone(defaults.url, user.token, phone);
    expect({ status: same.status, id: restRefusal(same).id }).toEqual({ status: 400, id: "COMMAND-wF94r" });
  });
});

describe("send caps", () => {
  test("per user: the third code in an hour is refused with MYPHONE-SnUsr", async () => {
    const user = await newUser(tight);
    expect((await setPhone(tight.url, user.token, freshPhone())).status).toBe(200);
    expect((await resend(tight.url, user.token)).status).toBe(200);
    const third = await resend(tight.url, user.token);
    expect({ status: third.status, ...restRefusal(third) }).toMatchObject({
      status: 429,
      code: 8,
      id: "MYPHONE-SnUsr",
    });
    expect(Number(third.retryAfter)).toBeGreaterThan(3500);
    expect(Number(third.retryAfter)).toBeLessThanOrEqual(3600);
    expectRefusalLogged(tight, "sends_per_user", user.userId);
  });

  test("per number: two users targeting the same number share its cap", async () => {
    const [alice, bob, carol] = [await newUser(tight), await newUser(tight), await newUser(tight)];
    const target = freshPhone();
    expect((await setPhone(tight.url, alice.token, target)).status).toBe(200);
    expect((await grpcCall(tight.url, "SetMyPhone", bob.token, { phone: target })).ok).toBe(true);

    const third = await setPhone(tight.url, carol.token, target);
    expect({ status: third.status, ...restRefusal(third) }).toMatchObject({
      status: 429,
      code: 8,
      id: "MYPHONE-SnNum",
    });
    expect(Number(third.retryAfter)).toBeGreaterThan(3500);
    const overGrpc = await grpcCall(tight.url, "ResendMyPhoneVerification", alice.token, {});
    expect(overGrpc).toMatchObject({ ok: false, code: 8, errorDetail: { id: "MYPHONE-SnNum" } });
    expect((overGrpc as { retryDelaySeconds: number }).retryDelaySeconds).toBeGreaterThan(3500);
    expectRefusalLogged(tight, "sends_per_number", carol.userId);
    expectRefusalLogged(tight, "sends_per_number", alice.userId);

    // The refused SetMyPhone changed nothing; another number is fine.
    expect((await rest(tight.url, "GET", "/auth/v1/users/me/phone", carol.token)).json.phone).toEqual({});
    expect((await setPhone(tight.url, carol.token, freshPhone())).status).toBe(200);
  });

  test("per address: behind a trusted proxy, X-Forwarded-For names the client, over REST and gRPC", async () => {
    const users = [
      await newUser(behindProxy),
      await newUser(behindProxy),
      await newUser(behindProxy),
      await newUser(behindProxy),
    ];
    const from = { "x-forwarded-for": "198.51.100.7" };
    expect((await setPhone(behindProxy.url, users[0]!.token, freshPhone(), from)).status).toBe(200);
    expect((await grpcCall(behindProxy.url, "SetMyPhone", users[1]!.token, { phone: freshPhone() }, from)).ok).toBe(
      true,
    );
    expect((await setPhone(behindProxy.url, users[2]!.token, freshPhone(), from)).status).toBe(200);

    const fourth = await setPhone(behindProxy.url, users[3]!.token, freshPhone(), from);
    expect({ status: fourth.status, ...restRefusal(fourth) }).toMatchObject({
      status: 429,
      code: 8,
      id: "MYPHONE-SnAdr",
    });
    const fourthOverGrpc = await grpcCall(
      behindProxy.url,
      "SetMyPhone",
      users[3]!.token,
      { phone: freshPhone() },
      from,
    );
    expect(fourthOverGrpc).toMatchObject({ ok: false, code: 8, errorDetail: { id: "MYPHONE-SnAdr" } });
    const logged = behindProxy.logs.find(
      (line) => line.limit === "sends_per_address" && line.userId === users[3]!.userId,
    );
    expect(logged?.clientAddress).toBe("198.51.100.7");

    // Another client behind the same proxy has its own budget.
    expect(
      (await setPhone(behindProxy.url, users[3]!.token, freshPhone(), { "x-forwarded-for": "198.51.100.8" })).status,
    ).toBe(200);
  });

  test("per address: without trusted proxies X-Forwarded-For is ignored and the TCP peer is counted", async () => {
    const users = [await newUser(noProxy), await newUser(noProxy), await newUser(noProxy)];
    expect(
      (await setPhone(noProxy.url, users[0]!.token, freshPhone(), { "x-forwarded-for": "198.51.100.1" })).status,
    ).toBe(200);
    expect(
      (await setPhone(noProxy.url, users[1]!.token, freshPhone(), { "x-forwarded-for": "198.51.100.2" })).status,
    ).toBe(200);
    const third = await setPhone(noProxy.url, users[2]!.token, freshPhone(), { "x-forwarded-for": "198.51.100.3" });
    expect({ status: third.status, id: restRefusal(third).id }).toEqual({ status: 429, id: "MYPHONE-SnAdr" });
    const logged = noProxy.logs.find((line) => line.limit === "sends_per_address" && line.userId === users[2]!.userId);
    expect(logged?.clientAddress).toBe("127.0.0.1");
  });
});

describe("country lists", () => {
  test("allow list and deny list on the normalised number; refusals are InvalidArgument MYPHONE-PhCty, without RetryInfo", async () => {
    const user = await newUser(countries);
    expect((await setPhone(countries.url, user.token, "079 555 00 01")).status).toBe(200);
    const refused = [];
    for (const phone of ["+33 6 12 34 56 78", "+49 151 23456789"]) {
      const other = await newUser(countries);
      const answer = await setPhone(countries.url, other.token, phone);
      expect({ status: answer.status, retryAfter: answer.retryAfter, ...restRefusal(answer) }).toEqual({
        status: 400,
        retryAfter: null,
        code: 3,
        id: "MYPHONE-PhCty",
        retryDelay: undefined,
      });
      refused.push(other);
    }
    const overGrpc = await grpcCall(countries.url, "SetMyPhone", refused[0]!.token, { phone: "+33612345678" });
    expect(overGrpc).toMatchObject({
      ok: false,
      code: 3,
      errorDetail: { id: "MYPHONE-PhCty" },
      retryDelaySeconds: undefined,
    });
    expectRefusalLogged(countries, "country", refused[0]!.userId, 2);
    expectRefusalLogged(countries, "country", refused[1]!.userId);
  });
});

describe("MYPHONE_ABUSE_LIMITS=off", () => {
  test("turns every limit off: no cooldown, no caps, no country list, no attempt limit", async () => {
    const off = await startTestServer({
      MYPHONE_ABUSE_LIMITS: "off",
      MYPHONE_SENDS_PER_NUMBER: "1/1h",
      MYPHONE_SENDS_PER_IP: "1/1h",
      MYPHONE_PHONE_COUNTRIES_DENY: "CH",
    });
    try {
      const [alice, bob] = [await off.addUser(), await off.addUser()];
      tokens.push(alice.token, bob.token);
      const target = freshPhone();
      expect((await setPhone(off.url, alice.token, target)).status).toBe(200);
      expect((await setPhone(off.url, bob.token, target)).status).toBe(200);
      for (let i = 0; i < 3; i++) expect((await resend(off.url, alice.token)).status).toBe(200);
      for (let i = 0; i < 7; i++)
        expect((await verify(off.url, alice.token, "WRONG1")).json.message).toBe("Code is invalid (COMMAND-sM0cs)");
      expect(off.logs.filter((line) => line.msg === "abuse limit refused a request")).toEqual([]);
    } finally {
      await off.stop();
    }
  });
});

describe("counting", () => {
  test("every logged refusal is counted in /metrics under its error id, and only those", async () => {
    for (const server of servers()) {
      const logged = new Map<string, number>();
      for (const line of server.logs) {
        if (line.msg === "abuse limit refused a request")
          logged.set(String(line.errorId), (logged.get(String(line.errorId)) ?? 0) + 1);
      }
      const text = await (await fetch(`${server.adminUrl}/metrics`, { signal: AbortSignal.timeout(10_000) })).text();
      const counted = new Map<string, number>();
      for (const [, id, value] of text.matchAll(/^myphone_abuse_refusals_total\{limit="([^"]+)"\} (\d+)$/gm))
        counted.set(id!, Number(value));
      expect(counted).toEqual(logged);
    }
    expect(tight.logs.some((line) => line.errorId === "MYPHONE-SnNum")).toBe(true);
  });
});

describe("secrets", () => {
  test("no answer and no log line contains a verification code or a token (the console SMS line aside)", () => {
    expect(codes.length).toBeGreaterThan(0);
    expect(tokens.length).toBeGreaterThan(10);
    const answers = transcript.join("\n");
    const logs = servers()
      .flatMap((server) => server.logs)
      // The console SMS provider prints the SMS text by design (development only): that line is the delivery.
      .filter((line) => line.msg !== "sms")
      .map((line) => JSON.stringify(line))
      .join("\n");
    for (const code of codes) {
      expect(answers).not.toContain(code);
      expect(logs).not.toContain(code);
    }
    for (const token of tokens) {
      expect(answers).not.toContain(token);
      expect(logs).not.toContain(token);
      // Nor any of the token's three parts (a logged header or payload would leak claims).
      for (const part of token.split(".")) expect(logs).not.toContain(part);
    }
    expect(answers).not.toMatch(/\bat .*\.(ts|js):\d+/);
  });
});
