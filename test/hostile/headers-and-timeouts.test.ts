import fc from "fast-check";
import http2 from "node:http2";
import { closeAllClients } from "../support/clients.js";
import { startTestServer, type TestServer, type TestUser } from "../support/test-server.js";
import { AcknowledgedWrites } from "./acknowledged-writes.js";
import { grpcFrame, h2Request, rawTcp } from "./raw-http.js";

/**
 * Header floods and slow clients (issue 5, acceptance 3): 1,000 headers and oversized header blocks get 431 on
 * HTTP/1.1 and HTTP/2; slowloris-style trickling of headers or bodies is cut off by the headers and request
 * timeouts (408 on HTTP/1.1, a reset stream on HTTP/2); silent, half-preface and garbage connections are
 * closed. A few connections, a few seconds: the timeouts are set to 1 s and 2 s here.
 */

const HEADERS_TIMEOUT = "1s";
const REQUEST_TIMEOUT = "2s";
/** Longest any single slow client may be held in these tests before we call it a failure. */
const GIVE_UP_MS = 10_000;

let server: TestServer;
let user: TestUser;
let writes: AcknowledgedWrites;

beforeAll(async () => {
  server = await startTestServer({
    MYPHONE_HEADERS_TIMEOUT: HEADERS_TIMEOUT,
    MYPHONE_REQUEST_TIMEOUT: REQUEST_TIMEOUT,
    MYPHONE_ABUSE_LIMITS: "off",
    MYPHONE_SMS_PROVIDER: "none",
  });
  user = await server.addUser();
  writes = new AcknowledgedWrites(server.url, user);
});

afterAll(async () => {
  closeAllClients();
  await server?.stop();
});

const HTTP2_PREFACE = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
/** An empty SETTINGS frame: what follows the preface on every HTTP/2 connection. */
const EMPTY_SETTINGS = Buffer.from([0, 0, 0, 0x04, 0, 0, 0, 0, 0]);

/** Request bodies to trickle: JSON, and a gRPC frame declaring 30 bytes (so the server waits for all of them). */
const JSON_BODY = Buffer.from('{"phone":"+41 79 000 00 00", "padding": "................"}');
const FRAMED_BODY = grpcFrame(Buffer.alloc(30, 0x20));
const bytesOf = (body: Buffer) => [...body].map((byte) => Buffer.from([byte]));

const fillerHeaders = (count: number) =>
  Array.from({ length: count }, (_, i) => [`x-filler-${i}`, `value-${i}-${"v".repeat(10)}`] as const);

describe("header size", () => {
  it("1,000 headers on HTTP/1.1: 431 and the connection is closed", async () => {
    const headers = fillerHeaders(1000)
      .map(([name, value]) => `${name}: ${value}\r\n`)
      .join("");
    const outcome = await rawTcp(server.port, [
      `GET /auth/v1/users/me/phone HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${user.token}\r\n${headers}\r\n`,
    ]);
    expect(outcome.received.toString("latin1")).toMatch(/^HTTP\/1\.1 431 /);
    expect(outcome.closedByServer).toBe(true);
  });

  it.each(["/zitadel.auth.v1.AuthService/GetMyPhone", "/auth/v1/users/me/phone"])(
    "1,000 headers on HTTP/2 (%s): 431",
    async (path) => {
      const answer = await h2Request(server.url, {
        ":method": path.startsWith("/auth") ? "GET" : "POST",
        ":path": path,
        "content-type": "application/grpc",
        authorization: `Bearer ${user.token}`,
        ...Object.fromEntries(fillerHeaders(1000)),
      });
      expect(answer.status).toBe(431);
    },
  );

  it("one 20 KB header: 431 on HTTP/1.1 and HTTP/2", async () => {
    const cookie = "c".repeat(20 * 1024);
    const h1 = await rawTcp(server.port, [`GET /healthz HTTP/1.1\r\nHost: x\r\nCookie: ${cookie}\r\n\r\n`]);
    expect(h1.received.toString("latin1")).toMatch(/^HTTP\/1\.1 431 /);
    const h2 = await h2Request(server.url, { ":method": "GET", ":path": "/healthz", cookie });
    expect(h2.status).toBe(431);
  });

  it("a header block under the limit is served", async () => {
    const headers = Object.fromEntries(fillerHeaders(100));
    expect((await h2Request(server.url, { ":method": "GET", ":path": "/healthz", ...headers })).status).toBe(200);
    const lines = fillerHeaders(100)
      .map(([name, value]) => `${name}: ${value}\r\n`)
      .join("");
    const h1 = await rawTcp(server.port, [`GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n${lines}\r\n`]);
    expect(h1.received.toString("latin1")).toMatch(/^HTTP\/1\.1 200 /);
  });

  it("HTTP/2 announces the limit in its SETTINGS", async () => {
    const session = http2.connect(server.url);
    const settings = await new Promise<http2.Settings>((resolve) => session.once("remoteSettings", resolve));
    session.destroy();
    expect(settings.maxHeaderListSize).toBe(16_384);
  });
});

describe("slow clients", () => {
  it("three clients trickling HTTP/1.1 headers get 408 and are disconnected", async () => {
    const trickle = `GET /auth/v1/users/me/phone HTTP/1.1\r\nHost: x\r\nX-Slow: ${"a".repeat(200)}`.split("");
    const outcomes = await Promise.all(
      [1, 2, 3].map(() => rawTcp(server.port, trickle, { gapMs: 50, maxMs: GIVE_UP_MS })),
    );
    for (const outcome of outcomes) {
      expect(outcome.closedByServer).toBe(true);
      expect(outcome.received.toString("latin1")).toMatch(/^HTTP\/1\.1 408 /);
    }
    await writes.write();
  });

  it.each([
    ["REST", "PUT", "/auth/v1/users/me/phone", "application/json", JSON_BODY],
    ["Connect", "POST", "/zitadel.auth.v1.AuthService/SetMyPhone", "application/json", JSON_BODY],
    ["gRPC-Web", "POST", "/zitadel.auth.v1.AuthService/SetMyPhone", "application/grpc-web+proto", FRAMED_BODY],
  ])(
    "a %s body trickled over HTTP/1.1 gets 408 and is disconnected",
    async (_name, method, path, contentType, body) => {
      const head = `${method} ${path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${user.token}\r\nContent-Type: ${contentType}\r\nContent-Length: ${body.length}\r\n\r\n`;
      const outcome = await rawTcp(server.port, [head, ...bytesOf(body)], { gapMs: 150, maxMs: GIVE_UP_MS });
      expect(outcome.closedByServer).toBe(true);
      expect(outcome.received.toString("latin1")).toMatch(/^HTTP\/1\.1 408 /);
    },
  );

  it.each([
    ["gRPC", "/zitadel.auth.v1.AuthService/SetMyPhone", "application/grpc", FRAMED_BODY],
    ["Connect", "/zitadel.auth.v1.AuthService/SetMyPhone", "application/json", JSON_BODY],
    ["REST", "/auth/v1/users/me/phone", "application/json", JSON_BODY],
  ])("a %s body trickled over HTTP/2 has its stream reset", async (_name, path, contentType, body) => {
    const pieces = bytesOf(body);
    const answer = await h2Request(
      server.url,
      {
        ":method": path.startsWith("/auth") ? "PUT" : "POST",
        ":path": path,
        "content-type": contentType,
        authorization: `Bearer ${user.token}`,
      },
      pieces,
      { gapMs: 150, timeoutMs: GIVE_UP_MS },
    );
    expect(answer.error).not.toBe("timeout");
    expect(answer.status).toBeUndefined();
    expect(answer.rstCode).toBe(http2.constants.NGHTTP2_CANCEL);
  });

  it("a connection that sends nothing is closed", async () => {
    const outcome = await rawTcp(server.port, [], { maxMs: GIVE_UP_MS });
    expect(outcome).toEqual({ received: Buffer.alloc(0), closedByServer: true });
  });

  it("a connection that trickles half of the HTTP/2 preface and stops is closed", async () => {
    const outcome = await rawTcp(server.port, HTTP2_PREFACE.slice(0, 12).split(""), { gapMs: 20, maxMs: GIVE_UP_MS });
    expect(outcome.closedByServer).toBe(true);
  });

  it("an HTTP/2 connection that never opens a stream is sent away", async () => {
    const outcome = await rawTcp(server.port, [HTTP2_PREFACE, EMPTY_SETTINGS], { maxMs: GIVE_UP_MS });
    expect(outcome.closedByServer).toBe(true);
    // The server's SETTINGS, then GOAWAY (frame type 7).
    expect(frameTypes(outcome.received)).toContain(0x07);
  });
});

describe("the authority", () => {
  it.each([
    ["HTTP/1.0 without Host", "HTTP/1.0", ""],
    ["an empty Host", "HTTP/1.1", "Host: \r\n"],
    ["a Host that is no host", "HTTP/1.1", "Host: a b\r\n"],
    ["a Host with a port out of range", "HTTP/1.1", "Host: x:99999999\r\n"],
  ])("an RPC with %s gets 400, and the server goes on", async (_name, version, host) => {
    for (const [path, contentType] of [
      ["/zitadel.auth.v1.AuthService/GetMyPhone", "application/json"],
      ["/grpc.reflection.v1.ServerReflection/ServerReflectionInfo", "application/connect+json"],
    ]) {
      const request = `POST ${path} ${version}\r\n${host}Authorization: Bearer ${user.token}\r\nContent-Type: ${contentType}\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}`;
      const outcome = await rawTcp(server.port, [request], { maxMs: GIVE_UP_MS });
      expect(outcome.received.toString("latin1")).toMatch(/^HTTP\/1\.1 400 /);
    }
    await writes.write();
  });
});

describe("garbage on the raw port", () => {
  it("random bytes: an HTTP/1.1 error or a closed connection, never a hang", async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 1, maxLength: 4096 }), async (bytes) => {
        const outcome = await rawTcp(server.port, [Buffer.from(bytes)], { maxMs: GIVE_UP_MS });
        expect(outcome.closedByServer).toBe(true);
        if (outcome.received.length > 0) expect(outcome.received.toString("latin1")).toMatch(/^HTTP\/1\.1 4\d\d /);
      }),
      { numRuns: 25 },
    );
  });

  it("random bytes after the HTTP/2 preface: GOAWAY and a closed connection", async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 9, maxLength: 4096 }), async (bytes) => {
        const outcome = await rawTcp(server.port, [HTTP2_PREFACE, Buffer.from(bytes)], { maxMs: GIVE_UP_MS });
        expect(outcome.closedByServer).toBe(true);
      }),
      { numRuns: 25 },
    );
  });
});

test("after all of it the server serves normally and every acknowledged write is stored", async () => {
  expect(server.logs.filter((line) => line.msg === "unexpected error in rpc")).toEqual([]);
  const result = await writes.write();
  expect(result.details?.resourceOwner).toBe(user.orgId);
  await writes.expectAllStored(server.store);
});

/** Frame types of a server's HTTP/2 byte stream (9-byte frame headers: length, type, flags, stream id). */
function frameTypes(bytes: Buffer): number[] {
  const types: number[] = [];
  for (let offset = 0; offset + 9 <= bytes.length; offset += 9 + bytes.readUIntBE(offset, 3))
    types.push(bytes[offset + 3]!);
  return types;
}
