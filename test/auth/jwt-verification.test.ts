import { SignJWT } from "jose";
import { closeAllClients } from "../support/clients.js";
import {
  FAKE_AUDIENCE,
  jwtSettings,
  startFakeOidcProvider,
  type FakeOidcProvider,
} from "../support/fake-oidc-provider.js";
import { startTestServer, type TestServer, type TestUser } from "../support/test-server.js";
import { AUTH_TEST_CLIENTS, expectWireError, TOKEN_INVALID, TOKEN_UNVERIFIABLE } from "./wire-expectations.js";

/**
 * MYPHONE_AUTH_MODE=jwt against a fake identity provider on loopback (discovery + JWKS): every way a token can be
 * wrong is refused as AUTH-7fs1e on every protocol, and a rotated signing key is accepted after a JWKS refresh.
 */

let provider: FakeOidcProvider;
let server: TestServer;
let user: TestUser;

const now = () => Math.floor(Date.now() / 1000);
const base64url = (value: object) => Buffer.from(JSON.stringify(value)).toString("base64url");

beforeAll(async () => {
  provider = await startFakeOidcProvider();
  server = await startTestServer({
    MYPHONE_STORE: "memory",
    ...jwtSettings(provider),
    // 0: every unknown kid refetches the JWKS, so rotation is visible at once (the cooldown has its own test).
    MYPHONE_AUTH_JWKS_COOLDOWN: "0",
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

  it("accepts a valid token (keys found through OIDC discovery)", async () => {
    const result = await call(await provider.sign({ sub: user.userId }));
    expect(result.details?.resourceOwner).toBe(user.orgId);
    expect(provider.requests.discovery).toBeGreaterThanOrEqual(1);
  });

  it.each<[string, () => Promise<string>]>([
    // ZITADEL's JWT access token (internal/api/oidc/token.go createJWT, signer.go WithType("JWT")): typ JWT, client_id, jti.
    [
      "shaped like ZITADEL's (typ JWT, client_id, jti)",
      () =>
        provider.sign({ sub: user.userId, client_id: "287000000000000002@myphone", jti: "V2_300000000000000001-at_1" }),
    ],
    ["typed at+jwt (RFC 9068)", () => provider.sign({ sub: user.userId }, { typ: "at+jwt" })],
    [
      "typed application/AT+JWT (media types ignore case)",
      () => provider.sign({ sub: user.userId }, { typ: "application/AT+JWT" }),
    ],
    ["without a typ header", () => provider.sign({ sub: user.userId }, { typ: null })],
    [
      "issued 20 s in the future (within MYPHONE_AUTH_CLOCK_SKEW)",
      () => provider.sign({ sub: user.userId, iat: now() + 20 }),
    ],
  ])("accepts an access token %s", async (_case, token) => {
    const result = await call(await token());
    expect(result.details?.resourceOwner).toBe(user.orgId);
  });

  it.each<[string, () => Promise<string>]>([
    ["expired", () => provider.sign({ sub: user.userId, iat: now() - 7200, exp: now() - 3600 })],
    ["not yet valid (nbf in an hour)", () => provider.sign({ sub: user.userId, nbf: now() + 3600 })],
    ["without exp", () => provider.sign({ sub: user.userId, exp: undefined })],
    ["from another issuer", () => provider.sign({ sub: user.userId, iss: "https://issuer.example.com" })],
    ["for another audience", () => provider.sign({ sub: user.userId, aud: "another-project" })],
    ["without the user claim", () => provider.sign({ sub: undefined })],
    ["issued in the future (iat an hour ahead)", () => provider.sign({ sub: user.userId, iat: now() + 3600 })],
    ["that is an ID token (nonce)", () => provider.sign({ sub: user.userId, nonce: "n-0S6_WzA2Mj" })],
    [
      "that is an ID token (at_hash, as ZITADEL's ID tokens carry)",
      () => provider.sign({ sub: user.userId, at_hash: "77QmUPtjPfzWtF2AnpK9RQ", azp: "287000000000000002@myphone" }),
    ],
    ["typed as another kind of JWT (typ logout+jwt)", () => provider.sign({ sub: user.userId }, { typ: "logout+jwt" })],
    ["with = padding after a valid token", async () => `${await provider.sign({ sub: user.userId })}=`],
    [
      "alg none (unsigned)",
      async () =>
        `${base64url({ alg: "none", typ: "JWT" })}.${base64url({ iss: provider.issuer, aud: FAKE_AUDIENCE, sub: user.userId, exp: now() + 600 })}.`,
    ],
    [
      "HS256 signed with the provider's public key as the secret (RS/HS confusion)",
      async () =>
        new SignJWT({ iss: provider.issuer, aud: FAKE_AUDIENCE, sub: user.userId, exp: now() + 600 })
          .setProtectedHeader({ alg: "HS256", kid: provider.currentKid, typ: "JWT" })
          .sign(new TextEncoder().encode(await provider.currentPublicKeyPem())),
    ],
    [
      "signed by a key with a kid the JWKS does not have",
      async () => {
        const foreign = await provider.unpublishedKey();
        return provider.sign({ sub: user.userId }, { kid: foreign.kid, key: foreign.privateKey });
      },
    ],
    [
      "signed by an unknown key under a published kid",
      async () => provider.sign({ sub: user.userId }, { key: (await provider.unpublishedKey()).privateKey }),
    ],
    [
      "with a tampered payload (sub changed, signature kept)",
      async () => {
        const [header, , signature] = (await provider.sign({ sub: "300000000000000999" })).split(".");
        return `${header}.${base64url({ iss: provider.issuer, aud: FAKE_AUDIENCE, sub: user.userId, iat: now(), exp: now() + 600 })}.${signature}`;
      },
    ],
  ])("rejects a token %s: Unauthenticated AUTH-7fs1e", async (_case, token) => {
    await expectWireError(client, call(await token()), TOKEN_INVALID);
  });
});

test("an unknown kid makes the server refetch the JWKS before refusing", async () => {
  await AUTH_TEST_CLIENTS[0]!.create(server.url, await provider.sign({ sub: user.userId })).get();
  const before = provider.requests.jwks;
  const foreign = await provider.unpublishedKey();
  const token = await provider.sign({ sub: user.userId }, { kid: foreign.kid, key: foreign.privateKey });
  await expectWireError(AUTH_TEST_CLIENTS[0]!, AUTH_TEST_CLIENTS[0]!.create(server.url, token).get(), TOKEN_INVALID);
  expect(provider.requests.jwks).toBe(before + 1);
});

test("after key rotation, tokens signed with the new key are accepted once the JWKS is refreshed", async () => {
  const client = AUTH_TEST_CLIENTS[0]!;
  await client.create(server.url, await provider.sign({ sub: user.userId })).get();
  const fetchesBefore = provider.requests.jwks;
  const oldKid = provider.currentKid;
  await provider.rotate({ dropOld: true });
  expect(provider.currentKid).not.toBe(oldKid);

  const result = await client.create(server.url, await provider.sign({ sub: user.userId })).get();
  expect(result.details?.resourceOwner).toBe(user.orgId);
  expect(provider.requests.jwks).toBe(fetchesBefore + 1);
  // Later calls use the refreshed key set without asking again.
  await client.create(server.url, await provider.sign({ sub: user.userId })).get();
  expect(provider.requests.jwks).toBe(fetchesBefore + 1);
});

describe("with the JWKS refresh cooldown", () => {
  let coolServer: TestServer;
  let coolUser: TestUser;

  beforeAll(async () => {
    coolServer = await startTestServer({
      MYPHONE_STORE: "memory",
      MYPHONE_AUTH_MODE: "jwt",
      MYPHONE_AUTH_ISSUER: provider.issuer,
      MYPHONE_AUTH_JWKS_URL: provider.jwksUrl,
      MYPHONE_AUTH_AUDIENCE: `other,${FAKE_AUDIENCE}`,
      MYPHONE_AUTH_JWKS_COOLDOWN: "1h",
    });
    coolUser = await coolServer.addUser();
  });
  afterAll(() => coolServer?.stop());

  it("a flood of unknown kids does not make the server hammer the provider", async () => {
    const client = AUTH_TEST_CLIENTS[2]!;
    await client.create(coolServer.url, await provider.sign({ sub: coolUser.userId })).get();
    const fetches = provider.requests.jwks;
    for (let i = 0; i < 5; i++) {
      const foreign = await provider.unpublishedKey();
      const token = await provider.sign({ sub: coolUser.userId }, { kid: foreign.kid, key: foreign.privateKey });
      await expectWireError(client, client.create(coolServer.url, token).get(), TOKEN_INVALID);
    }
    expect(provider.requests.jwks).toBe(fetches);
  });
});

describe("when the identity provider is down", () => {
  let downProvider: FakeOidcProvider;
  let downServer: TestServer;
  let downUser: TestUser;

  beforeAll(async () => {
    downProvider = await startFakeOidcProvider();
    downServer = await startTestServer({
      MYPHONE_STORE: "memory",
      ...jwtSettings(downProvider),
    });
    downUser = await downServer.addUser();
  });
  afterAll(async () => {
    await downServer?.stop();
    await downProvider?.close();
  });

  it("answers Unavailable (the token may be fine), logs the problem, and recovers without a restart", async () => {
    const client = AUTH_TEST_CLIENTS[3]!;
    const token = await downProvider.sign({ sub: downUser.userId });
    downProvider.failWith(503);
    await expectWireError(client, client.create(downServer.url, token).get(), TOKEN_UNVERIFIABLE);
    expect(downServer.logs.some((line) => line.msg === "OIDC discovery failed")).toBe(true);

    downProvider.failWith(undefined);
    const result = await client.create(downServer.url, token).get();
    expect(result.details?.resourceOwner).toBe(downUser.orgId);
  });
});
