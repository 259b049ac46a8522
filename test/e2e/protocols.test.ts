import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DevTokenIssuer } from "../../src/auth/dev-token-issuer.js";
import {
  ALL_CLIENTS,
  closeAllClients,
  curlRaw,
  parseJsonObject,
  prepareBufSchema,
  type Auth,
  type ClientFactory,
  type DetailsJson,
} from "../support/clients.js";
import {
  expectAuthHeaderMissing,
  expectChangeDetails,
  expectDomainError,
  expectRecent,
  RFC3339_UTC,
} from "../support/wire-assertions.js";
import { codeFromSms, startTestServer, type TestServer, type TestUser } from "../support/test-server.js";

/**
 * Every RPC through every client (grpc-js, connect-node gRPC/gRPC-Web/Connect over HTTP/1.1 and h2c, connect-web
 * over fetch, curl against REST, buf curl), against one real server. SPEC sections 1, 3 and 7.
 */

let server: TestServer;
/** A token signed by a key the server does not know. */
let foreignIssuer: DevTokenIssuer;
let foreignKeyDir: string;

beforeAll(async () => {
  foreignKeyDir = mkdtempSync(join(tmpdir(), "myphone-foreign-key-"));
  const [started, issuer] = await Promise.all([
    // Unknown variables are ignored by loadConfig; these keep future abuse limits (SPEC 5) out of the way.
    startTestServer({ MYPHONE_ABUSE_LIMITS: "off", MYPHONE_RESEND_COOLDOWN: "0" }),
    DevTokenIssuer.open(foreignKeyDir),
    prepareBufSchema(),
  ]);
  server = started;
  foreignIssuer = issuer;
}, 60_000);

afterAll(async () => {
  closeAllClients();
  await server?.stop();
  rmSync(foreignKeyDir, { recursive: true, force: true });
});

const PHONE_INPUT = "+41 79 123 45 67";
const PHONE_E164 = "+41791234567";

let phoneCounter = 0;
/** A fresh, possible Swiss mobile number per test, so SMS of earlier tests cannot be mistaken for this one's. */
function uniquePhone(): string {
  phoneCounter++;
  return `+4179${5_000_000 + phoneCounter}`;
}

/** Sets a phone and returns the code of its SMS. */
async function setAndReadCode(api: ReturnType<ClientFactory["create"]>, phone: string): Promise<string> {
  const mark = server.logs.length;
  await api.set(phone);
  return codeFromSms(await server.waitForSms(phone, mark));
}

describe.each(ALL_CLIENTS)("$name", (client) => {
  const as = (user: TestUser) => client.create(server.url, user.token);
  const withAuth = (auth: Auth) => client.create(server.url, auth);

  describe("happy paths", () => {
    it("SetMyPhone answers the details of phone.code.added (sequence 3), no creation date", async () => {
      const user = await server.addUser();
      const result = await as(user).set(PHONE_INPUT);
      expect(Object.keys(result)).toEqual(["details"]);
      const details = expectChangeDetails(result, user);
      // 1 = user.human.added, 2 = user.human.phone.changed, 3 = user.human.phone.code.added
      expect(details.sequence).toBe("3");
    });

    it("GetMyPhone after SetMyPhone shows the E.164 number, unverified (omitted), and stream details", async () => {
      const user = await server.addUser();
      await as(user).set(PHONE_INPUT);
      const result = await as(user).get();
      expect(result.phone).toEqual({ phone: PHONE_E164 });
      const details = result.details!;
      // code.sent (4) may already be appended by the SMS worker.
      expect(Number(details.sequence)).toBeGreaterThanOrEqual(3);
      expect(details.creationDate).toMatch(RFC3339_UTC);
      expectRecent(details.changeDate);
      expect(Date.parse(details.creationDate!)).toBeLessThanOrEqual(Date.parse(details.changeDate!));
      expect(details.resourceOwner).toBe(user.orgId);
    });

    it("GetMyPhone for a user without phone answers phone {} and sequence 1", async () => {
      const user = await server.addUser();
      const result = await as(user).get();
      expect(result.phone).toEqual({});
      expect(result.details?.sequence).toBe("1");
      expect(result.details?.creationDate).toMatch(RFC3339_UTC);
      expect(result.details?.changeDate).toBe(result.details?.creationDate);
      expect(result.details?.resourceOwner).toBe(user.orgId);
    });

    it("VerifyMyPhone with the SMS code verifies the number", async () => {
      const user = await server.addUser();
      const phone = uniquePhone();
      const code = await setAndReadCode(as(user), phone);
      const result = await as(user).verify(code);
      expect(Object.keys(result)).toEqual(["details"]);
      const details = expectChangeDetails(result, user);
      expect(Number(details.sequence)).toBeGreaterThan(3);
      const after = await as(user).get();
      expect(after.phone).toEqual({ phone, isPhoneVerified: true });
      expect(after.details?.sequence).toBe(details.sequence);
    });

    it("ResendMyPhoneVerification appends a new code and a new SMS goes out", async () => {
      const user = await server.addUser();
      const phone = uniquePhone();
      const firstCode = await setAndReadCode(as(user), phone);
      const before = await as(user).get();
      const mark = server.logs.length;
      const result = await as(user).resend();
      const details = expectChangeDetails(result, user);
      expect(BigInt(details.sequence!)).toBeGreaterThan(BigInt(before.details!.sequence!));
      const newCode = codeFromSms(await server.waitForSms(phone, mark));
      expect(newCode).toMatch(/^[A-Z0-9]{6}$/);
      expect(newCode).not.toBe(firstCode);
      await as(user).verify(newCode);
      expect((await as(user).get()).phone).toEqual({ phone, isPhoneVerified: true });
    });

    it("RemoveMyPhone removes the number; the same number can be set again", async () => {
      const user = await server.addUser();
      await as(user).set(PHONE_INPUT);
      const result = await as(user).remove();
      const details = expectChangeDetails(result, user);
      expect(Number(details.sequence)).toBeGreaterThan(3);
      const after = await as(user).get();
      expect(after.phone).toEqual({});
      expect(Number(after.details?.sequence)).toBeGreaterThanOrEqual(Number(details.sequence));
      const again = await as(user).set(PHONE_INPUT);
      expect(Number(again.details?.sequence)).toBeGreaterThan(Number(details.sequence));
    });
  });

  describe("domain errors (SPEC 3, 7)", () => {
    it("PHONE-so0wa: unparseable phone", async () => {
      const user = await server.addUser();
      await expectDomainError(client, as(user).set("abc"), { code: 3, id: "PHONE-so0wa", message: "Phone is invalid" });
    });

    it.each([
      ["empty", ""],
      ["51 characters", `+${"4".repeat(50)}`],
    ])("MYPHONE-PhLen: %s phone", async (_label, phone) => {
      const user = await server.addUser();
      await expectDomainError(client, as(user).set(phone), {
        code: 3,
        id: "MYPHONE-PhLen",
        message: "Phone must be 1 to 50 characters",
      });
    });

    it("COMMAND-3M0fs: SetMyPhone by a machine user", async () => {
      const machine = await server.addUser({ machine: true });
      await expectDomainError(client, as(machine).set(PHONE_INPUT), {
        code: 9,
        id: "COMMAND-3M0fs",
        message: "User could not be found",
      });
    });

    it("COMMAND-wF94r: the same number twice (also when written nationally)", async () => {
      const user = await server.addUser();
      await as(user).set(PHONE_INPUT);
      await expectDomainError(client, as(user).set("079 123 45 67"), {
        code: 9,
        id: "COMMAND-wF94r",
        message: "Phone not changed",
      });
    });

    it("COMMAND-Rsj8c: verify without a phone", async () => {
      const user = await server.addUser();
      await expectDomainError(client, as(user).verify("ABC123"), {
        code: 5,
        id: "COMMAND-Rsj8c",
        message: "Code not found",
      });
    });

    it("COMMAND-sM0cs: wrong code", async () => {
      const user = await server.addUser();
      await as(user).set(PHONE_INPUT);
      await expectDomainError(client, as(user).verify("WRONG1"), {
        code: 3,
        id: "COMMAND-sM0cs",
        message: "Code is invalid",
      });
    });

    it("MYPHONE-CoLen: empty code", async () => {
      const user = await server.addUser();
      await as(user).set(PHONE_INPUT);
      await expectDomainError(client, as(user).verify(""), {
        code: 3,
        id: "MYPHONE-CoLen",
        message: "Code must be 1 to 200 characters",
      });
    });

    it("COMMAND-2b7Hf: resend without a phone", async () => {
      const user = await server.addUser();
      await expectDomainError(client, as(user).resend(), { code: 5, id: "COMMAND-2b7Hf", message: "Phone not found" });
    });

    it("COMMAND-2M9sf: resend after verification", async () => {
      const user = await server.addUser();
      const phone = uniquePhone();
      await as(user).verify(await setAndReadCode(as(user), phone));
      await expectDomainError(client, as(user).resend(), {
        code: 9,
        id: "COMMAND-2M9sf",
        message: "Phone already verified",
      });
    });

    it("COMMAND-p6rsc: remove without a phone", async () => {
      const user = await server.addUser();
      await expectDomainError(client, as(user).remove(), { code: 5, id: "COMMAND-p6rsc", message: "Phone not found" });
    });

    it("QUERY-hliQl: GetMyPhone by a machine user", async () => {
      const machine = await server.addUser({ machine: true });
      await expectDomainError(client, as(machine).get(), {
        code: 9,
        id: "QUERY-hliQl",
        message: "The User must be personal",
      });
    });
  });

  describe("Unauthenticated (16, REST 401), ids as ZITADEL sends them (auth_interceptor.go, authz/context.go)", () => {
    const unauthenticated = (message: string) => ({ code: 16, id: "AUTH-7fs1e", message });

    it("no authorization header", async () => {
      await expectAuthHeaderMissing(client, withAuth(undefined).get());
    });

    it("no authorization header and an invalid request: authentication comes first", async () => {
      await expectAuthHeaderMissing(client, withAuth(undefined).set(""));
    });

    it("Bearer not-a-jwt", async () => {
      await expectDomainError(
        client,
        withAuth({ header: "Bearer not-a-jwt" }).get(),
        unauthenticated("Token is invalid"),
      );
    });

    it("a token that is not even token syntax is a bad token, not a bad header", async () => {
      await expectDomainError(
        client,
        withAuth({ header: "Bearer not{a}token" }).get(),
        unauthenticated("Token is invalid"),
      );
    });

    it("another scheme (Basic abc) and a bare `Bearer`: AUTH-toLo1", async () => {
      await expectDomainError(client, withAuth({ header: "Basic abc" }).get(), {
        code: 16,
        id: "AUTH-toLo1",
        message: "invalid auth header",
      });
      await expectDomainError(client, withAuth({ header: "Bearer" }).get(), {
        code: 16,
        id: "AUTH-toLo1",
        message: "invalid auth header",
      });
    });

    it("expired token", async () => {
      const user = await server.addUser();
      const expired = await server.issuer.mint(user.userId, -60);
      await expectDomainError(client, withAuth(expired).set(PHONE_INPUT), unauthenticated("Token is invalid"));
    });

    it("token signed by another key", async () => {
      const user = await server.addUser();
      const foreign = await foreignIssuer.mint(user.userId, 600);
      await expectDomainError(client, withAuth(foreign).get(), unauthenticated("Token is invalid"));
    });
  });
});

describe("REST specifics (curl)", () => {
  const phoneUrl = () => `${server.url}/auth/v1/users/me/phone`;
  const bearer = (user: TestUser) => ({ authorization: `Bearer ${user.token}` });

  it("error body is exactly {code, message, details:[{@type, id, message}]} as application/json", async () => {
    const user = await server.addUser();
    const response = await curlRaw({
      method: "PUT",
      url: phoneUrl(),
      headers: { ...bearer(user), "content-type": "application/json" },
      body: JSON.stringify({ phone: "abc" }),
    });
    expect(response.status).toBe(400);
    expect(response.contentType).toMatch(/^application\/json\b/);
    expect(parseJsonObject(response.body)).toStrictEqual({
      code: 3,
      message: "Phone is invalid (PHONE-so0wa)",
      details: [
        { "@type": "type.googleapis.com/zitadel.v1.ErrorDetail", id: "PHONE-so0wa", message: "Phone is invalid" },
      ],
    });
  });

  it("success bodies are application/json proto3 JSON", async () => {
    const user = await server.addUser();
    const response = await curlRaw({ method: "GET", url: phoneUrl(), headers: bearer(user) });
    expect(response.status).toBe(200);
    expect(response.contentType).toMatch(/^application\/json\b/);
    const body = parseJsonObject(response.body);
    expect(body.phone).toEqual({});
    expect(body.details).toEqual({
      sequence: "1",
      creationDate: expect.stringMatching(RFC3339_UTC),
      changeDate: expect.stringMatching(RFC3339_UTC),
      resourceOwner: user.orgId,
    });
  });

  it("unknown JSON fields are ignored (SPEC 1)", async () => {
    const user = await server.addUser();
    const response = await curlRaw({
      method: "PUT",
      url: phoneUrl(),
      headers: { ...bearer(user), "content-type": "application/json" },
      body: JSON.stringify({ phone: PHONE_INPUT, unknownField: 1, unknown_field: { nested: true } }),
    });
    // SERVER BUG: answers 400 {"code":3,"message":"cannot decode message zitadel.auth.v1.SetMyPhoneRequest from JSON:
    // key \"unknownField\" is unknown"} instead of ignoring the field (the Connect JSON endpoint does ignore it).
    expect({ status: response.status, body: parseJsonObject(response.body) }).toEqual({
      status: 200,
      body: { details: expect.objectContaining({ sequence: "3" }) },
    });
  });

  it("an anonymous request with an unknown JSON field is refused as Unauthenticated, not as invalid", async () => {
    const response = await curlRaw({
      method: "PUT",
      url: phoneUrl(),
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ phone: PHONE_INPUT, unknownField: 1 }),
    });
    // SERVER BUG (same cause as above): 400 "cannot decode message ..." before authentication (SPEC 3 order).
    expect(response.status).toBe(401);
    expect(parseJsonObject(response.body).code).toBe(16);
  });

  it("Connect JSON accepts proto (snake_case) field names and ignores unknown fields", async () => {
    // The request fields (phone, code) are single words, so their proto and JSON names coincide; what can be
    // checked is that the proto name is accepted and unknown snake_case/camelCase keys are ignored.
    const user = await server.addUser();
    const response = await curlRaw({
      method: "POST",
      url: `${server.url}/zitadel.auth.v1.AuthService/SetMyPhone`,
      headers: { ...bearer(user), "content-type": "application/json" },
      body: JSON.stringify({ phone: PHONE_INPUT, some_unknown_field: 1, someUnknownField: "x" }),
    });
    expect(response.status).toBe(200);
    expect(parseJsonObject(response.body).details).toEqual(
      expect.objectContaining({ sequence: "3", resourceOwner: user.orgId }),
    );
    const get = await curlRaw({ method: "GET", url: phoneUrl(), headers: bearer(user) });
    expect(parseJsonObject(get.body).phone).toEqual({ phone: PHONE_E164 });
  });

  it("POST _resend_verification with an empty body works", async () => {
    const user = await server.addUser();
    await client(user).set(PHONE_INPUT);
    const response = await curlRaw({
      method: "POST",
      url: `${phoneUrl()}/_resend_verification`,
      headers: bearer(user),
    });
    expect(response.status).toBe(200);
    const details = parseJsonObject(response.body).details as DetailsJson;
    expect(Number(details.sequence)).toBeGreaterThan(3);
    expect(details.resourceOwner).toBe(user.orgId);
  });

  it.each([
    ["PATCH", "/auth/v1/users/me/phone"],
    ["POST", "/auth/v1/users/me/phone"],
    ["GET", "/auth/v1/users/me/phone/_verify"],
    ["DELETE", "/auth/v1/users/me/phone/_resend_verification"],
  ])("wrong method %s %s → 405", async (method, path) => {
    const user = await server.addUser();
    const response = await curlRaw({ method, url: server.url + path, headers: bearer(user) });
    expect(response.status).toBe(405);
    expect(response.contentType).toMatch(/^application\/json\b/);
  });

  it.each([
    ["PUT", "/auth/v1/users/me/phone", "{bad"],
    ["POST", "/auth/v1/users/me/phone/_verify", '{"code":'],
    ["PUT", "/auth/v1/users/me/phone", "[1,2]"],
  ])("invalid JSON body %s %s %s → 400 with code 3", async (method, path, body) => {
    const user = await server.addUser();
    const response = await curlRaw({
      method,
      url: server.url + path,
      headers: { ...bearer(user), "content-type": "application/json" },
      body,
    });
    expect(response.status).toBe(400);
    expect(response.contentType).toMatch(/^application\/json\b/);
    expect(parseJsonObject(response.body).code).toBe(3);
  });

  function client(user: TestUser) {
    return ALL_CLIENTS.find((c) => c.kind === "curl-rest")!.create(server.url, user.token);
  }
});
