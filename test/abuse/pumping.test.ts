import { RetryInfoSchema } from "../../gen/google/rpc/error_details_pb.js";
import { USER_AGGREGATE, UserEventType } from "../../src/domain/user-events.js";
import { ALL_CLIENTS, ApiError, closeAllClients, type ClientFactory } from "../support/clients.js";
import { runCli } from "../support/cli-process.js";
import { startTestServer, type TestServer, type TestUser } from "../support/test-server.js";
import { closeGrpcClients, grpcCall, rest, restRefusal, setPhone } from "./wire.js";

/**
 * SMS pumping defences over the wire (issue 21): every new refusal (refused number kinds, non-geographic
 * numbers by the default country deny list, the three budgets, the conversion breaker) over gRPC (grpc-js),
 * gRPC-Web, Connect and REST, with the id, the status, and RetryInfo / Retry-After where waiting helps; the IPv6
 * grouping of the per-address cap; and the start-up warning about a missing country allow-list.
 */

const ON = { MYPHONE_ABUSE_LIMITS: "on" };

let defaults: TestServer; // shipped defaults
let globalBudget: TestServer; // 4 codes per hour for the whole deployment
let countryBudget: TestServer; // 4 codes per hour per country
let prefixBudget: TestServer; // 4 codes per hour per range of 1,000 numbers
let breaker: TestServer; // judges codes after 1 s: 3 unverified codes trip a country or range
/** The breaker server's settings, which `myphone abuse` needs too. */
const BREAKER = {
  ...ON,
  MYPHONE_SMS_BREAKER_WINDOW: "1m",
  MYPHONE_SMS_BREAKER_GRACE: "0",
  MYPHONE_SMS_BREAKER_MIN_SENDS: "3",
  MYPHONE_SMS_BREAKER_MIN_CONVERSION: "0.5",
  MYPHONE_SMS_BREAKER_COOLOFF: "1h",
  MYPHONE_RESEND_COOLDOWN: "0",
};
const servers = () => [defaults, globalBudget, countryBudget, prefixBudget, breaker];

beforeAll(async () => {
  [defaults, globalBudget, countryBudget, prefixBudget, breaker] = await Promise.all([
    startTestServer(ON),
    startTestServer({ ...ON, MYPHONE_SMS_BUDGET: "4/1h" }),
    startTestServer({ ...ON, MYPHONE_SMS_BUDGET_PER_COUNTRY: "4/1h" }),
    startTestServer({ ...ON, MYPHONE_SMS_BUDGET_PER_PREFIX: "4/1h" }),
    // A window of a minute is judged in slices of one second, and without a grace the slice of the first codes
    // is judged as soon as it is over.
    startTestServer(BREAKER),
  ]);
}, 60_000);

afterAll(async () => {
  closeAllClients();
  closeGrpcClients();
  await Promise.all(servers().map((server) => server?.stop()));
});

/** What a refusal looked like on one protocol. */
interface Refusal {
  readonly code: number;
  readonly id?: string;
  /** RetryInfo's delay in seconds, when the answer carried one. */
  readonly retrySeconds?: number;
  /** REST only: the HTTP status and Retry-After. */
  readonly httpStatus?: number;
  readonly retryAfter?: string | null;
}

const client = (name: string): ClientFactory => ALL_CLIENTS.find((factory) => factory.name === name)!;

/** SetMyPhone over one protocol; answers the refusal (or fails the test when it was accepted). */
const PROTOCOLS: Record<string, (server: TestServer, user: TestUser, phone: string) => Promise<Refusal>> = {
  "gRPC (grpc-js)": async (server, user, phone) => {
    const answer = await grpcCall(server.url, "SetMyPhone", user.token, { phone });
    if (answer.ok) throw new Error(`accepted: ${phone}`);
    return { code: answer.code, id: answer.errorDetail?.id, retrySeconds: answer.retryDelaySeconds };
  },
  "gRPC-Web": (server, user, phone) => connectRefusal(client("connect-node grpc-web h1"), server, user, phone),
  Connect: (server, user, phone) => connectRefusal(client("connect-node connect json h1"), server, user, phone),
  REST: async (server, user, phone) => {
    const answer = await setPhone(server.url, user.token, phone);
    const refusal = restRefusal(answer);
    const retrySeconds = refusal.retryDelay === undefined ? undefined : Number(refusal.retryDelay.replace(/s$/, ""));
    return {
      code: refusal.code,
      id: refusal.id,
      retrySeconds,
      httpStatus: answer.status,
      retryAfter: answer.retryAfter,
    };
  },
};

async function connectRefusal(
  factory: ClientFactory,
  server: TestServer,
  user: TestUser,
  phone: string,
): Promise<Refusal> {
  const error = await factory
    .create(server.url, user.token)
    .set(phone)
    .then(
      () => undefined,
      (e: unknown) => e,
    );
  if (!(error instanceof ApiError)) throw new Error(`accepted: ${phone}`);
  const raw = error.raw as { findDetails: (schema: typeof RetryInfoSchema) => { retryDelay?: { seconds: bigint } }[] };
  const delay = raw.findDetails(RetryInfoSchema)[0]?.retryDelay?.seconds;
  return { code: error.code, id: error.detailId, retrySeconds: delay === undefined ? undefined : Number(delay) };
}

/** Checks a refusal against the error, the gRPC code, and whether waiting helps (RetryInfo, REST 429 + Retry-After). */
function expectRefusal(refusal: Refusal, id: string, waiting: { maxSeconds: number } | "never"): void {
  if (waiting === "never") {
    expect({ code: refusal.code, id: refusal.id, retrySeconds: refusal.retrySeconds }).toEqual({
      code: 3,
      id,
      retrySeconds: undefined,
    });
    if (refusal.httpStatus !== undefined)
      expect({ status: refusal.httpStatus, retryAfter: refusal.retryAfter }).toEqual({ status: 400, retryAfter: null });
    return;
  }
  expect({ code: refusal.code, id: refusal.id }).toEqual({ code: 8, id });
  expect(refusal.retrySeconds).toBeGreaterThan(0);
  expect(refusal.retrySeconds).toBeLessThanOrEqual(waiting.maxSeconds);
  if (refusal.httpStatus !== undefined)
    expect({ status: refusal.httpStatus, retryAfter: refusal.retryAfter }).toEqual({
      status: 429,
      retryAfter: String(refusal.retrySeconds),
    });
}

let counter = 0;
/** A fresh Swiss mobile number in its own range of 1,000 (a range per call keeps range budgets out of the way). */
const freshPhone = () => `+4176${String(1_000_000 + ++counter * 1000).slice(-7)}`;

/** Sets `phone` for a new user; the call must be accepted. */
async function accepted(server: TestServer, phone: string): Promise<TestUser> {
  const user = await server.addUser();
  const answer = await setPhone(server.url, user.token, phone);
  expect({ phone, status: answer.status }).toEqual({ phone, status: 200 });
  return user;
}

describe("refused number kinds and regions (defaults)", () => {
  /** Sets each of `phones` for a new user over `protocol`: each is refused with `id`, for good. Resolves with the users. */
  async function refusedForGood(protocol: string, phones: string[], id: string): Promise<TestUser[]> {
    const users: TestUser[] = [];
    for (const phone of phones) {
      const user = await defaults.addUser();
      expectRefusal(await PROTOCOLS[protocol]!(defaults, user, phone), id, "never");
      users.push(user);
    }
    return users;
  }

  test.each(Object.keys(PROTOCOLS))(
    "premium-rate and shared-cost numbers get InvalidArgument MYPHONE-PhTyp over %s, and no code is made",
    async (protocol) => {
      const phones = ["+41 900 123 456", "+44 909 879 0000", "+41 840 123 456"];
      for (const user of await refusedForGood(protocol, phones, "MYPHONE-PhTyp")) {
        const events = await defaults.store.readStream(USER_AGGREGATE, user.userId);
        expect(events.map((event) => event.type)).toEqual([UserEventType.humanAdded]);
      }
    },
  );

  test.each(Object.keys(PROTOCOLS))(
    "non-geographic numbers (+883, +882, +979) get MYPHONE-PhCty over %s: the country deny list is 001 by default",
    async (protocol) => {
      await refusedForGood(protocol, ["+883 5100 1234 5678", "+882 1612 3456 78", "+979 123 456 789"], "MYPHONE-PhCty");
    },
  );

  test("both refusals are logged and counted as abuse refusals", async () => {
    const lines = defaults.logs.filter((line) => line.msg === "abuse limit refused a request");
    expect(
      lines.filter((line) => line.limit === "number_type" && line.errorId === "MYPHONE-PhTyp").length,
    ).toBeGreaterThanOrEqual(12);
    expect(
      lines.filter((line) => line.limit === "country" && line.errorId === "MYPHONE-PhCty").length,
    ).toBeGreaterThanOrEqual(12);
    const metrics = await (await fetch(`${defaults.adminUrl}/metrics`)).text();
    expect(metrics).toMatch(/^myphone_abuse_refusals_total\{limit="MYPHONE-PhTyp"\} [1-9]\d*$/m);
  });

  test("mobile numbers still pass the defaults", async () => {
    await accepted(defaults, "+41 79 555 12 34");
    await accepted(defaults, "+49 176 1234 5678");
  });
});

describe("budgets", () => {
  test.each(Object.keys(PROTOCOLS))(
    "the deployment's budget: MYPHONE-SnGlb over %s, with RetryInfo",
    async (protocol) => {
      while ((await setPhone(globalBudget.url, (await globalBudget.addUser()).token, freshPhone())).status === 200);
      const refusal = await PROTOCOLS[protocol]!(globalBudget, await globalBudget.addUser(), "+33 6 12 34 56 78");
      expectRefusal(refusal, "MYPHONE-SnGlb", { maxSeconds: 3660 });
      expect(refusal.retrySeconds).toBeGreaterThan(3500);
    },
  );

  test.each(Object.keys(PROTOCOLS))(
    "a country's budget: MYPHONE-SnCtr over %s; other countries still get codes",
    async (protocol) => {
      while ((await setPhone(countryBudget.url, (await countryBudget.addUser()).token, freshPhone())).status === 200);
      expectRefusal(
        await PROTOCOLS[protocol]!(countryBudget, await countryBudget.addUser(), freshPhone()),
        "MYPHONE-SnCtr",
        { maxSeconds: 3660 },
      );
      await accepted(countryBudget, `+4915${String(100_000_000 + ++counter * 1000)}`);
    },
  );

  test.each(Object.keys(PROTOCOLS))(
    "a number range's budget: MYPHONE-SnPfx over %s; the next range still gets codes",
    async (protocol) => {
      const range = `+4178${String(1_000 + ++counter).slice(-4)}`;
      let last = 0;
      while (
        (
          await setPhone(
            prefixBudget.url,
            (await prefixBudget.addUser()).token,
            `${range}${String(++last).padStart(3, "0")}`,
          )
        ).status === 200
      );
      expect(last).toBe(5);
      expectRefusal(
        await PROTOCOLS[protocol]!(prefixBudget, await prefixBudget.addUser(), `${range}999`),
        "MYPHONE-SnPfx",
        { maxSeconds: 3660 },
      );
      await accepted(prefixBudget, `+4178${String(1_000 + ++counter).slice(-4)}000`);
    },
  );

  test("budget refusals are logged with their scope", () => {
    const scopes = (server: TestServer, limit: string) =>
      new Set(
        server.logs
          .filter((line) => line.msg === "abuse limit refused a request" && line.limit === limit)
          .map((line) => line.scope),
      );
    expect(scopes(globalBudget, "sms_budget_global")).toEqual(new Set(["global"]));
    expect(scopes(countryBudget, "sms_budget_country")).toEqual(new Set(["country:CH"]));
    expect(
      [...scopes(prefixBudget, "sms_budget_prefix")].every((scope) => /^prefix:\+4178\d{4}$/.test(String(scope))),
    ).toBe(true);
  });
});

describe("conversion breaker", () => {
  test("unverified codes to a range trip its breaker: MYPHONE-SnBrk on every protocol, with the cool-off as RetryInfo", async () => {
    const range = "+33612345";
    const first = await accepted(breaker, `${range}001`);
    await accepted(breaker, `${range}002`);
    await accepted(breaker, `${range}003`);
    // The codes' one-second slice must be over before it is judged.
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    for (const [protocol, call] of Object.entries(PROTOCOLS)) {
      const refusal = await call(breaker, await breaker.addUser(), `${range}${String(100 + counter++)}`);
      expect({ protocol, id: refusal.id }).toEqual({ protocol, id: "MYPHONE-SnBrk" });
      expectRefusal(refusal, "MYPHONE-SnBrk", { maxSeconds: 3600 });
    }
    // Resends to a tripped range are refused too.
    const resent = await rest(breaker.url, "POST", "/auth/v1/users/me/phone/_resend_verification", first.token, {});
    expect({ status: resent.status, id: restRefusal(resent).id }).toEqual({ status: 429, id: "MYPHONE-SnBrk" });

    const trips = breaker.logs.filter((line) => line.msg === "sms breaker tripped: too few codes verified");
    expect(trips.map((line) => [line.level, line.scope, line.sends, line.verified])).toEqual([
      [40, "country:FR", 3, 0],
      [40, `prefix:${range}`, 3, 0],
    ]);
    const metrics = await (await fetch(`${breaker.adminUrl}/metrics`)).text();
    expect(metrics).toMatch(/^myphone_sms_breaker_trips_total\{kind="prefix"\} 1$/m);
    expect(metrics).toMatch(/^myphone_sms_breaker_trips_total\{kind="country"\} 1$/m);
    expect(metrics).toMatch(/^myphone_sms_breakers\{kind="prefix",phase="open"\} 1$/m);
    expect(metrics).toMatch(/^myphone_abuse_refusals_total\{limit="MYPHONE-SnBrk"\} 5$/m);
  });

  test("/metrics shows how much of each budget the busiest scope used", async () => {
    const metrics = await (await fetch(`${breaker.adminUrl}/metrics`)).text();
    // The default budgets: the deployment has sent 3 codes this hour, all to one country, at most 3 to one range.
    expect(metrics).toMatch(/^myphone_sms_budget_used\{budget="global",window="1h"\} 3$/m);
    expect(metrics).toMatch(/^myphone_sms_budget_used\{budget="prefix",window="1d"\} 3$/m);
    expect(metrics).toMatch(/^myphone_sms_budget_use_ratio\{budget="global",window="1h"\} 0\.003$/m);
  });
});

describe("myphone abuse on the SQLite store", () => {
  const cli = (args: string[]) => runCli(["abuse", ...args], { ...BREAKER, MYPHONE_DATA_DIR: breaker.dataDir });

  test("status lists the breakers the server tripped; reset --scope all closes them, and codes go out again", async () => {
    const status = JSON.parse(await cli(["status", "--json"])) as {
      breakers: { scope: string; phase: string; until: string }[];
      topPrefixes: { scope: string }[];
    };
    expect(status.breakers.map((b) => [b.scope, b.phase])).toEqual([
      ["country:FR", "open"],
      ["prefix:+33612345", "open"],
    ]);
    expect(Date.parse(status.breakers[0]!.until) - Date.now()).toBeGreaterThan(50 * 60_000);
    expect(status.topPrefixes[0]).toMatchObject({ scope: "prefix:+33612345", sends: 3, verified: 0, conversion: 0 });
    const text = await cli(["status"]);
    expect(text).toMatch(/^breakers not closed:\n {2}country:FR +open until /m);
    expect(JSON.parse(await cli(["reset", "--scope", "all"]))).toEqual({ closed: ["country:FR", "prefix:+33612345"] });
    await accepted(breaker, "+33612345999");
  });

  test("with the abuse limits off or the memory store there is nothing to show", async () => {
    await expect(
      runCli(["abuse", "status"], { MYPHONE_DATA_DIR: breaker.dataDir, MYPHONE_ABUSE_LIMITS: "off" }),
    ).rejects.toMatchObject({
      code: 1,
      stderr: expect.stringContaining("abuse limits are off"),
    });
    await expect(runCli(["abuse", "status"], { MYPHONE_STORE: "memory" })).rejects.toMatchObject({
      code: 1,
      stderr: expect.stringContaining("persistent store"),
    });
  });
});

describe("IPv6 clients are counted by their /48 (MYPHONE_SENDS_PER_IP_IPV6_PREFIX)", () => {
  const behindProxy = (extra: Record<string, string> = {}) =>
    startTestServer({
      ...ON,
      MYPHONE_RESEND_COOLDOWN: "0",
      MYPHONE_SENDS_PER_IP: "2/1h",
      MYPHONE_TRUSTED_PROXIES: "127.0.0.1",
      ...extra,
    });

  test("two /64s of one /48 share its cap; another /48 has its own", async () => {
    const server = await behindProxy();
    try {
      const from = (address: string) => ({ "x-forwarded-for": address });
      const set = async (address: string) =>
        setPhone(server.url, (await server.addUser()).token, freshPhone(), from(address));
      expect((await set("2001:db8:1:a::1")).status).toBe(200);
      expect((await set("2001:db8:1:b:ffff::2")).status).toBe(200);
      const third = await set("2001:db8:1:ffff::3");
      expect({ status: third.status, id: restRefusal(third).id }).toEqual({ status: 429, id: "MYPHONE-SnAdr" });
      expect(server.logs.find((line) => line.limit === "sends_per_address")?.clientAddress).toBe("2001:db8:1:ffff::3");
      expect((await set("2001:db8:2::1")).status).toBe(200);
    } finally {
      await server.stop();
    }
  });

  test("with MYPHONE_SENDS_PER_IP_IPV6_PREFIX=64 each /64 is counted apart", async () => {
    const server = await behindProxy({ MYPHONE_SENDS_PER_IP_IPV6_PREFIX: "64" });
    try {
      for (const address of ["2001:db8:1:a::1", "2001:db8:1:a::2", "2001:db8:1:b::1", "2001:db8:1:c::1"]) {
        expect(
          (await setPhone(server.url, (await server.addUser()).token, freshPhone(), { "x-forwarded-for": address }))
            .status,
        ).toBe(200);
      }
      const third = await setPhone(server.url, (await server.addUser()).token, freshPhone(), {
        "x-forwarded-for": "2001:db8:1:a::3",
      });
      expect(restRefusal(third).id).toBe("MYPHONE-SnAdr");
    } finally {
      await server.stop();
    }
  });
});

describe("start-up warning for real SMS providers without a country allow-list", () => {
  const WEBHOOK = { MYPHONE_SMS_PROVIDER: "webhook", MYPHONE_SMS_WEBHOOK_URL: "http://127.0.0.1:9/sms" };
  const TWILIO = {
    MYPHONE_SMS_PROVIDER: "twilio",
    MYPHONE_TWILIO_ACCOUNT_SID: `AC${"0".repeat(32)}`,
    MYPHONE_TWILIO_AUTH_TOKEN: "token",
    MYPHONE_TWILIO_FROM: "+15005550006",
    MYPHONE_TWILIO_BASE_URL: "http://127.0.0.1:9",
  };
  const warnings = (server: TestServer) =>
    server.logs.filter((line) => String(line.msg).includes("MYPHONE_PHONE_COUNTRIES_ALLOW"));

  test.each([
    ["webhook", WEBHOOK],
    ["twilio", TWILIO],
  ])("%s without MYPHONE_PHONE_COUNTRIES_ALLOW: one warn line naming it", async (_name, env) => {
    const server = await startTestServer(env);
    try {
      expect(warnings(server).map((line) => [line.level, line.setting])).toEqual([
        [40, "MYPHONE_PHONE_COUNTRIES_ALLOW"],
      ]);
    } finally {
      await server.stop();
    }
  });

  test("no warning with an allow-list, or with the console provider", async () => {
    for (const env of [
      { ...WEBHOOK, MYPHONE_PHONE_COUNTRIES_ALLOW: "CH" },
      { ...TWILIO, MYPHONE_PHONE_COUNTRIES_ALLOW: "CH,DE" },
      {},
    ]) {
      const server = await startTestServer(env);
      try {
        expect(warnings(server)).toEqual([]);
      } finally {
        await server.stop();
      }
    }
  });
});
