import http from "node:http";
import http2 from "node:http2";
import { gzipSync } from "node:zlib";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError, type HandlerContext, type Interceptor } from "@connectrpc/connect";
import * as grpc from "@grpc/grpc-js";
import { RetryInfoSchema } from "../../gen/google/rpc/error_details_pb.js";
import { AuthService, GetMyPhoneResponseSchema, SetMyPhoneRequestSchema } from "../../gen/zitadel/auth_pb.js";
import { rpcNodeAdapter } from "../../src/api/rpc-node-adapter.js";
import { DualProtocolListener } from "../../src/server/dual-protocol-listener.js";

/**
 * GrpcUnaryHandler and ConnectUnaryHandler replace connect's gRPC and Connect handlers for unary calls. Two servers run the same service, interceptor
 * and limits, one with the fast path and one with connect's handler; every request below goes to both, and the
 * answers must be the same on the wire: HTTP status, headers, body bytes and trailers (grpc-status, grpc-message,
 * grpc-status-details-bin), for successes, domain errors with details, crashes, compression both ways,
 * deadlines and every malformed body.
 */

const READ_MAX_BYTES = 256;
const servers: DualProtocolListener[] = [];
const urls: { fast: string; connect: string } = { fast: "", connect: "" };
/** What the implementation saw on each server, in call order. */
const seen: { fast: string[]; connect: string[] } = { fast: [], connect: [] };

function startServer(fastPath: boolean, log: string[]): Promise<string> {
  const stamp: Interceptor = (next) => async (request) => {
    const response = await next(request);
    response.header.set("x-interceptor", request.method.name);
    response.trailer.set("x-interceptor-trailer", "yes");
    return response;
  };
  const handler = rpcNodeAdapter({
    unaryFastPath: fastPath,
    readMaxBytes: READ_MAX_BYTES,
    interceptors: [stamp],
    routes: (router) => {
      router.service(AuthService, {
        getMyPhone: async (_request, context: HandlerContext) => {
          if (context.requestHeader.get("x-wait-for-deadline") === "1") {
            await new Promise((_resolve, reject) => context.signal.addEventListener("abort", () => reject(context.signal.reason)));
          }
          log.push(`get timeout=${context.timeoutMs() === undefined ? "none" : "set"} values=${String(context.values.get(visitorKey))}`);
          const large = context.requestHeader.get("x-large") === "1";
          context.responseHeader.set("x-handler", "get");
          return { phone: { phone: large ? "+41791234567".repeat(200) : "+41791234567", isPhoneVerified: true } };
        },
        setMyPhone: (request) => {
          log.push(`set ${request.phone}`);
          if (request.phone === "crash") throw new Error("database on fire");
          if (request.phone === "retry")
            throw new ConnectError("too many codes", Code.ResourceExhausted, undefined, [{ desc: RetryInfoSchema, value: { retryDelay: { seconds: 42n } } }]);
          if (request.phone === "ümlaut") throw new ConnectError("Telefonnummer ungültig: 100%", Code.InvalidArgument);
          return {};
        },
      });
    },
    contextValues: () => {
      const values = new Map();
      return {
        get: (key: { id: symbol; defaultValue: unknown }) => (values.has(key.id) ? values.get(key.id) : key.defaultValue),
        set(key: { id: symbol }, value: unknown) {
          values.set(key.id, value);
          return this;
        },
        delete(key: { id: symbol }) {
          values.delete(key.id);
          return this;
        },
      };
    },
    fallback: (_request, response) => {
      response.writeHead(404);
      response.end();
    },
  });
  const listener = new DualProtocolListener(handler);
  servers.push(listener);
  return listener.listen(0, "127.0.0.1").then((port) => `http://127.0.0.1:${port}`);
}
const visitorKey = { id: Symbol("visitor"), defaultValue: "default" };

beforeAll(async () => {
  urls.fast = await startServer(true, seen.fast);
  urls.connect = await startServer(false, seen.connect);
});

afterAll(async () => {
  for (const listener of servers) {
    const stopped = listener.stopAccepting();
    listener.destroyAll();
    await stopped;
  }
});

interface WireAnswer {
  status: number;
  headers: Record<string, unknown>;
  body: string;
  trailers: Record<string, unknown>;
}

const GRPC_HEADERS = { "content-type": "application/grpc", te: "trailers" };

async function call(baseUrl: string, path: string, headers: Record<string, string>, body: Buffer, base: Record<string, string> = GRPC_HEADERS): Promise<WireAnswer> {
  const session = http2.connect(baseUrl);
  try {
    return await new Promise<WireAnswer>((resolve, reject) => {
      const stream = session.request({ ":method": "POST", ":path": path, ...base, ...headers });
      const answer: WireAnswer = { status: 0, headers: {}, body: "", trailers: {} };
      const chunks: Buffer[] = [];
      stream.on("response", (h) => {
        const { date: _date, ":status": status, ...rest } = h;
        answer.status = Number(status);
        answer.headers = rest;
      });
      stream.on("trailers", (t) => (answer.trailers = { ...t }));
      stream.on("data", (chunk: Buffer) => chunks.push(chunk));
      stream.on("error", reject);
      stream.on("end", () => {
        answer.body = Buffer.concat(chunks).toString("hex");
        resolve(answer);
      });
      stream.end(body);
    });
  } finally {
    session.close();
  }
}

function envelope(bytes: Uint8Array, flags = 0): Buffer {
  const frame = Buffer.alloc(5 + bytes.length);
  frame.writeUInt8(flags, 0);
  frame.writeUInt32BE(bytes.length, 1);
  Buffer.from(bytes).copy(frame, 5);
  return frame;
}

const setPhone = (phone: string) => envelope(toBinary(SetMyPhoneRequestSchema, create(SetMyPhoneRequestSchema, { phone })));
const SET = "/zitadel.auth.v1.AuthService/SetMyPhone";
const GET = "/zitadel.auth.v1.AuthService/GetMyPhone";

const cases: [name: string, path: string, headers: Record<string, string>, body: Buffer][] = [
  ["a successful call", SET, {}, setPhone("+41791234567")],
  ["application/grpc+proto", SET, { "content-type": "application/grpc+proto" }, setPhone("+41791234568")],
  ["headers and trailers from the handler and an interceptor", GET, {}, envelope(new Uint8Array())],
  ["a domain error with RetryInfo details", SET, {}, setPhone("retry")],
  ["a non-ASCII error message (percent-encoded grpc-message)", SET, {}, setPhone("ümlaut")],
  ["a crash in the handler (internal error)", SET, {}, setPhone("crash")],
  ["a deadline", GET, { "grpc-timeout": "5S" }, envelope(new Uint8Array())],
  ["a malformed deadline", GET, { "grpc-timeout": "soon" }, envelope(new Uint8Array())],
  ["a deadline that passes while the handler waits", GET, { "grpc-timeout": "30m", "x-wait-for-deadline": "1" }, envelope(new Uint8Array())],
  ["a gzip-compressed request", SET, { "grpc-encoding": "gzip" }, envelope(gzipSync(toBinary(SetMyPhoneRequestSchema, create(SetMyPhoneRequestSchema, { phone: "+41791234569" }))), 1)],
  ["a compressed envelope without grpc-encoding", SET, {}, envelope(gzipSync(Buffer.from("x")), 1)],
  ["an unsupported grpc-encoding", SET, { "grpc-encoding": "snappy" }, setPhone("+41791234570")],
  ["a large answer to a client accepting gzip", GET, { "grpc-accept-encoding": "gzip", "x-large": "1" }, envelope(new Uint8Array())],
  ["an empty body", SET, {}, Buffer.alloc(0)],
  ["a truncated envelope header", SET, {}, Buffer.from([0, 0, 0])],
  ["a truncated message", SET, {}, setPhone("+41791234571").subarray(0, 9)],
  ["two messages", SET, {}, Buffer.concat([setPhone("+41791234572"), setPhone("+41791234573")])],
  ["a message and trailing garbage", SET, {}, Buffer.concat([setPhone("+41791234574"), Buffer.from([1, 2])])],
  ["a message over readMaxBytes", SET, {}, setPhone("9".repeat(READ_MAX_BYTES + 10))],
  ["a declared length over readMaxBytes", SET, {}, Buffer.from([0, 0, 0, 16, 0, 1, 2, 3])],
  ["bytes that are not a SetMyPhoneRequest", SET, {}, envelope(Buffer.from([0xff, 0xff, 0xff]))],
];

test.each(cases)("gRPC, %s: the fast path answers what connect's gRPC handler answers", async (_name, path, headers, body) => {
  const before = { fast: seen.fast.length, connect: seen.connect.length };
  const fast = await call(urls.fast, path, headers, body);
  const connect = await call(urls.connect, path, headers, body);
  expect(fast).toEqual(connect);
  expect(seen.fast.slice(before.fast)).toEqual(seen.connect.slice(before.connect));
  expect(fast.trailers["grpc-status"]).toBeDefined();
});

test("the cases cover success, handler errors and protocol errors", async () => {
  const statuses = new Set<string>();
  for (const [, path, headers, body] of cases) statuses.add(String((await call(urls.fast, path, headers, body)).trailers["grpc-status"]));
  // OK, InvalidArgument, ResourceExhausted, Internal, Unimplemented at least.
  for (const code of [Code.InvalidArgument, Code.ResourceExhausted, Code.Internal, Code.Unimplemented, Code.DeadlineExceeded]) expect(statuses).toContain(String(code));
  expect(statuses).toContain("0");
});

test("grpc-js decodes the fast path's answers, errors with details included", async () => {
  const client = new grpc.Client(urls.fast.replace("http://", ""), grpc.credentials.createInsecure());
  const unary = (path: string, request: Uint8Array) =>
    new Promise<{ error: grpc.ServiceError | null; value?: Buffer }>((resolve) =>
      client.makeUnaryRequest(
        path,
        (bytes: Uint8Array) => Buffer.from(bytes),
        (bytes: Buffer) => bytes,
        request,
        (error, value) => resolve({ error, value }),
      ),
    );
  try {
    const ok = await unary(GET, new Uint8Array());
    expect(ok.error).toBeNull();
    expect(fromBinary(GetMyPhoneResponseSchema, ok.value!).phone?.phone).toBe("+41791234567");
    const refused = await unary(SET, toBinary(SetMyPhoneRequestSchema, create(SetMyPhoneRequestSchema, { phone: "retry" })));
    expect(refused.error?.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(refused.error?.details).toBe("too many codes");
    expect(refused.error?.metadata.get("grpc-status-details-bin")).toHaveLength(1);
  } finally {
    client.close();
  }
});

/** A Connect-protocol call over HTTP/1.1 (`http.request`, so every header goes out as given). */
function callHttp1(baseUrl: string, path: string, headers: Record<string, string>, body: Buffer): Promise<WireAnswer> {
  return new Promise<WireAnswer>((resolve, reject) => {
    const request = http.request(`${baseUrl}${path}`, { method: "POST", headers: { "content-type": "application/json", ...headers }, agent: false }, (response) => {
      const chunks: Buffer[] = [];
      response.on("data", (chunk: Buffer) => chunks.push(chunk));
      response.on("end", () => {
        const { date: _date, connection: _connection, "keep-alive": _keepAlive, ...rest } = response.headers;
        resolve({ status: response.statusCode ?? 0, headers: rest, body: Buffer.from(chunks.length ? Buffer.concat(chunks) : []).toString("hex"), trailers: {} });
      });
      response.on("error", reject);
    });
    request.on("error", reject);
    request.end(body);
  });
}

const json = (value: unknown) => Buffer.from(JSON.stringify(value));
const connectCases: [name: string, path: string, headers: Record<string, string>, body: Buffer][] = [
  ["a successful JSON call", SET, {}, json({ phone: "+41791234580" })],
  ["application/json; charset=utf-8", SET, { "content-type": "application/json; charset=utf-8" }, json({ phone: "+41791234581" })],
  ["a binary call (application/proto)", SET, { "content-type": "application/proto" }, Buffer.from(toBinary(SetMyPhoneRequestSchema, create(SetMyPhoneRequestSchema, { phone: "+41791234582" })))],
  ["headers and trailers from the handler and an interceptor", GET, { "connect-protocol-version": "1" }, json({})],
  ["a domain error with RetryInfo details", SET, {}, json({ phone: "retry" })],
  ["a non-ASCII error message", SET, {}, json({ phone: "ümlaut" })],
  ["a crash in the handler (internal error)", SET, {}, json({ phone: "crash" })],
  ["a deadline", GET, { "connect-timeout-ms": "5000" }, json({})],
  ["a malformed deadline", GET, { "connect-timeout-ms": "soon" }, json({})],
  ["a deadline that passes while the handler waits", GET, { "connect-timeout-ms": "30", "x-wait-for-deadline": "1" }, json({})],
  ["a gzip-compressed request", SET, { "content-encoding": "gzip" }, gzipSync(json({ phone: "+41791234583" }))],
  ["an unsupported content-encoding", SET, { "content-encoding": "snappy" }, json({ phone: "+41791234584" })],
  ["a large answer to a client accepting gzip", GET, { "accept-encoding": "gzip", "x-large": "1" }, json({})],
  ["an empty body", GET, {}, Buffer.alloc(0)],
  ["malformed JSON", SET, {}, Buffer.from("{phone:")],
  ["an unknown field", SET, {}, json({ phone: "+41791234585", colour: "blue" })],
  ["a wrong field type", SET, {}, json({ phone: 42 })],
  ["a body over readMaxBytes", SET, {}, json({ phone: "9".repeat(READ_MAX_BYTES) })],
  ["a Content-Length over readMaxBytes", SET, { "content-length": String(READ_MAX_BYTES + 1) }, json({ phone: "9".repeat(READ_MAX_BYTES - 13) })],
];

describe.each([
  ["HTTP/1.1", callHttp1],
  ["HTTP/2", (baseUrl: string, path: string, headers: Record<string, string>, body: Buffer) => call(baseUrl, path, headers, body, { "content-type": "application/json" })],
] as const)("Connect over %s", (version, send) => {
  // HTTP/2 itself refuses a Content-Length its DATA frames do not match (nghttp2 resets the stream).
  const applicable = connectCases.filter(([name]) => version === "HTTP/1.1" || !name.startsWith("a Content-Length"));
  test.each(applicable)("%s: the fast path answers what connect's Connect handler answers", async (_name, path, headers, body) => {
    const before = { fast: seen.fast.length, connect: seen.connect.length };
    const fast = await send(urls.fast, path, headers, body);
    const connect = await send(urls.connect, path, headers, body);
    expect(fast).toEqual(connect);
    expect(seen.fast.slice(before.fast)).toEqual(seen.connect.slice(before.connect));
  });
});

test("the Connect cases cover success, handler errors and protocol errors", async () => {
  const statuses = new Set<number>();
  for (const [, path, headers, body] of connectCases) statuses.add((await callHttp1(urls.fast, path, headers, body)).status);
  for (const status of [200, 400, 429, 500, 504]) expect(statuses).toContain(status);
});

test("a server shutdown aborts the calls in progress on both fast paths with the shutdown's reason", async () => {
  const shutdown = new AbortController();
  const reasons: unknown[] = [];
  let started = 0;
  let allStarted!: () => void;
  const bothStarted = new Promise<void>((resolve) => (allStarted = resolve));
  const handler = rpcNodeAdapter({
    shutdownSignal: shutdown.signal,
    routes: (router) =>
      router.service(AuthService, {
        setMyPhone: (_request, context: HandlerContext) =>
          new Promise((resolve) => {
            context.signal.addEventListener("abort", () => {
              reasons.push(context.signal.reason);
              resolve({});
            });
            if (++started === 2) allStarted();
          }),
      }),
    fallback: (_request, response) => {
      response.writeHead(404);
      response.end();
    },
  });
  const listener = new DualProtocolListener(handler);
  const baseUrl = `http://127.0.0.1:${await listener.listen(0, "127.0.0.1")}`;
  try {
    const grpcCall = call(baseUrl, SET, {}, setPhone("+41791234590"));
    const connectCall = callHttp1(baseUrl, SET, {}, json({ phone: "+41791234591" }));
    await bothStarted;
    expect(reasons).toEqual([]);
    shutdown.abort(new ConnectError("the server is shutting down", Code.Unavailable));
    await Promise.all([grpcCall, connectCall]);
    expect(reasons.map((reason) => ConnectError.from(reason).code)).toEqual([Code.Unavailable, Code.Unavailable]);
  } finally {
    const stopped = listener.stopAccepting();
    listener.destroyAll();
    await stopped;
  }
});
