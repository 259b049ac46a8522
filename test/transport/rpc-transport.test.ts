import http from "node:http";
import http2 from "node:http2";
import { brotliCompressSync, brotliDecompressSync, gunzipSync, gzipSync } from "node:zlib";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import {
  Code,
  ConnectError,
  createClient,
  createContextKey,
  createContextValues,
  type HandlerContext,
  type Interceptor,
} from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { RetryInfoSchema } from "../../gen/google/rpc/error_details_pb.js";
import { Health, HealthCheckResponse_ServingStatus } from "../../gen/grpc/health/v1/health_pb.js";
import { AuthService, GetMyPhoneResponseSchema, SetMyPhoneRequestSchema } from "../../gen/zitadel/auth_pb.js";
import { ErrorDetailSchema } from "../../gen/zitadel/message_pb.js";
import { DualProtocolListener } from "../../src/transport/dual-protocol-listener.js";
import { restCallKey } from "../../src/transport/rest-transcoder.js";
import { createRpcTransport, serviceRegistration, type RpcTransport } from "../../src/transport/rpc-transport.js";
import { rawTcp, readAnswer } from "../hostile/raw-http.js";

/**
 * The transport as clients see it: connect-node's adapter serves the registered services over gRPC, gRPC-Web and
 * Connect, the REST routes run the same implementation behind the same interceptors, and what the transport adds
 * around connect (REST, the authority guard, the fallback) behaves. Real sockets, raw HTTP/1.1 and HTTP/2.
 */

const READ_MAX_BYTES = 4096;
const visitorKey = createContextKey<string>("none", { description: "visitor" });

let listener: DualProtocolListener;
let baseUrl: string;
let port: number;
let transport: RpcTransport;
const shutdown = new AbortController();
/** The signal of the SetMyPhone call held open, announced when it starts. */
let heldSignal: Promise<AbortSignal>;
let announceHeld: (signal: AbortSignal) => void;
const fallbackPaths: string[] = [];
/** What the interceptor and the implementation saw, per call. */
const seen: { interceptor: string[]; implementation: string[] } = { interceptor: [], implementation: [] };

const stamp: Interceptor = (next) => async (request) => {
  seen.interceptor.push(`${request.method.name} ${request.header.get("authorization") ?? "-"}`);
  const response = await next(request);
  response.header.set("x-interceptor", request.method.name);
  return response;
};

beforeAll(async () => {
  transport = createRpcTransport({
    services: [
      serviceRegistration(AuthService, {
        getMyPhone: (_request, context: HandlerContext) => {
          seen.implementation.push(
            `get visitor=${context.values.get(visitorKey)} rest=${context.values.get(restCallKey)}`,
          );
          const large = context.requestHeader.get("x-large") === "1";
          return { phone: { phone: large ? "+41791234567".repeat(200) : "+41791234567", isPhoneVerified: true } };
        },
        setMyPhone: async (request, context: HandlerContext) => {
          seen.implementation.push(`set ${request.phone}`);
          if (request.phone === "retry") {
            const metadata = new Headers({ "retry-after": "42" });
            throw new ConnectError("too many codes (COMMAND-x)", Code.ResourceExhausted, metadata, [
              { desc: ErrorDetailSchema, value: { id: "COMMAND-x", message: "too many codes" } },
              { desc: RetryInfoSchema, value: { retryDelay: { seconds: 42n } } },
            ]);
          }
          if (request.phone === "hold") {
            await new Promise<void>((resolve) => {
              announceHeld(context.signal);
              context.signal.addEventListener("abort", () => resolve());
            });
            context.signal.throwIfAborted();
          }
          return {};
        },
      }),
      serviceRegistration(Health, {
        check: () => ({ status: HealthCheckResponse_ServingStatus.SERVING }),
        async *watch() {
          yield { status: HealthCheckResponse_ServingStatus.SERVING };
          yield { status: HealthCheckResponse_ServingStatus.NOT_SERVING };
        },
      }),
    ],
    router: { interceptors: [stamp], readMaxBytes: READ_MAX_BYTES, shutdownSignal: shutdown.signal },
    contextValues: () => createContextValues().set(visitorKey, "from-transport"),
    fallback: (request, response) => {
      fallbackPaths.push(request.url ?? "");
      response.writeHead(404);
      response.end();
    },
  });
  listener = new DualProtocolListener(transport.handler);
  port = await listener.listen(0, "127.0.0.1");
  baseUrl = `http://127.0.0.1:${port}`;
});

afterAll(async () => {
  const stopped = listener.stopAccepting();
  listener.destroyAll();
  await stopped;
});

beforeEach(() => {
  heldSignal = new Promise((resolve) => (announceHeld = resolve));
  seen.interceptor.length = 0;
  seen.implementation.length = 0;
});

function envelope(bytes: Uint8Array, flags = 0): Buffer {
  const frame = Buffer.alloc(5 + bytes.length);
  frame.writeUInt8(flags, 0);
  frame.writeUInt32BE(bytes.length, 1);
  Buffer.from(bytes).copy(frame, 5);
  return frame;
}

const setPhoneBytes = (phone: string) => toBinary(SetMyPhoneRequestSchema, create(SetMyPhoneRequestSchema, { phone }));
const SET = "/zitadel.auth.v1.AuthService/SetMyPhone";
const GET = "/zitadel.auth.v1.AuthService/GetMyPhone";

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  trailers: Record<string, string | string[] | undefined>;
}

/** One HTTP/2 request on its own session. */
function h2(path: string, headers: Record<string, string>, body: Buffer, method = "POST"): Promise<Answer> {
  const session = http2.connect(baseUrl);
  return new Promise<Answer>((resolve, reject) => {
    const stream = session.request({ ":method": method, ":path": path, ...headers });
    const answer: Answer = { status: 0, headers: {}, body: Buffer.alloc(0), trailers: {} };
    const chunks: Buffer[] = [];
    stream.on("response", (h) => {
      answer.status = Number(h[":status"]);
      answer.headers = h as http.IncomingHttpHeaders;
    });
    stream.on("trailers", (t) => (answer.trailers = { ...t }));
    stream.on("data", (chunk: Buffer) => chunks.push(chunk));
    stream.on("error", reject);
    stream.on("end", () => resolve({ ...answer, body: Buffer.concat(chunks) }));
    stream.end(body);
  }).finally(() => session.close());
}

/** One HTTP/1.1 request on its own connection. */
function h1(path: string, headers: Record<string, string>, body: Buffer | string, method = "POST"): Promise<Answer> {
  return new Promise<Answer>((resolve, reject) => {
    const request = http.request(`${baseUrl}${path}`, { method, headers, agent: false }, (response) => {
      readAnswer(response).then(resolve, reject);
    });
    request.on("error", reject);
    request.end(body);
  });
}

describe("connect-node's protocols", () => {
  test("a gRPC client resetting its stream cancels the handler's signal with Canceled", async () => {
    const session = http2.connect(baseUrl);
    try {
      const stream = session.request({
        ":method": "POST",
        ":path": SET,
        "content-type": "application/grpc",
        te: "trailers",
      });
      stream.on("error", () => {});
      stream.end(envelope(setPhoneBytes("hold")));
      const signal = await heldSignal;
      expect(signal.aborted).toBe(false);
      stream.close(http2.constants.NGHTTP2_CANCEL);
      await new Promise((resolve) => signal.addEventListener("abort", resolve));
      expect(ConnectError.from(signal.reason).code).toBe(Code.Canceled);
    } finally {
      session.close();
    }
  });

  test("an HTTP/1.1 client closing its connection aborts the handler's signal (an AbortError: Canceled to connect)", async () => {
    const request = http.request(`${baseUrl}${SET}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
    });
    request.on("error", () => {});
    request.end(JSON.stringify({ phone: "hold" }));
    const signal = await heldSignal;
    request.destroy();
    await new Promise((resolve) => signal.addEventListener("abort", resolve));
    // connect-node aborts without a reason on HTTP/1.1; ConnectError.from turns that AbortError into Canceled. By
    // name: the DOMException comes from Node's realm, not jest's, so instanceof (and ConnectError.from) cannot see it.
    expect((signal.reason as Error).name).toBe("AbortError");
  });

  test("unary answers arrive whole: gRPC with its trailers, Connect JSON over HTTP/1.1 with a Content-Length", async () => {
    const grpc = await h2(GET, { "content-type": "application/grpc", te: "trailers" }, envelope(new Uint8Array()));
    expect(grpc.trailers["grpc-status"]).toBe("0");
    expect(fromBinary(GetMyPhoneResponseSchema, grpc.body.subarray(5)).phone?.phone).toBe("+41791234567");
    expect(grpc.headers["x-interceptor"]).toBe("GetMyPhone");

    const connect = await h1(GET, { "content-type": "application/json" }, "{}");
    expect(connect.status).toBe(200);
    expect(JSON.parse(connect.body.toString())).toEqual({ phone: { phone: "+41791234567", isPhoneVerified: true } });
    expect(connect.headers["content-length"]).toBe(String(connect.body.length));
    expect(connect.headers["transfer-encoding"]).toBeUndefined();
    expect(seen.implementation).toEqual([
      "get visitor=from-transport rest=false",
      "get visitor=from-transport rest=false",
    ]);
  });

  test("errors keep their protocol form: Connect JSON with headers from metadata, gRPC trailers with details", async () => {
    const connect = await h1(SET, { "content-type": "application/json" }, JSON.stringify({ phone: "retry" }));
    expect(connect.status).toBe(429);
    expect(connect.headers["retry-after"]).toBe("42");
    expect(JSON.parse(connect.body.toString())).toMatchObject({
      code: "resource_exhausted",
      message: "too many codes (COMMAND-x)",
    });

    const grpc = await h2(
      SET,
      { "content-type": "application/grpc", te: "trailers" },
      envelope(setPhoneBytes("retry")),
    );
    expect(grpc.trailers["grpc-status"]).toBe(String(Code.ResourceExhausted));
    expect(grpc.trailers["grpc-status-details-bin"]).toBeDefined();

    const unimplemented = await h1(
      "/zitadel.auth.v1.AuthService/RemoveMyPhone",
      { "content-type": "application/json" },
      "{}",
    );
    expect(unimplemented.status).toBe(501);
    expect(JSON.parse(unimplemented.body.toString())).toMatchObject({ code: "unimplemented" });
  });

  test("streaming methods stream", async () => {
    const client = createClient(Health, createGrpcTransport({ baseUrl }));
    const statuses: HealthCheckResponse_ServingStatus[] = [];
    for await (const answer of client.watch({})) statuses.push(answer.status);
    expect(statuses).toEqual([
      HealthCheckResponse_ServingStatus.SERVING,
      HealthCheckResponse_ServingStatus.NOT_SERVING,
    ]);
  });

  test("connect clients reach every service registered once (router handlers by path)", async () => {
    expect([...transport.rpcHandlers.keys()].sort()).toEqual(
      [
        "/grpc.health.v1.Health/Check",
        "/grpc.health.v1.Health/List",
        "/grpc.health.v1.Health/Watch",
        ...AuthService.methods.map((method) => `/${AuthService.typeName}/${method.name}`).sort(),
      ].sort(),
    );
    const client = createClient(AuthService, createConnectTransport({ baseUrl, httpVersion: "1.1" }));
    expect((await client.getMyPhone({})).phone?.phone).toBe("+41791234567");
  });

  test.each([
    ["gzip", gzipSync, gunzipSync],
    ["br", brotliCompressSync, brotliDecompressSync],
  ] as const)(
    "%s: compressed requests are read, and large answers come back compressed when accepted",
    async (name, compress, decompress) => {
      const connect = await h1(
        SET,
        { "content-type": "application/json", "content-encoding": name },
        compress(JSON.stringify({ phone: `+4179000000${name.length}` })),
      );
      expect(connect.status).toBe(200);
      const large = await h1(
        GET,
        { "content-type": "application/json", "accept-encoding": name, "x-large": "1" },
        "{}",
      );
      expect(large.headers["content-encoding"]).toBe(name);
      expect(JSON.parse(decompress(large.body).toString()).phone.phone).toBe("+41791234567".repeat(200));

      const grpc = await h2(
        SET,
        { "content-type": "application/grpc", te: "trailers", "grpc-encoding": name },
        envelope(compress(setPhoneBytes("+41790000009")), 1),
      );
      expect(grpc.trailers["grpc-status"]).toBe("0");
      const grpcLarge = await h2(
        GET,
        { "content-type": "application/grpc", te: "trailers", "grpc-accept-encoding": name, "x-large": "1" },
        envelope(new Uint8Array()),
      );
      expect(grpcLarge.headers["grpc-encoding"]).toBe(name);
      expect(grpcLarge.body[0]).toBe(1);
      expect(seen.implementation.filter((line) => line.startsWith("set"))).toEqual([
        `set +4179000000${name.length}`,
        "set +41790000009",
      ]);
    },
  );

  test("a message over readMaxBytes is refused before the implementation runs", async () => {
    const connect = await h1(
      SET,
      { "content-type": "application/json" },
      JSON.stringify({ phone: "9".repeat(READ_MAX_BYTES) }),
    );
    expect(connect.status).toBe(429);
    const grpc = await h2(
      SET,
      { "content-type": "application/grpc", te: "trailers" },
      envelope(setPhoneBytes("9".repeat(READ_MAX_BYTES))),
    );
    expect(grpc.trailers["grpc-status"]).toBe(String(Code.ResourceExhausted));
    expect(seen.implementation).toEqual([]);
  });
});

describe("what the transport adds", () => {
  test("paths that are neither RPC nor REST reach the fallback, with their query", async () => {
    const answer = await fetch(`${baseUrl}/healthz?verbose=1`);
    expect(answer.status).toBe(404);
    expect(fallbackPaths).toContain("/healthz?verbose=1");
  });

  test.each([
    [
      "HTTP/1.0 without Host",
      "POST /grpc.health.v1.Health/Check HTTP/1.0\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}",
    ],
    [
      "an empty Host",
      "POST /grpc.health.v1.Health/Check HTTP/1.1\r\nHost: \r\ncontent-type: application/json\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{}",
    ],
    [
      "a Host that is no host",
      "POST /grpc.health.v1.Health/Check HTTP/1.1\r\nHost: a b\r\ncontent-type: application/json\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{}",
    ],
    [
      "a Host with a port out of range",
      "POST /grpc.health.v1.Health/Check HTTP/1.1\r\nHost: x:99999999\r\ncontent-type: application/json\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{}",
    ],
  ])("an RPC request with %s gets 400 (connect-node would throw outside any promise)", async (_name, request) => {
    const outcome = await rawTcp(port, [request], { maxMs: 5_000 });
    expect(outcome.received.toString("latin1")).toMatch(/^HTTP\/1\.1 400 /);
    const after = await h1("/grpc.health.v1.Health/Check", { "content-type": "application/json" }, "{}");
    expect(JSON.parse(after.body.toString())).toEqual({ status: "SERVING" });
  });

  test("a request without Host that is no RPC still reaches the fallback", async () => {
    const outcome = await rawTcp(port, ["GET /healthz HTTP/1.0\r\n\r\n"], { maxMs: 5_000 });
    expect(outcome.received.toString("latin1")).toMatch(/^HTTP\/1\.1 404 /);
  });
});

describe("an honest 415", () => {
  const served = (body: Buffer) => /it serves (.*)$/m.exec(body.toString())?.[1]?.split(", ") ?? [];

  test.each([
    ["HTTP/1.1", h1],
    ["HTTP/2", h2],
  ] as const)(
    "over %s, a content type no protocol serves gets 415 and a body naming the ones served there",
    async (_version, send) => {
      for (const contentType of ["text/plain", "application/grpc-web-text+json", "application/xml"]) {
        const answer = await send(GET, { "content-type": contentType }, Buffer.from("{}"));
        expect(answer.status).toBe(415);
        expect(answer.headers["content-type"]).toBe("text/plain; charset=utf-8");
        expect(answer.body.toString()).toBe(
          `unsupported media type: content type ${JSON.stringify(contentType)} is not served on ${GET}; it serves ` +
            "application/grpc, application/grpc+proto, application/grpc+json, application/grpc-web, application/grpc-web+proto, " +
            "application/grpc-web+json, application/json, application/proto, application/grpc-web-text, application/grpc-web-text+proto\n",
        );
      }
      const none = await send(GET, {}, Buffer.from("{}"));
      expect(none.status).toBe(415);
      expect(none.body.toString()).toMatch(/^unsupported media type: no content type is not served on /);
      // A streaming method names the Connect streaming types instead of the unary ones.
      const watch = await send("/grpc.health.v1.Health/Watch", { "content-type": "text/plain" }, Buffer.alloc(0));
      expect(served(watch.body)).toEqual(
        expect.arrayContaining(["application/connect+proto", "application/connect+json", "application/grpc-web-text"]),
      );
      expect(served(watch.body)).not.toContain("application/json");
      expect(seen.implementation).toEqual([]);
    },
  );

  test("every content type the 415 names is served: none of them is refused", async () => {
    const refusal = await h1(GET, { "content-type": "text/plain" }, "");
    const types = served(refusal.body);
    expect(types).toHaveLength(10);
    for (const contentType of types) {
      const headers = { "content-type": contentType, te: "trailers" };
      // Connect unary bodies are bare (JSON, or an empty message); gRPC and gRPC-Web ones are framed.
      const body =
        contentType === "application/json"
          ? Buffer.from("{}")
          : contentType === "application/proto"
            ? Buffer.alloc(0)
            : envelope(new Uint8Array());
      const text = contentType.includes("-text") ? Buffer.from(body.toString("base64")) : body;
      const answer = await h2(GET, headers, text);
      expect([contentType, answer.status]).toEqual([contentType, 200]);
    }
  });
});

describe("REST", () => {
  const PHONE = "/auth/v1/users/me/phone";

  test("runs the same implementation behind the same interceptors, with the transport's context values", async () => {
    const answer = await h1(PHONE, { authorization: "Bearer t" }, "", "GET");
    expect(answer.status).toBe(200);
    expect(answer.headers["content-type"]).toBe("application/json");
    expect(JSON.parse(answer.body.toString())).toEqual({ phone: { phone: "+41791234567", isPhoneVerified: true } });
    expect(seen.interceptor).toEqual(["GetMyPhone Bearer t"]);
    expect(seen.implementation).toEqual(["get visitor=from-transport rest=true"]);
  });

  test("decodes the body into the request message, ignoring unknown fields (grpc-gateway's DiscardUnknown)", async () => {
    const answer = await h2(
      PHONE,
      { "content-type": "application/json" },
      Buffer.from(JSON.stringify({ phone: "+41791234599", colour: { nested: [1] } })),
      "PUT",
    );
    expect(answer.status).toBe(200);
    expect(seen.implementation).toEqual(["set +41791234599"]);
  });

  test("a field of the wrong type is InvalidArgument (400, code 3) and never reaches the interceptors", async () => {
    const answer = await h1(PHONE, { "content-type": "application/json" }, JSON.stringify({ phone: 42 }), "PUT");
    expect(answer.status).toBe(400);
    expect(JSON.parse(answer.body.toString())).toMatchObject({
      code: 3,
      message: expect.stringContaining("cannot decode"),
    });
    expect(seen.interceptor).toEqual([]);
  });

  test("the ConnectError a call ends in becomes google.rpc.Status JSON, HTTP status and Retry-After", async () => {
    const answer = await h1(PHONE, { "content-type": "application/json" }, JSON.stringify({ phone: "retry" }), "PUT");
    expect(answer.status).toBe(429);
    expect(answer.headers["retry-after"]).toBe("42");
    expect(answer.headers["content-type"]).toBe("application/json");
    expect(JSON.parse(answer.body.toString())).toStrictEqual({
      code: 8,
      message: "too many codes (COMMAND-x)",
      details: [
        { "@type": "type.googleapis.com/zitadel.v1.ErrorDetail", id: "COMMAND-x", message: "too many codes" },
        { "@type": "type.googleapis.com/google.rpc.RetryInfo", retryDelay: "42s" },
      ],
    });
  });

  test("a body over readMaxBytes is 413, code 8", async () => {
    const answer = await h1(
      PHONE,
      { "content-type": "application/json" },
      JSON.stringify({ phone: "9".repeat(READ_MAX_BYTES) }),
      "PUT",
    );
    expect(answer.status).toBe(413);
    expect(JSON.parse(answer.body.toString())).toMatchObject({ code: 8 });
  });

  test("a wrong verb on a REST path is 405", async () => {
    const answer = await h1(PHONE, {}, "", "PATCH");
    expect(answer.status).toBe(405);
  });
});

test("a shutdown aborts calls in progress on every protocol with the shutdown's reason", async () => {
  const signals: AbortSignal[] = [];
  const calls: Promise<Answer>[] = [];
  const start = async (call: () => Promise<Answer>) => {
    heldSignal = new Promise((resolve) => (announceHeld = resolve));
    calls.push(call());
    signals.push(await heldSignal);
  };
  await start(() => h2(SET, { "content-type": "application/grpc", te: "trailers" }, envelope(setPhoneBytes("hold"))));
  await start(() => h1(SET, { "content-type": "application/json" }, JSON.stringify({ phone: "hold" })));
  await start(() =>
    h1("/auth/v1/users/me/phone", { "content-type": "application/json" }, JSON.stringify({ phone: "hold" }), "PUT"),
  );
  expect(signals.map((signal) => signal.aborted)).toEqual([false, false, false]);
  shutdown.abort(new ConnectError("the server is shutting down", Code.Unavailable));
  const [grpc, connect, rest] = await Promise.all(calls);
  expect(signals.map((signal) => ConnectError.from(signal.reason).code)).toEqual([
    Code.Unavailable,
    Code.Unavailable,
    Code.Unavailable,
  ]);
  expect(grpc!.trailers["grpc-status"]).toBe(String(Code.Unavailable));
  expect(connect!.status).toBe(503);
  expect(rest!.status).toBe(503);
  expect(JSON.parse(rest!.body.toString())).toMatchObject({ code: Code.Unavailable });
});
