import http from "node:http";
import http2 from "node:http2";
import { create, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient, type HandlerContext } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { Health, HealthCheckResponse_ServingStatus } from "../../gen/grpc/health/v1/health_pb.js";
import { AuthService, SetMyPhoneRequestSchema } from "../../gen/zitadel/auth_pb.js";
import { rpcNodeAdapter } from "../../src/api/rpc-node-adapter.js";
import { DualProtocolListener } from "../../src/server/dual-protocol-listener.js";

/**
 * The unary fast path in front of connect's universal handlers: what it must keep from connect-node's adapter
 * (cancellation reaches the handler, streaming methods still stream, other paths reach the fallback) and what
 * it changes on the wire (one write: a Content-Length instead of chunked encoding on HTTP/1.1).
 */

let listener: DualProtocolListener;
let baseUrl: string;
/** The signal of the SetMyPhone call in progress, and a way to let it finish. */
let held: { signal: AbortSignal; release: () => void } | undefined;
let heldSignal: Promise<AbortSignal>;
let announceHeld: (signal: AbortSignal) => void;
const fallbackPaths: string[] = [];

beforeAll(async () => {
  const handler = rpcNodeAdapter({
    routes: (router) => {
      router.service(AuthService, {
        getMyPhone: () => ({ phone: { phone: "+41791234567" } }),
        setMyPhone: async (_request, context: HandlerContext) => {
          await new Promise<void>((resolve) => {
            held = { signal: context.signal, release: resolve };
            announceHeld(context.signal);
            context.signal.addEventListener("abort", () => resolve());
          });
          return {};
        },
      });
      router.service(Health, {
        check: () => ({ status: HealthCheckResponse_ServingStatus.SERVING }),
        async *watch() {
          yield { status: HealthCheckResponse_ServingStatus.SERVING };
          yield { status: HealthCheckResponse_ServingStatus.NOT_SERVING };
        },
      });
    },
    fallback: (request, response) => {
      fallbackPaths.push(request.url ?? "");
      response.writeHead(404);
      response.end();
    },
  });
  listener = new DualProtocolListener(handler);
  const port = await listener.listen(0, "127.0.0.1");
  baseUrl = `http://127.0.0.1:${port}`;
});

afterAll(async () => {
  const stopped = listener.stopAccepting();
  listener.destroyAll();
  await stopped;
});

beforeEach(() => {
  held = undefined;
  heldSignal = new Promise((resolve) => (announceHeld = resolve));
});

function grpcFrame(bytes: Uint8Array): Buffer {
  const frame = Buffer.alloc(5 + bytes.length);
  frame.writeUInt32BE(bytes.length, 1);
  Buffer.from(bytes).copy(frame, 5);
  return frame;
}

test("a gRPC client resetting its stream cancels the handler's signal with Canceled", async () => {
  const session = http2.connect(baseUrl);
  try {
    const stream = session.request({ ":method": "POST", ":path": "/zitadel.auth.v1.AuthService/SetMyPhone", "content-type": "application/grpc", te: "trailers" });
    stream.on("error", () => {});
    stream.end(grpcFrame(toBinary(SetMyPhoneRequestSchema, create(SetMyPhoneRequestSchema, { phone: "+41791234567" }))));
    const signal = await heldSignal;
    expect(signal.aborted).toBe(false);
    stream.close(http2.constants.NGHTTP2_CANCEL);
    await new Promise((resolve) => signal.addEventListener("abort", resolve));
    expect(ConnectError.from(signal.reason).code).toBe(Code.Canceled);
  } finally {
    session.close();
  }
});

test("an HTTP/1.1 client closing its connection cancels the handler's signal with Canceled", async () => {
  const request = http.request(`${baseUrl}/zitadel.auth.v1.AuthService/SetMyPhone`, { method: "POST", headers: { "content-type": "application/json" } });
  request.on("error", () => {});
  request.end(JSON.stringify({ phone: "+41791234567" }));
  const signal = await heldSignal;
  request.destroy();
  await new Promise((resolve) => signal.addEventListener("abort", resolve));
  expect(ConnectError.from(signal.reason).code).toBe(Code.Canceled);
});

test("unary answers arrive whole: gRPC with its trailers, Connect JSON with a Content-Length", async () => {
  const grpcClient = createClient(AuthService, createGrpcTransport({ baseUrl }));
  expect((await grpcClient.getMyPhone({})).phone?.phone).toBe("+41791234567");

  const answer = await fetch(`${baseUrl}/zitadel.auth.v1.AuthService/GetMyPhone`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
  expect(answer.status).toBe(200);
  const body = await answer.text();
  expect(JSON.parse(body)).toEqual({ phone: { phone: "+41791234567" } });
  expect(answer.headers.get("content-length")).toBe(String(Buffer.byteLength(body)));
  expect(answer.headers.get("transfer-encoding")).toBeNull();
});

test("a call released normally answers OK", async () => {
  const client = createClient(AuthService, createConnectTransport({ baseUrl, httpVersion: "1.1" }));
  const call = client.setMyPhone({ phone: "+41791234567" });
  const signal = await heldSignal;
  held!.release();
  await expect(call).resolves.toBeDefined();
  // connect aborts the handler context itself once the call is over; what matters is that it was not a cancel.
  expect(signal.aborted ? ConnectError.from(signal.reason).code : undefined).not.toBe(Code.Canceled);
});

test("streaming methods still stream (they stay on connect-node's adapter)", async () => {
  const client = createClient(Health, createGrpcTransport({ baseUrl }));
  const statuses: HealthCheckResponse_ServingStatus[] = [];
  for await (const answer of client.watch({})) statuses.push(answer.status);
  expect(statuses).toEqual([HealthCheckResponse_ServingStatus.SERVING, HealthCheckResponse_ServingStatus.NOT_SERVING]);
});

test("paths that are no RPC reach the fallback, with their query", async () => {
  const answer = await fetch(`${baseUrl}/healthz?verbose=1`);
  expect(answer.status).toBe(404);
  expect(fallbackPaths).toContain("/healthz?verbose=1");
});

test("errors keep their protocol form on the fast path", async () => {
  const answer = await fetch(`${baseUrl}/zitadel.auth.v1.AuthService/RemoveMyPhone`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
  expect(answer.status).toBe(501);
  expect(await answer.json()).toMatchObject({ code: "unimplemented" });
});
