import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DevTokenIssuer } from "../../src/auth/dev-token-issuer.js";
import { rolesIn } from "../../src/auth/token-claims.js";
import { UserWritePermission } from "../../src/auth/user-write-permission.js";
import { loadConfig } from "../../src/config.js";
import { closeAllClients } from "../support/clients.js";
import { jwtSettings, startFakeOidcProvider, type FakeOidcProvider } from "../support/fake-oidc-provider.js";
import { startTestServer, type TestServer } from "../support/test-server.js";
import { AUTH_TEST_CLIENTS, expectWireError } from "./wire-expectations.js";

/** The stand-in for ZITADEL's user.write: the roles claim's shapes, the grant rules, and a ZITADEL-shaped JWT end to end. */

const ZITADEL_ROLES_CLAIM = "urn:zitadel:iam:org:project:roles";

describe("rolesIn", () => {
  it.each<[string, unknown, string[] | undefined]>([
    // ZITADEL: role key → {org id: org domain}
    [
      "ZITADEL's object keyed by role",
      { "phone-admin": { "218000000000000001": "acme.zitadel.cloud" }, viewer: {} },
      ["phone-admin", "viewer"],
    ],
    ["an array of names", ["phone-admin", 7, "", "viewer"], ["phone-admin", "viewer"]],
    ["a space-separated string", " phone-admin  viewer ", ["phone-admin", "viewer"]],
    ["an empty object", {}, undefined],
    ["absent", undefined, undefined],
    ["a number", 1, undefined],
    ["null", null, undefined],
  ])("%s", (_label, value, roles) => {
    expect(rolesIn(value)).toEqual(roles);
  });
});

describe("UserWritePermission", () => {
  const permission = new UserWritePermission({ role: "phone-admin", userIds: ["svc-1"] });

  it("grants the role and the listed users; refuses others, telling roles from none", () => {
    expect(permission.of({ userId: "u1", roles: ["viewer", "phone-admin"] })).toBe("granted");
    expect(permission.of({ userId: "svc-1" })).toBe("granted");
    expect(permission.of({ userId: "u1", roles: ["viewer"] })).toBe("denied");
    expect(permission.of({ userId: "u1" })).toBe("no_memberships");
    expect(permission.of({ userId: "u1", roles: [] })).toBe("no_memberships");
  });

  it("without a configured role no role grants it", () => {
    expect(new UserWritePermission({}).of({ userId: "u1", roles: ["phone-admin"] })).toBe("denied");
  });

  it("the settings default to ZITADEL's project roles claim, no role and no users", () => {
    const config = loadConfig({});
    expect(config.MYPHONE_AUTH_ROLES_CLAIM).toBe(ZITADEL_ROLES_CLAIM);
    expect(config.MYPHONE_AUTH_USER_WRITE_ROLE).toBeUndefined();
    expect(config.MYPHONE_AUTH_USER_WRITE_USERS).toBeUndefined();
    expect(loadConfig({ MYPHONE_AUTH_USER_WRITE_USERS: " svc-1, svc-2 " }).MYPHONE_AUTH_USER_WRITE_USERS).toEqual([
      "svc-1",
      "svc-2",
    ]);
  });
});

describe("DevTokenIssuer roles", () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "myphone-roles-"));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("puts roles into the roles claim in ZITADEL's shape and reads them back", async () => {
    const issuer = await DevTokenIssuer.open(dir, { rolesClaim: ZITADEL_ROLES_CLAIM });
    const token = await issuer.mint("u1", 60, { roles: ["phone-admin"] });
    const payload = JSON.parse(Buffer.from(token.split(".")[1]!, "base64url").toString("utf8")) as Record<
      string,
      unknown
    >;
    expect(payload[ZITADEL_ROLES_CLAIM]).toEqual({ "phone-admin": {} });
    expect(await issuer.verify(token)).toEqual({ userId: "u1", roles: ["phone-admin"] });
    expect(await issuer.verify(await issuer.mint("u1", 60))).toEqual({ userId: "u1" });
  });
});

describe("a ZITADEL-shaped JWT (MYPHONE_AUTH_MODE=jwt) carries the role to the v2 methods", () => {
  let provider: FakeOidcProvider;
  let server: TestServer;
  beforeAll(async () => {
    provider = await startFakeOidcProvider();
    server = await startTestServer({
      MYPHONE_STORE: "memory",
      ...jwtSettings(provider),
      MYPHONE_AUTH_USER_WRITE_ROLE: "phone-admin",
    });
  });
  afterAll(async () => {
    closeAllClients();
    await server?.stop();
    await provider?.close();
  });

  describe.each(AUTH_TEST_CLIENTS)("$name", (client) => {
    it("the role in urn:zitadel:iam:org:project:roles grants return_code; another role does not", async () => {
      const user = await server.addUser();
      const withRoles = async (roles: object) =>
        client.createV2(server.url, await provider.sign({ sub: "admin-1", [ZITADEL_ROLES_CLAIM]: roles }));
      const granted = await (
        await withRoles({ "phone-admin": { [user.orgId]: "acme.example.com" } })
      ).setPhone({ userId: user.userId, phone: "+41761112233", returnCode: {} });
      expect(granted.verificationCode).toMatch(/^[A-Z0-9]{6}$/);
      await expectWireError(
        client,
        (await withRoles({ viewer: { [user.orgId]: "acme.example.com" } })).removePhone({ userId: user.userId }),
        {
          code: 7,
          id: "AUTH-AWfge",
          message: "No matching permissions found",
        },
      );
    });
  });
});
