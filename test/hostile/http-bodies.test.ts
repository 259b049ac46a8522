import fc from "fast-check";
import { closeAllClients } from "../support/clients.js";
import { startTestServer, type TestServer, type TestUser } from "../support/test-server.js";
import { AcknowledgedWrites } from "./acknowledged-writes.js";
import { grpcStatus, h1Request, h2Request, INTERNALS, type RawAnswer } from "./raw-http.js";

/**
 * Hostile bodies for the JSON protocols (issue 5, acceptance 3): random JSON, invalid UTF-8, deep nesting, huge
 * documents, 10 MB bodies with and without a content-length (chunked on HTTP/1.1), wrong and missing content
 * types, random bytes as binary Connect messages. Connect and REST, each over HTTP/1.1 and HTTP/2.
 */

const RUNS = 30;
const MAX_REQUEST_BYTES = 65_536;
const TEN_MB = 10 * 1024 * 1024;

let server: TestServer;
let target: TestUser;
let writer: TestUser;
let writes: AcknowledgedWrites;

beforeAll(async () => {
  server = await startTestServer({ MYPHONE_ABUSE_LIMITS: "off", MYPHONE_SMS_PROVIDER: "none" });
  target = await server.addUser();
  writer = await server.addUser();
  writes = new AcknowledgedWrites(server.url, writer);
});

afterAll(async () => {
  closeAllClients();
  await server?.stop();
});

interface Route {
  readonly name: string;
  /** Sends `body` (pieces; no content-length unless `length`) with `contentType` (none when undefined). */
  send(body: readonly Buffer[], contentType: string | undefined, length?: boolean): Promise<RawAnswer>;
  readonly rest: boolean;
}

function route(name: string, method: string, path: string, http2: boolean, rest: boolean): Route {
  return {
    name,
    rest,
    send(body, contentType, length = false) {
      const headers: Record<string, string | number> = { authorization: `Bearer ${target.token}` };
      if (contentType !== undefined) headers["content-type"] = contentType;
      if (length) headers["content-length"] = body.reduce((sum, piece) => sum + piece.length, 0);
      if (http2) return h2Request(server.url, { ":method": method, ":path": path, ...headers }, body);
      return h1Request(server.url, { method, path, headers, body });
    },
  };
}

const CONNECT_PATH = "/zitadel.auth.v1.AuthService/SetMyPhone";
const REST_PATH = "/auth/v1/users/me/phone";
const ROUTES: Route[] = [
  route("Connect JSON over HTTP/1.1", "POST", CONNECT_PATH, false, false),
  route("Connect JSON over HTTP/2", "POST", CONNECT_PATH, true, false),
  route("REST over HTTP/1.1", "PUT", REST_PATH, false, true),
  route("REST over HTTP/2", "PUT", REST_PATH, true, true),
];

/** A JSON error answer with one of `statuses`, no stack trace, and never our internal-error marker. */
function expectRefusal(answer: RawAnswer, statuses: readonly number[]): void {
  expect(answer.error).toBeUndefined();
  expect(statuses).toContain(answer.status);
  const text = answer.body.toString("utf8");
  if (answer.status !== 200) {
    expect(answer.headers["content-type"]).toMatch(/^application\/json/);
    expect(() => JSON.parse(text)).not.toThrow();
  }
  expect(text).not.toMatch(INTERNALS);
  expect(text).not.toContain("MYPHONE-Inter");
}

const text = (value: string) => [Buffer.from(value, "utf8")];
const nested = (depth: number) => `{"phone":"+41791234567","x":${"[".repeat(depth)}${"]".repeat(depth)}}`;

describe.each(ROUTES)("$name", (target) => {
  it("random JSON documents get 200 or 400, never a server error", async () => {
    await fc.assert(
      fc.asyncProperty(fc.json({ maxDepth: 4 }), async (json) => {
        expectRefusal(await target.send(text(json), "application/json"), [200, 400]);
      }),
      { numRuns: RUNS },
    );
    await writes.write();
  });

  it("invalid UTF-8 inside JSON strings gets a 400", async () => {
    const invalidSequence = fc.constantFrom(
      [0xff],
      [0xfe],
      [0xc3],
      [0xe2, 0x82],
      [0xf0, 0x9f, 0x98],
      [0xed, 0xa0, 0x80],
      [0xc0, 0xaf],
    );
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ maxLength: 20 }),
        invalidSequence,
        fc.uint8Array({ maxLength: 20 }),
        async (before, bad, after) => {
          const value = Buffer.from(
            [...before, ...bad, ...after].map((byte) => (byte === 0x22 || byte === 0x5c ? 0x41 : byte)),
          );
          const body = Buffer.concat([Buffer.from('{"phone":"+4179'), value, Buffer.from('"}')]);
          expectRefusal(await target.send([body], "application/json"), [400]);
        },
      ),
      { numRuns: RUNS },
    );
    await writes.write();
  });

  it("deeply nested JSON (100,000 levels) gets a 400", async () => {
    expectRefusal(await target.send(text(nested(100_000).slice(0, MAX_REQUEST_BYTES - 1)), "application/json"), [400]);
    expectRefusal(await target.send(text(`${"[".repeat(30_000)}${"]".repeat(30_000)}`), "application/json"), [400]);
    expectRefusal(
      await target.send(text(`{"phone":"x","x":${'{"a":'.repeat(9_000)}1${"}".repeat(9_000)}}`), "application/json"),
      [400],
    );
  });

  it("a huge but allowed document (thousands of unknown fields) gets a clear answer", async () => {
    const fields = Array.from({ length: 4_000 }, (_, i) => `"f${i}":${i}`).join(",");
    const body = `{${fields},"phone":"not a number"}`;
    expect(body.length).toBeLessThan(MAX_REQUEST_BYTES);
    expectRefusal(await target.send(text(body), "application/json"), [400]);
  });

  it("10 MB bodies are refused as too large, with a content-length and without one (chunked)", async () => {
    const huge = Buffer.alloc(TEN_MB, 0x20);
    const tooLarge = target.rest ? [413] : [429];
    expectRefusal(await target.send([huge], "application/json", true), tooLarge);
    expectRefusal(await target.send([huge], "application/json", false), tooLarge);
    const hugeString = Buffer.concat([Buffer.from('{"phone":"'), Buffer.alloc(TEN_MB, 0x31), Buffer.from('"}')]);
    expectRefusal(await target.send([hugeString], "application/json", false), tooLarge);
    // One byte over the limit is refused; the limit itself is not a size error.
    expectRefusal(await target.send([Buffer.alloc(MAX_REQUEST_BYTES + 1, 0x20)], "application/json"), tooLarge);
    expectRefusal(await target.send([Buffer.alloc(MAX_REQUEST_BYTES, 0x20)], "application/json"), [400]);
    await writes.write();
  });

  it("wrong and missing content types get a clear answer", async () => {
    const body = text('{"phone":"+41 79 000 00 00"}');
    for (const contentType of [
      undefined,
      "text/plain",
      "application/xml",
      "multipart/form-data; boundary=x",
      "application/x-www-form-urlencoded",
      "application/json; charset=latin1x",
    ]) {
      // REST reads any body as JSON (grpc-gateway does the same); Connect answers 415 for what it cannot decode.
      const answer = await target.send(body, contentType);
      if (target.rest) expectRefusal(answer, [200, 400]);
      else expect([415, 400]).toContain(answer.status);
      expect(answer.body.toString("utf8")).not.toMatch(INTERNALS);
    }
  });
});

describe("Connect binary (application/proto)", () => {
  it.each([false, true])("random bytes are refused (HTTP/2: %s)", async (http2) => {
    const connect = route("Connect proto", "POST", CONNECT_PATH, http2, false);
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 1, maxLength: 2048 }), async (bytes) => {
        const answer = await connect.send([Buffer.from(bytes)], "application/proto");
        // 400/401 once decoded; 500 "parse binary: ..." for undecodable protobuf, connect's (and gRPC's) convention.
        expectRefusal(answer, [200, 400, 401, 500]);
        if (answer.status === 500) expect(JSON.parse(answer.body.toString("utf8")).message).toMatch(/^parse binary: /);
      }),
      { numRuns: RUNS },
    );
  });
});

test("gRPC content types on the Connect route over HTTP/1.1 answer a gRPC status", async () => {
  const answer = await h1Request(server.url, {
    path: CONNECT_PATH,
    headers: { "content-type": "application/grpc", authorization: `Bearer ${target.token}` },
    body: text('{"phone":5}'),
  });
  expect(answer.status).toBe(200);
  expect(grpcStatus(answer)).toBeGreaterThan(0);
});

test("no hostile body reached the service as an unexpected error, and every acknowledged write is stored", async () => {
  expect(server.logs.filter((line) => line.msg === "unexpected error in rpc")).toEqual([]);
  await writes.write();
  await writes.expectAllStored(server.store);
});
