import { SignJWT } from "jose";
import { ALL_CLIENTS, ApiError, closeAllClients, prepareBufSchema } from "../support/clients.js";
import {
  FAKE_AUDIENCE,
  jwtSettings,
  startFakeOidcProvider,
  type FakeOidcProvider,
} from "../support/fake-oidc-provider.js";
import { startTestServer, type TestServer, type TestUser } from "../support/test-server.js";
import { grpcFrame, h1Request, h2Request, INTERNALS, visibleText, type RawAnswer } from "./raw-http.js";

/**
 * Issue 5, acceptance 4 (tokens and stack traces): a run with every kind of token failure and with internal
 * errors (the event store closed under the running server) is captured whole, every response on every protocol
 * and every log line, and searched: no token appears anywhere, no stack trace or source path in any response.
 * Stack traces may appear in the logs only on error-level lines about internal failures.
 */

let provider: FakeOidcProvider;
let server: TestServer;
let user: TestUser;
/** Every token sent in this run. */
const tokens: string[] = [];
/** Everything the server answered, as clients see it. */
const answers: string[] = [];

const now = () => Math.floor(Date.now() / 1000);
const base64url = (value: object) => Buffer.from(JSON.stringify(value)).toString("base64url");

beforeAll(async () => {
  provider = await startFakeOidcProvider();
  await prepareBufSchema();
  server = await startTestServer({
    ...jwtSettings(provider),
    MYPHONE_AUTH_JWKS_COOLDOWN: "0",
    MYPHONE_ABUSE_LIMITS: "off",
  });
  user = await server.addUser();
});

afterAll(async () => {
  closeAllClients();
  // The store was closed by the test; closing the server closes it again, which may fail.
  await server?.stop().catch(() => undefined);
  await provider?.close();
});

/** The same GetMyPhone through every protocol and HTTP version, at the byte level (all headers, trailers, body). */
function rawCalls(authorization: string): Promise<RawAnswer>[] {
  const rpc = "/zitadel.auth.v1.AuthService/GetMyPhone";
  const frame = grpcFrame(Buffer.alloc(0));
  const headers = { authorization, "x-zitadel-orgid": user.orgId };
  return [
    h2Request(server.url, { ":path": rpc, "content-type": "application/grpc", te: "trailers", ...headers }, [frame]),
    h2Request(server.url, { ":path": rpc, "content-type": "application/grpc-web+proto", ...headers }, [frame]),
    h1Request(server.url, {
      path: rpc,
      headers: { "content-type": "application/grpc-web+proto", ...headers },
      body: [frame],
    }),
    h2Request(server.url, { ":path": rpc, "content-type": "application/json", ...headers }, [Buffer.from("{}")]),
    h1Request(server.url, {
      path: rpc,
      headers: { "content-type": "application/json", ...headers },
      body: [Buffer.from("{}")],
    }),
    h2Request(server.url, { ":method": "GET", ":path": "/auth/v1/users/me/phone", ...headers }),
    h1Request(server.url, { method: "GET", path: "/auth/v1/users/me/phone", headers }),
  ];
}

/** Calls with `token` through the 12 real clients and the raw protocol calls; records what came back. */
async function callEverywhere(token: string): Promise<void> {
  tokens.push(token);
  for (const client of ALL_CLIENTS) {
    try {
      answers.push(JSON.stringify(await client.create(server.url, token).get()));
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      answers.push(
        `${error.message} ${error.detailMessage ?? ""} ${JSON.stringify((error.raw as { body?: string; stdout?: string; stderr?: string }) ?? {})}`,
      );
    }
  }
  for (const answer of await Promise.all(rawCalls(`Bearer ${token}`))) {
    expect(answer.error).toBeUndefined();
    answers.push(visibleText(answer));
  }
}

test("the search patterns find what they look for", () => {
  expect(new Error("boom").stack).toMatch(INTERNALS);
  expect(
    visibleText({
      headers: {},
      trailers: { "grpc-message": "x%0A%20%20%20%20at%20Object.run%20(%2Fsrv%2Fa.js%3A1%3A2)" },
      body: Buffer.alloc(0),
    }),
  ).toMatch(INTERNALS);
});

test("a valid token works (the run includes successes)", async () => {
  await callEverywhere(await provider.sign({ sub: user.userId }));
  expect(answers.some((answer) => answer.includes(user.orgId))).toBe(true);
});

test("every kind of bad token is refused", async () => {
  const foreign = await provider.unpublishedKey();
  const bad = [
    await provider.sign({ sub: user.userId, iat: now() - 7200, exp: now() - 3600 }),
    await provider.sign({ sub: user.userId, aud: "another-project" }),
    await provider.sign({ sub: user.userId, iss: "https://issuer.example.com" }),
    await provider.sign({ sub: user.userId }, { kid: foreign.kid, key: foreign.privateKey }),
    `${base64url({ alg: "none", typ: "JWT" })}.${base64url({ iss: provider.issuer, aud: FAKE_AUDIENCE, sub: user.userId, exp: now() + 600 })}.`,
    await new SignJWT({ iss: provider.issuer, aud: FAKE_AUDIENCE, sub: user.userId, exp: now() + 600 })
      .setProtectedHeader({ alg: "HS256", kid: provider.currentKid })
      .sign(new TextEncoder().encode(await provider.currentPublicKeyPem())),
    "eyJhbGciOiJSUzI1NiJ9.bm90IGpzb24.c2lnbmF0dXJlLXRoYXQtaXMtbm90LXJlYWw",
    `tooLong${"A".repeat(9000)}`,
  ];
  for (const token of bad) await callEverywhere(token);
  expect(answers.filter((answer) => answer.includes("AUTH-7fs1e")).length).toBeGreaterThanOrEqual(bad.length * 12);
});

test("internal errors (the store closed under the server) answer MYPHONE-Inter only", async () => {
  await server.store.close();
  const before = answers.length;
  await callEverywhere(await provider.sign({ sub: user.userId }));
  const internal = answers.slice(before);
  expect(
    internal.filter((answer) => answer.includes("An internal error occurred (MYPHONE-Inter)")).length,
  ).toBeGreaterThanOrEqual(12);
  expect(server.logs.some((line) => line.msg === "unexpected error in rpc")).toBe(true);
});

test("no response contains a token, a stack trace or a source path", () => {
  expect(answers.length).toBeGreaterThan(150);
  for (const answer of answers) {
    expect(answer).not.toMatch(INTERNALS);
    for (const token of tokens) {
      expect(answer).not.toContain(token.slice(0, 40));
      for (const part of token.split(".").filter((segment) => segment.length >= 16)) expect(answer).not.toContain(part);
    }
  }
});

test("no log line contains a token; stack traces only on error lines about internal failures", () => {
  expect(server.logs.some((line) => line.msg === "token rejected")).toBe(true);
  for (const line of server.logs) {
    const text = JSON.stringify(line);
    for (const token of tokens) {
      for (const part of token.split(".").filter((segment) => segment.length >= 16)) expect(text).not.toContain(part);
    }
    if (INTERNALS.test(text)) expect(line.level).toBeGreaterThanOrEqual(50);
  }
});
