import fc from "fast-check";
import { closeAllClients } from "../support/clients.js";
import { startTestServer, type TestServer, type TestUser } from "../support/test-server.js";
import { AcknowledgedWrites } from "./acknowledged-writes.js";
import { grpcFrame, grpcStatus, grpcWebStatus, h1Request, h2Request, INTERNALS, type RawAnswer } from "./raw-http.js";

/**
 * Hostile gRPC and gRPC-Web framing (issue 5, acceptance 3): random bytes, truncated and oversized
 * length-prefixed messages, unknown flags, extra messages. Every request gets a gRPC error status (never OK,
 * never our internal-error marker), the server keeps serving, and writes acknowledged in between all stay stored.
 */

const METHOD_PATH = "/zitadel.auth.v1.AuthService/SetMyPhone";
const MAX_REQUEST_BYTES = 65_536;
/** fast-check runs per property: enough to hit odd shapes, bounded so a 2-core box stays responsive. */
const RUNS = 40;

let server: TestServer;
let user: TestUser;
let writes: AcknowledgedWrites;

beforeAll(async () => {
  server = await startTestServer({ MYPHONE_ABUSE_LIMITS: "off", MYPHONE_SMS_PROVIDER: "none" });
  user = await server.addUser();
  writes = new AcknowledgedWrites(server.url, user);
});

afterAll(async () => {
  closeAllClients();
  await server?.stop();
});

type Send = (body: Buffer) => Promise<RawAnswer>;

/** The framed protocols, each with how to send one body and how to read the status it answered. */
const FRAMED: [string, Send, (answer: RawAnswer) => number | undefined][] = [
  [
    "gRPC (HTTP/2)",
    (body) =>
      h2Request(server.url, { ":path": METHOD_PATH, "content-type": "application/grpc", te: "trailers" }, [body]),
    grpcStatus,
  ],
  [
    "gRPC-Web (HTTP/2)",
    (body) => h2Request(server.url, { ":path": METHOD_PATH, "content-type": "application/grpc-web+proto" }, [body]),
    grpcWebStatus,
  ],
  [
    "gRPC-Web (HTTP/1.1)",
    (body) =>
      h1Request(server.url, {
        path: METHOD_PATH,
        headers: { "content-type": "application/grpc-web+proto", "content-length": body.length },
        body: [body],
      }),
    grpcWebStatus,
  ],
];

/** A clear refusal: a gRPC status other than OK, in an HTTP 200 answer, with no stack trace or our bug marker. */
function expectGrpcError(
  answer: RawAnswer,
  statusOf: (answer: RawAnswer) => number | undefined,
  allowed: readonly number[],
): void {
  expect(answer.error).toBeUndefined();
  expect(answer.status).toBe(200);
  expect(allowed).toContain(statusOf(answer));
  const visible = `${JSON.stringify(answer.headers)}${JSON.stringify(answer.trailers)}${answer.body.toString("latin1")}`;
  expect(visible).not.toMatch(INTERNALS);
  expect(visible).not.toContain("MYPHONE-Inter");
}

/** What a server says about bytes it cannot take as a request: 3 (protocol error), 8 (too large), 12 (extra message), 13 (undecodable), 16 (decoded, but no token). */
const REFUSALS = [3, 8, 12, 13, 16];

describe.each(FRAMED)("%s", (_name, send, statusOf) => {
  it("random bytes as the body are refused with a gRPC status", async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 2048 }), async (bytes) => {
        expectGrpcError(await send(Buffer.from(bytes)), statusOf, REFUSALS);
      }),
      { numRuns: RUNS },
    );
    await writes.write();
  });

  it("random payloads in a well-formed frame are refused", async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 1, maxLength: 1024 }), async (payload) => {
        expectGrpcError(await send(grpcFrame(payload)), statusOf, REFUSALS);
      }),
      { numRuns: RUNS },
    );
    await writes.write();
  });

  it("truncated frames (the stream ends before the declared length) are refused", async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 1, maxLength: 512 }), fc.nat(), async (payload, cut) => {
        const frame = grpcFrame(payload);
        const truncated = frame.subarray(0, cut % frame.length);
        // An empty body is a valid empty request on some protocols; anything shorter than a frame is not.
        fc.pre(truncated.length > 0);
        // 3: incomplete frame; 12: a frame header with none of its bytes (connect: "missing input message").
        expectGrpcError(await send(truncated), statusOf, [3, 12]);
      }),
      { numRuns: RUNS },
    );
    await writes.write();
  });

  it("a frame declaring more than MYPHONE_MAX_REQUEST_BYTES is refused with ResourceExhausted before it is read", async () => {
    for (const declared of [MAX_REQUEST_BYTES + 1, 10 * 1024 * 1024, 0xffffffff]) {
      expectGrpcError(await send(grpcFrame(Buffer.from("tiny"), declared)), statusOf, [8]);
    }
  });

  it("a 10 MB frame sent in full is refused with ResourceExhausted", async () => {
    expectGrpcError(await send(grpcFrame(Buffer.alloc(10 * 1024 * 1024, 0x0a))), statusOf, [8]);
    await writes.write();
  });

  it("unknown or unsupported frame flags are refused", async () => {
    for (const flags of [0x01, 0x02, 0x7f, 0xff]) {
      expectGrpcError(await send(grpcFrame(Buffer.from([0x0a, 0x00]), 2, flags)), statusOf, REFUSALS);
    }
  });

  it("two messages for a unary method are refused", async () => {
    const empty = grpcFrame(Buffer.alloc(0));
    expectGrpcError(await send(Buffer.concat([empty, empty])), statusOf, [3, 12]);
  });
});

test("no hostile frame reached the service as an unexpected error, and every acknowledged write is stored", async () => {
  expect(server.logs.filter((line) => line.msg === "unexpected error in rpc")).toEqual([]);
  const result = await writes.write();
  expect(Number(result.details?.sequence)).toBeGreaterThan(1);
  expect(writes.count).toBeGreaterThanOrEqual(FRAMED.length * 4);
  await writes.expectAllStored(server.store);
});
