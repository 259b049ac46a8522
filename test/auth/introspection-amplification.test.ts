import http from "node:http";
import {
  introspectionSettings,
  newOpaqueToken,
  startFakeOidcProvider,
  type FakeOidcProvider,
} from "../support/fake-oidc-provider.js";
import { startTestServer, type TestServer, type TestUser } from "../support/test-server.js";

/**
 * Issue 22, item 5: in introspection mode every unknown token was one request to the identity provider, so 500
 * bogus tokens made 500 requests (and used up myphone's client quota there). Refused tokens are now refused again
 * without asking for MYPHONE_AUTH_INTROSPECTION_NEGATIVE_CACHE, and a client address whose tokens keep being
 * refused gets its unknown tokens refused unasked (MYPHONE_AUTH_INTROSPECTION_FAILURES_PER_IP), with the answer a
 * bad token gets. The fake provider counts the introspection requests it serves.
 */

let provider: FakeOidcProvider;
let tokenCounter = 0;

/** A fresh opaque token the provider calls active for `userId`. */
const activeToken = (userId: string) => newOpaqueToken(provider, { sub: userId });

/** A token the provider has never issued (it answers `active: false`). */
const bogusToken = () => `bogus-${++tokenCounter}-${Math.random().toString(36).slice(2)}`;

/** GetMyPhone over REST from `localAddress` (any 127/8 address is this machine); resolves with status and body. */
function getMyPhone(
  server: TestServer,
  token: string,
  localAddress = "127.0.0.1",
): Promise<{ status: number; body: Record<string, any> }> {
  const url = new URL("/auth/v1/users/me/phone", server.url);
  return new Promise((resolve, reject) => {
    const request = http.get(
      {
        host: url.hostname,
        port: url.port,
        path: url.pathname,
        localAddress,
        agent: false,
        headers: { authorization: `Bearer ${token}` },
        timeout: 10_000,
      },
      (response) => {
        let text = "";
        response.setEncoding("utf8");
        response.on("data", (chunk: string) => (text += chunk));
        response.on("end", () =>
          resolve({ status: response.statusCode!, body: JSON.parse(text) as Record<string, any> }),
        );
      },
    );
    request.on("timeout", () => request.destroy(new Error("timeout")));
    request.on("error", reject);
  });
}

/** The answer a bad token gets on REST: 401 with AUTH-7fs1e "Token is invalid". */
const TOKEN_INVALID_BODY = {
  code: 16,
  message: "Token is invalid (AUTH-7fs1e)",
  details: [{ "@type": "type.googleapis.com/zitadel.v1.ErrorDetail", id: "AUTH-7fs1e", message: "Token is invalid" }],
};

function introspectionServer(env: Record<string, string>): Promise<TestServer> {
  return startTestServer({ MYPHONE_STORE: "memory", ...introspectionSettings(provider), ...env });
}

beforeAll(async () => {
  provider = await startFakeOidcProvider();
});

afterAll(async () => {
  await provider?.close();
});

describe("the negative cache", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await introspectionServer({
      MYPHONE_AUTH_INTROSPECTION_NEGATIVE_CACHE: "1h",
      MYPHONE_AUTH_INTROSPECTION_FAILURES_PER_IP: "off",
    });
  });
  afterAll(() => server?.stop());

  test("one unknown token sent 20 times costs one introspection, and is refused like a bad token every time", async () => {
    const token = bogusToken();
    const before = provider.requests.introspection;
    for (let i = 0; i < 20; i++)
      expect(await getMyPhone(server, token)).toEqual({ status: 401, body: TOKEN_INVALID_BODY });
    expect(provider.requests.introspection).toBe(before + 1);
  });

  test("it is keyed by a hash of the token: the token itself is in no log line", async () => {
    const token = bogusToken();
    await getMyPhone(server, token);
    await getMyPhone(server, token);
    expect(JSON.stringify(server.logs)).not.toContain(token);
  });

  test("an active token is unaffected, and its answer is cached as before", async () => {
    const user = await server.addUser();
    const token = activeToken(user.userId);
    const before = provider.requests.introspection;
    for (let i = 0; i < 3; i++) expect((await getMyPhone(server, token)).status).toBe(200);
    expect(provider.requests.introspection).toBe(before + 1);
  });
});

test("with MYPHONE_AUTH_INTROSPECTION_NEGATIVE_CACHE=0 every refused token is asked about again", async () => {
  const server = await introspectionServer({
    MYPHONE_AUTH_INTROSPECTION_NEGATIVE_CACHE: "0",
    MYPHONE_AUTH_INTROSPECTION_FAILURES_PER_IP: "off",
  });
  try {
    const token = bogusToken();
    const before = provider.requests.introspection;
    for (let i = 0; i < 3; i++) expect((await getMyPhone(server, token)).status).toBe(401);
    expect(provider.requests.introspection).toBe(before + 3);
  } finally {
    await server.stop();
  }
});

describe("the per-address limit on refused tokens (5 per hour here)", () => {
  let server: TestServer;
  let user: TestUser;
  let verifiedBefore: string;
  beforeAll(async () => {
    server = await introspectionServer({ MYPHONE_AUTH_INTROSPECTION_FAILURES_PER_IP: "5/1h" });
    user = await server.addUser();
    verifiedBefore = activeToken(user.userId);
    expect((await getMyPhone(server, verifiedBefore)).status).toBe(200);
  });
  afterAll(() => server?.stop());

  test("30 different bogus tokens from one address cost 5 introspections; all are refused as bad tokens", async () => {
    const before = provider.requests.introspection;
    for (let i = 0; i < 30; i++)
      expect(await getMyPhone(server, bogusToken())).toEqual({ status: 401, body: TOKEN_INVALID_BODY });
    expect(provider.requests.introspection).toBe(before + 5);
    expect(
      server.logs.filter((line) => line.msg?.toString().startsWith("too many refused tokens from this client address")),
    ).toEqual([expect.objectContaining({ level: 40, clientAddress: "127.0.0.1" })]);
  });

  test("from the limited address, a token verified before still works; a new one is refused without asking", async () => {
    expect((await getMyPhone(server, verifiedBefore)).status).toBe(200);
    const before = provider.requests.introspection;
    expect(await getMyPhone(server, activeToken(user.userId))).toEqual({ status: 401, body: TOKEN_INVALID_BODY });
    expect(provider.requests.introspection).toBe(before);
  });

  test("another address is not limited", async () => {
    const before = provider.requests.introspection;
    expect((await getMyPhone(server, activeToken(user.userId), "127.0.0.2")).status).toBe(200);
    expect((await getMyPhone(server, bogusToken(), "127.0.0.2")).status).toBe(401);
    expect(provider.requests.introspection).toBe(before + 2);
  });
});
