import { UserEventType } from "../../src/domain/user-events.js";
import {
  ALL_CLIENTS,
  closeAllClients,
  curlRaw,
  parseJsonObject,
  prepareBufSchema,
  type ApiResult,
  type Auth,
  type ClientFactory,
} from "../support/clients.js";
import { codeFromSms, startTestServer, type TestServer, type TestUser } from "../support/test-server.js";
import { caught, expectAuthHeaderMissing, expectChangeDetails, expectDomainError } from "../support/wire-assertions.js";

/**
 * zitadel.user.v2.UserService's phone methods through every client (grpc-js, connect-node gRPC/gRPC-Web/Connect,
 * connect-web, curl against ZITADEL's REST routes, buf curl), against one real server: every method, every v2 error
 * id, the user.write stand-in, return_code's event without an SMS job, and v1 and v2 on one user. Expected ids and
 * texts are ZITADEL's (internal/command/user_v2_phone.go, internal/api/authz/permissions.go at a97999e5).
 */

/** The role MYPHONE_AUTH_USER_WRITE_ROLE names, and a service account MYPHONE_AUTH_USER_WRITE_USERS lists. */
const ADMIN_ROLE = "phone-admin";
const SERVICE_ACCOUNT = "318530281939763209";

let server: TestServer;
/** A caller whose roles claim holds ADMIN_ROLE; one with roles but not that one; the service account (no roles). */
let adminToken: string;
let memberToken: string;
let serviceAccountToken: string;

beforeAll(async () => {
  const [started] = await Promise.all([
    startTestServer({ MYPHONE_AUTH_USER_WRITE_ROLE: ADMIN_ROLE, MYPHONE_AUTH_USER_WRITE_USERS: SERVICE_ACCOUNT }),
    prepareBufSchema(),
  ]);
  server = started;
  adminToken = await server.issuer.mint("admin-1", 600, { roles: ["viewer", ADMIN_ROLE] });
  memberToken = await server.issuer.mint("member-1", 600, { roles: ["viewer"] });
  serviceAccountToken = await server.issuer.mint(SERVICE_ACCOUNT, 600);
}, 60_000);

afterAll(async () => {
  closeAllClients();
  await server?.stop();
});

let phoneCounter = 0;
/** A fresh Swiss mobile number per test (a range of its own), so earlier SMS cannot be mistaken for this one's. */
function uniquePhone(): string {
  phoneCounter++;
  return `+4176${5_000_000 + phoneCounter}`;
}

/** The SMS jobs the outbox holds for a user, in any state. */
async function smsJobsOf(userId: string) {
  const states = ["pending", "done", "dead"] as const;
  const jobs = (await Promise.all(states.map((state) => server.store.outbox.list(state)))).flat();
  return jobs.filter((job) => job.aggregateId === userId);
}

async function lastEventOf(userId: string) {
  return (await server.store.readStream("user", userId)).at(-1);
}

const NOT_FOUND_USER = { code: 5, id: "COMMAND-ieJ2e", message: "Phone not found" };
const MEMBERSHIP_NOT_FOUND = { code: 5, id: "AUTHZ-cdgFk", message: "membership not found" };
const NO_MATCHING_PERMISSIONS = { code: 7, id: "AUTH-AWfge", message: "No matching permissions found" };

describe.each(ALL_CLIENTS)("$name", (client) => {
  const v2 = (auth: Auth) => client.createV2(server.url, auth);
  const v1 = (user: TestUser) => client.create(server.url, user.token);

  /** Sets a number the user's own way (send_code) and returns the code of its SMS. */
  async function setAndReadCode(user: TestUser, phone: string): Promise<string> {
    const mark = server.logs.length;
    await v2(user.token).setPhone({ userId: user.userId, phone, sendCode: {} });
    return codeFromSms(await server.waitForSms(phone, mark));
  }

  describe("SetPhone", () => {
    it("send_code on one's own user: details of code.added (sequence 3), no code in the answer, an SMS, verifiable", async () => {
      const user = await server.addUser();
      const phone = uniquePhone();
      const mark = server.logs.length;
      const result = await v2(user.token).setPhone({ userId: user.userId, phone, sendCode: {} });
      expect(Object.keys(result)).toEqual(["details"]);
      expect(expectChangeDetails(result, user).sequence).toBe("3");
      const code = codeFromSms(await server.waitForSms(phone, mark));
      expectChangeDetails(await v2(user.token).verifyPhone({ userId: user.userId, verificationCode: code }), user);
      expect((await v1(user).get()).phone).toEqual({ phone, isPhoneVerified: true });
    });

    it("no verification set means send_code; the number is normalised", async () => {
      const user = await server.addUser();
      const result = await v2(user.token).setPhone({ userId: user.userId, phone: "076 123 45 67" });
      expect(result.verificationCode).toBeUndefined();
      expect((await v1(user).get()).phone).toEqual({ phone: "+41761234567" });
      expect(await smsJobsOf(user.userId)).toHaveLength(1);
    });

    it("return_code by a holder of the user.write role: the code comes back, no SMS job, code_returned recorded", async () => {
      const user = await server.addUser();
      const phone = uniquePhone();
      const result = await v2(adminToken).setPhone({ userId: user.userId, phone, returnCode: {} });
      expect(Object.keys(result).sort()).toEqual(["details", "verificationCode"]);
      expect(result.verificationCode).toMatch(/^[A-Z0-9]{6}$/);
      expect(expectChangeDetails(result, user).sequence).toBe("3");
      expect(await smsJobsOf(user.userId)).toEqual([]);
      const event = await lastEventOf(user.userId);
      expect({ type: event?.type, sequence: event?.sequence, codeReturned: event?.data?.code_returned }).toEqual({
        type: UserEventType.phoneCodeAdded,
        sequence: 3,
        codeReturned: true,
      });
      // Only the caller sees it: no log line carries it.
      expect(JSON.stringify(server.logs)).not.toContain(result.verificationCode);
      // The user verifies with the returned code, through v1 even.
      await v1(user).verify(result.verificationCode!);
      expect((await v1(user).get()).phone).toEqual({ phone, isPhoneVerified: true });
    });

    it("is_verified by a listed service account: the number is verified at once, no code, no SMS job", async () => {
      const user = await server.addUser();
      const phone = uniquePhone();
      const result = await v2(serviceAccountToken).setPhone({ userId: user.userId, phone, isVerified: true });
      expect(Object.keys(result)).toEqual(["details"]);
      expect(expectChangeDetails(result, user).sequence).toBe("3");
      expect((await v1(user).get()).phone).toEqual({ phone, isPhoneVerified: true });
      expect(await smsJobsOf(user.userId)).toEqual([]);
      expect((await lastEventOf(user.userId))?.type).toBe(UserEventType.phoneVerified);
    });

    it("send_code on another user's number by a holder of the user.write role", async () => {
      const user = await server.addUser();
      const phone = uniquePhone();
      const mark = server.logs.length;
      expectChangeDetails(await v2(adminToken).setPhone({ userId: user.userId, phone, sendCode: {} }), user);
      await server.waitForSms(phone, mark);
    });
  });

  describe("ResendPhoneCode", () => {
    it("send_code: a new code.added and a new SMS with a new code", async () => {
      const user = await server.addUser();
      const phone = uniquePhone();
      const first = await setAndReadCode(user, phone);
      const mark = server.logs.length;
      const result = await v2(user.token).resendPhoneCode({ userId: user.userId, sendCode: {} });
      expect(Object.keys(result)).toEqual(["details"]);
      expect(Number(expectChangeDetails(result, user).sequence)).toBeGreaterThan(3);
      const second = codeFromSms(await server.waitForSms(phone, mark));
      expect(second).not.toBe(first);
      await v2(user.token).verifyPhone({ userId: user.userId, verificationCode: second });
      expect((await v1(user).get()).phone).toEqual({ phone, isPhoneVerified: true });
    });

    it("return_code by a holder of the user.write role: the code comes back and no further SMS job is queued", async () => {
      const user = await server.addUser();
      await setAndReadCode(user, uniquePhone());
      const result = await v2(adminToken).resendPhoneCode({ userId: user.userId, returnCode: {} });
      expect(result.verificationCode).toMatch(/^[A-Z0-9]{6}$/);
      expectChangeDetails(result, user);
      expect(await smsJobsOf(user.userId)).toHaveLength(1);
      expect((await lastEventOf(user.userId))?.data?.code_returned).toBe(true);
      await v2(user.token).verifyPhone({ userId: user.userId, verificationCode: result.verificationCode! });
    });
  });

  describe("VerifyPhone", () => {
    it("anyone holding the code verifies the number: no permission is checked", async () => {
      const user = await server.addUser();
      const code = await setAndReadCode(user, uniquePhone());
      const stranger = await server.addUser();
      const result = await v2(stranger.token).verifyPhone({ userId: user.userId, verificationCode: code });
      expect(Object.keys(result)).toEqual(["details"]);
      expectChangeDetails(result, user);
      expect((await v1(user).get()).phone?.isPhoneVerified).toBe(true);
    });
  });

  describe("RemovePhone", () => {
    it("one's own number, without any permission; the same number can be set again", async () => {
      const user = await server.addUser();
      const phone = uniquePhone();
      await setAndReadCode(user, phone);
      const result = await v2(user.token).removePhone({ userId: user.userId });
      expect(Object.keys(result)).toEqual(["details"]);
      expect(Number(expectChangeDetails(result, user).sequence)).toBeGreaterThan(3);
      expect((await v1(user).get()).phone).toEqual({});
      await v2(user.token).setPhone({ userId: user.userId, phone });
    });

    it("another user's number by a holder of the user.write role", async () => {
      const user = await server.addUser();
      await v1(user).set(uniquePhone());
      expectChangeDetails(await v2(adminToken).removePhone({ userId: user.userId }), user);
      expect((await v1(user).get()).phone).toEqual({});
    });
  });

  describe("errors: ZITADEL's v2 ids", () => {
    it("COMMAND-ieJ2e (NotFound): no such user, or a machine user, for every method", async () => {
      const machine = await server.addUser({ machine: true });
      await expectDomainError(
        client,
        v2(adminToken).setPhone({ userId: "no-such-user", phone: uniquePhone() }),
        NOT_FOUND_USER,
      );
      await expectDomainError(
        client,
        v2(machine.token).setPhone({ userId: machine.userId, phone: uniquePhone() }),
        NOT_FOUND_USER,
      );
      await expectDomainError(client, v2(adminToken).resendPhoneCode({ userId: "no-such-user" }), NOT_FOUND_USER);
      await expectDomainError(
        client,
        v2(machine.token).verifyPhone({ userId: machine.userId, verificationCode: "ABC123" }),
        NOT_FOUND_USER,
      );
      await expectDomainError(client, v2(adminToken).removePhone({ userId: "no-such-user" }), NOT_FOUND_USER);
    });

    it("COMMAND-ieJ2e (FailedPrecondition): RemovePhone without a number", async () => {
      const user = await server.addUser();
      await expectDomainError(client, v2(user.token).removePhone({ userId: user.userId }), {
        code: 9,
        id: "COMMAND-ieJ2e",
        message: "Phone not found",
      });
    });

    it("COMMAND-Uch5e: the same number again (also when written nationally)", async () => {
      const user = await server.addUser();
      await v2(user.token).setPhone({ userId: user.userId, phone: "+41 76 111 22 33" });
      await expectDomainError(client, v2(user.token).setPhone({ userId: user.userId, phone: "076 111 22 33" }), {
        code: 9,
        id: "COMMAND-Uch5e",
        message: "Phone not changed",
      });
    });

    it("PHONE-so0wa: not a phone number", async () => {
      const user = await server.addUser();
      await expectDomainError(client, v2(user.token).setPhone({ userId: user.userId, phone: "abc" }), {
        code: 3,
        id: "PHONE-so0wa",
        message: "Phone is invalid",
      });
    });

    it("PHONE-5xrra88eq8: ResendPhoneCode without a pending code (no number; a verified number)", async () => {
      const user = await server.addUser();
      const empty = { code: 9, id: "PHONE-5xrra88eq8", message: "Code is empty" };
      await expectDomainError(client, v2(user.token).resendPhoneCode({ userId: user.userId }), empty);
      await v2(serviceAccountToken).setPhone({ userId: user.userId, phone: uniquePhone(), isVerified: true });
      await expectDomainError(client, v2(user.token).resendPhoneCode({ userId: user.userId, sendCode: {} }), empty);
    });

    it("COMMAND-eis9R: a wrong code (recorded as verification.failed) and no code at all (nothing recorded)", async () => {
      const user = await server.addUser();
      const invalid = { code: 3, id: "COMMAND-eis9R", message: "Code is invalid" };
      await expectDomainError(
        client,
        v2(user.token).verifyPhone({ userId: user.userId, verificationCode: "ABC123" }),
        invalid,
      );
      expect((await lastEventOf(user.userId))?.type).toBe(UserEventType.humanAdded);
      await v2(user.token).setPhone({ userId: user.userId, phone: uniquePhone() });
      await expectDomainError(
        client,
        v2(user.token).verifyPhone({ userId: user.userId, verificationCode: "WRONG1" }),
        invalid,
      );
      expect((await lastEventOf(user.userId))?.type).toBe(UserEventType.phoneVerificationFailed);
    });

    it("field rules (ZITADEL: PGV, no id; ours carry one): user_id, phone, is_verified false, verification_code", async () => {
      const user = await server.addUser();
      await expectDomainError(client, v2(user.token).removePhone({ userId: "1".repeat(201) }), {
        code: 3,
        id: "MYPHONE-V2Uid",
        message: "User ID must be 1 to 200 characters",
      });
      await expectDomainError(client, v2(user.token).setPhone({ userId: user.userId, phone: "" }), {
        code: 3,
        id: "MYPHONE-V2PhL",
        message: "Phone must be 1 to 200 characters",
      });
      await expectDomainError(
        client,
        v2(adminToken).setPhone({ userId: user.userId, phone: uniquePhone(), isVerified: false }),
        {
          code: 3,
          id: "MYPHONE-V2Vrf",
          message: "is_verified must be true when set",
        },
      );
      await expectDomainError(
        client,
        v2(user.token).verifyPhone({ userId: user.userId, verificationCode: "A".repeat(21) }),
        {
          code: 3,
          id: "MYPHONE-V2CoL",
          message: "Code must be 1 to 20 characters",
        },
      );
    });

    it("no authorization header: ZITADEL's bare `auth header missing`, before the request is looked at", async () => {
      await expectAuthHeaderMissing(client, v2(undefined).setPhone({ userId: "x", phone: "" }));
    });
  });

  describe("user.write (myphone's stand-in for ZITADEL's permission)", () => {
    it("AUTHZ-cdgFk without any roles: return_code and is_verified even for oneself, and another user's number", async () => {
      const user = await server.addUser();
      const other = await server.addUser();
      await expectDomainError(
        client,
        v2(user.token).setPhone({ userId: user.userId, phone: uniquePhone(), returnCode: {} }),
        MEMBERSHIP_NOT_FOUND,
      );
      await expectDomainError(
        client,
        v2(user.token).setPhone({ userId: user.userId, phone: uniquePhone(), isVerified: true }),
        MEMBERSHIP_NOT_FOUND,
      );
      await expectDomainError(
        client,
        v2(user.token).setPhone({ userId: other.userId, phone: uniquePhone() }),
        MEMBERSHIP_NOT_FOUND,
      );
      await v1(other).set(uniquePhone());
      await expectDomainError(client, v2(user.token).resendPhoneCode({ userId: other.userId }), MEMBERSHIP_NOT_FOUND);
      await expectDomainError(
        client,
        v2(other.token).resendPhoneCode({ userId: other.userId, returnCode: {} }),
        MEMBERSHIP_NOT_FOUND,
      );
      await expectDomainError(client, v2(user.token).removePhone({ userId: other.userId }), MEMBERSHIP_NOT_FOUND);
      expect((await v1(user).get()).phone).toEqual({});
    });

    it("AUTH-AWfge with roles but not the user.write one", async () => {
      const user = await server.addUser();
      await v1(user).set(uniquePhone());
      await expectDomainError(
        client,
        v2(memberToken).setPhone({ userId: user.userId, phone: uniquePhone() }),
        NO_MATCHING_PERMISSIONS,
      );
      await expectDomainError(
        client,
        v2(memberToken).resendPhoneCode({ userId: user.userId, returnCode: {} }),
        NO_MATCHING_PERMISSIONS,
      );
      await expectDomainError(client, v2(memberToken).removePhone({ userId: user.userId }), NO_MATCHING_PERMISSIONS);
    });

    it("the user is looked up before the permission: a missing user is COMMAND-ieJ2e for anyone", async () => {
      await expectDomainError(client, v2(memberToken).removePhone({ userId: "no-such-user" }), NOT_FOUND_USER);
    });
  });

  describe("v1 and v2 on one user", () => {
    it("a v1 number is v2's: v2 Set of it is COMMAND-Uch5e, v2 verifies v1's SMS code, v1 sees it verified", async () => {
      const user = await server.addUser();
      const phone = uniquePhone();
      const mark = server.logs.length;
      await v1(user).set(phone);
      const code = codeFromSms(await server.waitForSms(phone, mark));
      await expectDomainError(client, v2(user.token).setPhone({ userId: user.userId, phone }), {
        code: 9,
        id: "COMMAND-Uch5e",
        message: "Phone not changed",
      });
      await v2(user.token).verifyPhone({ userId: user.userId, verificationCode: code });
      expect((await v1(user).get()).phone).toEqual({ phone, isPhoneVerified: true });
      await expectDomainError(client, v1(user).resend(), {
        code: 9,
        id: "COMMAND-2M9sf",
        message: "Phone already verified",
      });
    });

    it("a v2 number is v1's: v1 resends its code, v1 removes it, v2 then finds none", async () => {
      const user = await server.addUser();
      const phone = uniquePhone();
      await v2(user.token).setPhone({ userId: user.userId, phone });
      const mark = server.logs.length;
      await v1(user).resend();
      await server.waitForSms(phone, mark);
      await v1(user).remove();
      await expectDomainError(client, v2(user.token).removePhone({ userId: user.userId }), {
        code: 9,
        id: "COMMAND-ieJ2e",
        message: "Phone not found",
      });
    });
  });
});

describe("REST specifics (curl, as ZITADEL's docs write it)", () => {
  const headers = (token: string) => ({
    "content-type": "application/json",
    accept: "application/json",
    authorization: `Bearer ${token}`,
  });

  it("POST /v2/users/{user_id}/phone with returnCode answers {details, verificationCode} as proto3 JSON", async () => {
    const user = await server.addUser();
    const response = await curlRaw({
      method: "POST",
      url: `${server.url}/v2/users/${user.userId}/phone`,
      headers: headers(adminToken),
      body: JSON.stringify({ phone: "+41791234567", returnCode: {} }),
    });
    expect(response.status).toBe(200);
    expect(response.contentType).toMatch(/^application\/json\b/);
    const body = parseJsonObject(response.body);
    expect(body).toEqual({
      details: { sequence: "3", changeDate: expect.any(String), resourceOwner: user.orgId },
      verificationCode: expect.stringMatching(/^[A-Z0-9]{6}$/),
    });
  });

  it("DELETE /v2/users/{user_id}/phone works without a body, and with ZITADEL docs' {}", async () => {
    for (const body of [undefined, "{}"]) {
      const user = await server.addUser();
      await ALL_CLIENTS[0]!.create(server.url, user.token).set(uniquePhone());
      const response = await curlRaw({
        method: "DELETE",
        url: `${server.url}/v2/users/${user.userId}/phone`,
        headers: headers(user.token),
        body,
      });
      expect({ status: response.status, body: parseJsonObject(response.body) }).toEqual({
        status: 200,
        body: { details: expect.objectContaining({ resourceOwner: user.orgId }) },
      });
    }
  });

  it("the path's user_id wins over one in the body (grpc-gateway fills path fields after the body)", async () => {
    const user = await server.addUser();
    const other = await server.addUser();
    const response = await curlRaw({
      method: "POST",
      url: `${server.url}/v2/users/${user.userId}/phone`,
      headers: headers(user.token),
      body: JSON.stringify({ userId: other.userId, phone: uniquePhone() }),
    });
    expect(response.status).toBe(200);
    expect(await smsJobsOf(user.userId)).toHaveLength(1);
    expect(await smsJobsOf(other.userId)).toEqual([]);
  });

  it("an error body is google.rpc.Status with the ErrorDetail; unknown fields are ignored", async () => {
    const user = await server.addUser();
    const response = await curlRaw({
      method: "POST",
      url: `${server.url}/v2/users/${user.userId}/phone/resend`,
      headers: headers(user.token),
      body: JSON.stringify({ sendCode: {}, someUnknownField: 1 }),
    });
    expect(response.status).toBe(400);
    expect(parseJsonObject(response.body)).toStrictEqual({
      code: 9,
      message: "Code is empty (PHONE-5xrra88eq8)",
      details: [
        { "@type": "type.googleapis.com/zitadel.v1.ErrorDetail", id: "PHONE-5xrra88eq8", message: "Code is empty" },
      ],
    });
  });

  it.each([
    ["GET", "/v2/users/1/phone"],
    ["PUT", "/v2/users/1/phone"],
    ["GET", "/v2/users/1/phone/verify"],
    ["DELETE", "/v2/users/1/phone/resend"],
  ])("wrong method %s %s → 405", async (method, path) => {
    const response = await curlRaw({ method, url: server.url + path, headers: headers(adminToken) });
    expect(response.status).toBe(405);
  });

  it("an escaped user_id in the path is decoded", async () => {
    const response = await curlRaw({
      method: "DELETE",
      url: `${server.url}/v2/users/no%2Dsuch%2Duser/phone`,
      headers: headers(adminToken),
    });
    expect(parseJsonObject(response.body)).toMatchObject({ code: 5, message: "Phone not found (COMMAND-ieJ2e)" });
  });
});

describe("abuse limits: every v2 send counts, returned codes do not (abuse limits on)", () => {
  let limited: TestServer;
  let admin: string;
  beforeAll(async () => {
    limited = await startTestServer({
      MYPHONE_ABUSE_LIMITS: "on",
      MYPHONE_RESEND_COOLDOWN: "60s",
      MYPHONE_SENDS_PER_NUMBER: "2/1h",
      MYPHONE_SENDS_PER_IP: "off",
      MYPHONE_AUTH_USER_WRITE_ROLE: ADMIN_ROLE,
    });
    admin = await limited.issuer.mint("admin-1", 600, { roles: [ADMIN_ROLE] });
  });
  afterAll(() => limited?.stop());

  describe.each(
    ["grpc-js", "curl REST", "connect-node connect json h1"].map((name) => ALL_CLIENTS.find((c) => c.name === name)!),
  )("$name", (client: ClientFactory) => {
    it("send_code waits out the cooldown (SnCdn, RetryInfo); return_code does not, and does not restart it", async () => {
      const user = await limited.addUser();
      const api = client.createV2(limited.url, user.token);
      await api.setPhone({ userId: user.userId, phone: uniquePhone(), sendCode: {} });
      const cooldown = await caught(api.resendPhoneCode({ userId: user.userId, sendCode: {} }));
      expect({ code: cooldown.code, id: cooldown.detailId }).toEqual({ code: 8, id: "MYPHONE-SnCdn" });
      if (client.kind === "curl-rest") expect(cooldown.httpStatus).toBe(429);
      const returned: ApiResult = await client
        .createV2(limited.url, admin)
        .resendPhoneCode({ userId: user.userId, returnCode: {} });
      expect(returned.verificationCode).toMatch(/^[A-Z0-9]{6}$/);
      expect((await caught(client.create(limited.url, user.token).resend())).detailId).toBe("MYPHONE-SnCdn");
    });

    it("the per-number cap counts v1 and v2 sends alike and never returned codes", async () => {
      const phone = uniquePhone();
      const [a, b, c, d] = await Promise.all([
        limited.addUser(),
        limited.addUser(),
        limited.addUser(),
        limited.addUser(),
      ]);
      await client.create(limited.url, a!.token).set(phone);
      await client.createV2(limited.url, b!.token).setPhone({ userId: b!.userId, phone });
      const capped = await caught(client.createV2(limited.url, c!.token).setPhone({ userId: c!.userId, phone }));
      expect({ code: capped.code, id: capped.detailId }).toEqual({ code: 8, id: "MYPHONE-SnNum" });
      const returned = await client.createV2(limited.url, admin).setPhone({ userId: d!.userId, phone, returnCode: {} });
      expect(returned.verificationCode).toMatch(/^[A-Z0-9]{6}$/);
    });
  });
});
