import { closeAllClients } from "../support/clients.js";
import {
  FAKE_AUDIENCE,
  introspectionSettings,
  newOpaqueToken,
  startFakeOidcProvider,
  type FakeOidcProvider,
} from "../support/fake-oidc-provider.js";
import { startTestServer, type TestServer, type TestUser } from "../support/test-server.js";
import { AUTH_TEST_CLIENTS, expectWireError, TOKEN_INVALID, TOKEN_UNVERIFIABLE } from "./wire-expectations.js";

/**
 * MYPHONE_AUTH_MODE=introspection (RFC 7662) against a fake identity provider on loopback: the endpoint comes from
 * discovery, the server authenticates with client credentials, only active answers pass and are cached briefly.
 */

let provider: FakeOidcProvider;
let server: TestServer;
let user: TestUser;

const now = () => Math.floor(Date.now() / 1000);

/** A fresh opaque token whose introspection answer is `answer` (defaults: active, this user, right iss and aud). */
const opaqueToken = (answer: Record<string, unknown> = {}) =>
  newOpaqueToken(provider, { sub: user.userId, token_type: "Bearer", ...answer });

beforeAll(async () => {
  provider = await startFakeOidcProvider();
  server = await startTestServer({
    MYPHONE_STORE: "memory",
    ...introspectionSettings(provider),
    MYPHONE_AUTH_INTROSPECTION_CACHE: "1h",
    // Every client here sends refused tokens from 127.0.0.1; the per-address limit has its own tests (introspection-amplification).
    MYPHONE_AUTH_INTROSPECTION_FAILURES_PER_IP: "off",
  });
  user = await server.addUser();
});

afterAll(async () => {
  closeAllClients();
  await server?.stop();
  await provider?.close();
});

describe.each(AUTH_TEST_CLIENTS)("$name", (client) => {
  const call = (token: string) => client.create(server.url, token).get();

  it("accepts an active token (endpoint from discovery, client credentials accepted)", async () => {
    const before = provider.requests.introspection;
    const result = await call(opaqueToken());
    expect(result.details?.resourceOwner).toBe(user.orgId);
    expect(provider.requests.introspection).toBe(before + 1);
    expect(provider.requests.introspectionUnauthorized).toBe(0);
  });

  it("serves a second call with the same token from the cache", async () => {
    const token = opaqueToken();
    await call(token);
    const after = provider.requests.introspection;
    await call(token);
    expect(provider.requests.introspection).toBe(after);
  });

  it("rejects an inactive token, and refuses it again without asking (MYPHONE_AUTH_INTROSPECTION_NEGATIVE_CACHE)", async () => {
    const token = opaqueToken({ active: false });
    const before = provider.requests.introspection;
    await expectWireError(client, call(token), TOKEN_INVALID);
    await expectWireError(client, call(token), TOKEN_INVALID);
    expect(provider.requests.introspection).toBe(before + 1);
  });

  it.each<[string, Record<string, unknown>]>([
    ["unknown to the provider", { active: false, sub: undefined, iss: undefined, aud: undefined, exp: undefined }],
    ["active with an exp in the past", { exp: now() - 3600 }],
    ["active but not yet valid", { nbf: now() + 3600 }],
    ["active for another audience", { aud: ["another-project"] }],
    ["active from another issuer", { iss: "https://issuer.example.com" }],
    ["active without the user claim", { sub: undefined }],
  ])("rejects a token %s: Unauthenticated AUTH-7fs1e", async (_case, answer) => {
    await expectWireError(client, call(opaqueToken(answer)), TOKEN_INVALID);
  });
});

describe("with wrong client credentials", () => {
  let misconfigured: TestServer;

  beforeAll(async () => {
    misconfigured = await startTestServer({
      MYPHONE_STORE: "memory",
      MYPHONE_AUTH_MODE: "introspection",
      MYPHONE_AUTH_INTROSPECTION_URL: provider.introspectionUrl,
      MYPHONE_AUTH_INTROSPECTION_CLIENT_ID: provider.clientId,
      MYPHONE_AUTH_INTROSPECTION_CLIENT_SECRET: "wrong-secret",
      MYPHONE_AUTH_AUDIENCE: FAKE_AUDIENCE,
    });
  });
  afterAll(() => misconfigured?.stop());

  it("answers Unavailable rather than blaming the token, and logs why without the secret", async () => {
    const client = AUTH_TEST_CLIENTS[3]!;
    const before = provider.requests.introspectionUnauthorized;
    await expectWireError(client, client.create(misconfigured.url, opaqueToken()).get(), TOKEN_UNVERIFIABLE);
    expect(provider.requests.introspectionUnauthorized).toBe(before + 1);
    const logged = JSON.stringify(misconfigured.logs);
    expect(logged).toContain("token introspection failed");
    expect(logged).not.toContain("wrong-secret");
  });
});

describe("with the cache off", () => {
  let uncached: TestServer;

  beforeAll(async () => {
    uncached = await startTestServer({
      MYPHONE_STORE: "memory",
      MYPHONE_AUTH_MODE: "introspection",
      MYPHONE_AUTH_INTROSPECTION_URL: provider.introspectionUrl,
      MYPHONE_AUTH_INTROSPECTION_CLIENT_ID: provider.clientId,
      MYPHONE_AUTH_INTROSPECTION_CLIENT_SECRET: provider.clientSecret,
      MYPHONE_AUTH_INTROSPECTION_CACHE: "0",
      MYPHONE_AUTH_AUDIENCE: FAKE_AUDIENCE,
    });
  });
  afterAll(() => uncached?.stop());

  it("asks the provider on every call, so a revoked token stops working at once", async () => {
    const client = AUTH_TEST_CLIENTS[2]!;
    const token = opaqueToken({ sub: (await uncached.addUser()).userId });
    await client.create(uncached.url, token).get();
    provider.registerOpaqueToken(token, { active: false });
    await expectWireError(client, client.create(uncached.url, token).get(), TOKEN_INVALID);
  });
});
