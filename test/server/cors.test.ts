import { startTestServer, type TestServer } from "../support/test-server.js";

/** Issue 6: CORS for browser clients of other origins (a real browser's view is in web-page.test.ts). */

const ALLOWED = "https://app.example.com";
let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ MYPHONE_CORS_ORIGINS: `${ALLOWED}, https://admin.example.com` });
});
afterAll(() => server.stop());

const listOf = (header: string | null) => (header ?? "").split(",").map((name) => name.trim().toLowerCase());

test("a preflight from an allowed origin is answered with Connect's header lists plus Authorization and the REST methods", async () => {
  const response = await fetch(`${server.url}/zitadel.auth.v1.AuthService/SetMyPhone`, {
    method: "OPTIONS",
    headers: {
      origin: ALLOWED,
      "access-control-request-method": "POST",
      "access-control-request-headers": "authorization, content-type, x-grpc-web",
    },
  });
  expect(response.status).toBe(204);
  expect(response.headers.get("access-control-allow-origin")).toBe(ALLOWED);
  expect(response.headers.get("vary")).toMatch(/origin/i);
  expect(listOf(response.headers.get("access-control-allow-headers"))).toEqual(
    expect.arrayContaining([
      "authorization",
      "content-type",
      "x-grpc-web",
      "x-user-agent",
      "connect-protocol-version",
      "grpc-timeout",
    ]),
  );
  expect(listOf(response.headers.get("access-control-allow-methods"))).toEqual(
    expect.arrayContaining(["post", "get", "put", "delete"]),
  );
});

test("answers to an allowed origin expose the gRPC status headers, error details and the request id", async () => {
  const user = await server.addUser();
  const response = await fetch(`${server.url}/zitadel.auth.v1.AuthService/ResendMyPhoneVerification`, {
    method: "POST",
    headers: {
      origin: ALLOWED,
      authorization: `Bearer ${user.token}`,
      "content-type": "application/grpc-web+proto",
      "x-grpc-web": "1",
    },
    body: new Uint8Array([0, 0, 0, 0, 0]),
  });
  expect(response.status).toBe(200);
  expect(response.headers.get("access-control-allow-origin")).toBe(ALLOWED);
  // gRPC clients may answer an error in headers alone (trailers-only); scripts read those only when exposed.
  expect(listOf(response.headers.get("access-control-expose-headers"))).toEqual(
    expect.arrayContaining(["grpc-status", "grpc-message", "grpc-status-details-bin", "x-request-id", "retry-after"]),
  );
});

test("other origins get no CORS headers, so browsers withhold the answer; preflights from them are not approved", async () => {
  const preflight = await fetch(`${server.url}/zitadel.auth.v1.AuthService/SetMyPhone`, {
    method: "OPTIONS",
    headers: {
      origin: "https://evil.example.net",
      "access-control-request-method": "POST",
      "access-control-request-headers": "authorization",
    },
  });
  expect(preflight.headers.get("access-control-allow-origin")).toBeNull();
  expect(preflight.headers.get("access-control-allow-headers")).toBeNull();
  const call = await fetch(`${server.url}/healthz`, { headers: { origin: "https://evil.example.net" } });
  expect(call.status).toBe(200);
  expect(call.headers.get("access-control-allow-origin")).toBeNull();
});

test("`*` allows any origin", async () => {
  const open = await startTestServer({ MYPHONE_CORS_ORIGINS: "*" });
  try {
    const response = await fetch(`${open.url}/healthz`, { headers: { origin: "https://anywhere.example.org" } });
    expect(response.headers.get("access-control-allow-origin")).toBe("https://anywhere.example.org");
  } finally {
    await open.stop();
  }
});
