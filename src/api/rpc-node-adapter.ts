import { Code, ConnectError, createConnectRouter, type ConnectRouter, type ConnectRouterOptions, type ContextValues } from "@connectrpc/connect";
import type { UniversalHandler, UniversalServerRequest } from "@connectrpc/connect/protocol";
import { compressionBrotli, compressionGzip, connectNodeAdapter } from "@connectrpc/connect-node";
import { ConnectUnaryHandler, connectUnaryFormat } from "./connect-unary-handler.js";
import { GrpcUnaryHandler, isBinaryGrpc } from "./grpc-unary-handler.js";
import type { NodeHandler, NodeRequest, NodeResponse } from "./node-handler.js";
import { callRequestOf, LiveCalls, nodeHeadersOf, unarySpecsOf } from "./unary-method.js";

export interface RpcNodeAdapterOptions extends ConnectRouterOptions {
  readonly routes: (router: ConnectRouter) => void;
  /** Gets every request that is not an RPC path. */
  readonly fallback: NodeHandler;
  readonly contextValues?: (request: NodeRequest) => ContextValues;
  /** Called when a handler fails outside the RPC protocol (connect answers its own errors; this is a bug). */
  readonly onHandlerFailure?: (error: unknown, procedure: string) => void;
  /**
   * Serve binary gRPC and Connect unary calls with GrpcUnaryHandler and ConnectUnaryHandler (default); false:
   * with connect's handlers only (tests compare both on the wire).
   */
  readonly unaryFastPath?: boolean;
}

/**
 * The Node side of connect's universal handlers, written for unary calls, which are all of myphone's hot path.
 * connect-node's adapter serves any method kind, and pays per request for it: it wraps the request body in a
 * down-levelled async generator, writes the answer chunk by chunk with a promise per write, and aborts a signal
 * on every close, which builds a DOMException with a stack trace per call. Here a unary call reads the body as
 * the Node stream's own async iterator, writes status, headers, body and trailers with a single `end()`, and
 * aborts only when the client went away first. Streaming methods (reflection, health watch) keep connect-node's
 * adapter, which streams both ways; both sides use the same router options, so protocols, limits, compression and
 * interceptors are the same on both paths (test/e2e/protocols.test.ts runs every client against this adapter).
 * Binary gRPC and Connect (POST) unary calls go one step further, past connect's protocol handlers to
 * GrpcUnaryHandler and ConnectUnaryHandler (see there); gRPC-Web and Connect GET stay with connect.
 */
export function rpcNodeAdapter(options: RpcNodeAdapterOptions): NodeHandler {
  // connect-node's defaults, so both paths accept the same request encodings.
  const routerOptions: RpcNodeAdapterOptions = { ...options, acceptCompression: options.acceptCompression ?? [compressionGzip, compressionBrotli] };
  const router = createConnectRouter(routerOptions);
  // Services registered without options of their own also get the unary fast paths (per-service options may
  // change protocols or limits, so such services stay on connect's handlers only).
  const live = new LiveCalls(routerOptions.shutdownSignal);
  const fastPaths = new Map<string, { grpc: GrpcUnaryHandler; connect: ConnectUnaryHandler }>();
  options.routes({
    handlers: router.handlers,
    service(service, implementation, serviceOptions) {
      if (serviceOptions === undefined && options.unaryFastPath !== false) {
        for (const spec of unarySpecsOf(service, implementation as Record<string, unknown>)) {
          fastPaths.set(`/${service.typeName}/${spec.method.name}`, { grpc: new GrpcUnaryHandler(spec, routerOptions, live), connect: new ConnectUnaryHandler(spec, routerOptions, live) });
        }
      }
      router.service(service, implementation, serviceOptions);
      return this;
    },
    rpc(method, implementation, methodOptions) {
      router.rpc(method, implementation, methodOptions);
      return this;
    },
  });
  const unary = new Map<string, UniversalHandler>();
  for (const handler of router.handlers) if (handler.method.methodKind === "unary") unary.set(handler.requestPath, handler);
  const streaming = connectNodeAdapter(routerOptions);
  const report = options.onHandlerFailure ?? ((error: unknown, procedure: string) => console.error(`handler for ${procedure} failed`, error));

  return (request, response) => {
    const url = request.url ?? "";
    const query = url.indexOf("?");
    const path = query < 0 ? url : url.slice(0, query);
    const handler = unary.get(path);
    if (!handler) return streaming(request, response);
    const contextValues = options.contextValues?.(request);
    const fast = fastPaths.get(path);
    const connectFormat = fast && connectUnaryFormat(request);
    const served = !fast
      ? serveUnary(handler, universalRequestOf(request, response, contextValues), response)
      : isBinaryGrpc(request)
        ? fast.grpc.serve(request, callRequestOf(request, contextValues), response)
        : connectFormat
          ? fast.connect.serve(request, callRequestOf(request, contextValues), response, connectFormat.binary)
          : serveUnary(handler, universalRequestOf(request, response, contextValues), response);
    served.catch((error: unknown) => {
      if (ConnectError.from(error).code === Code.Aborted || response.destroyed) return;
      report(error, handler.requestPath);
      if (!response.headersSent) response.writeHead(500);
      response.end();
    });
  };
}

/**
 * A Node request as connect's universal request. The body is the request stream itself (an early return of its
 * iterator destroys it, as connect-node does); the signal aborts with Canceled when the exchange closed before
 * the answer was written (client reset, socket error, timeout), and never otherwise.
 */
export function universalRequestOf(request: NodeRequest, response: NodeResponse, contextValues: ContextValues | undefined): UniversalServerRequest {
  const call = callRequestOf(request, contextValues);
  const controller = new AbortController();
  // Not "finish": HTTP/2's compatibility response emits it also for a stream the client reset.
  response.once("close", () => {
    if (!response.writableEnded) controller.abort(new ConnectError("the client closed the request", Code.Canceled));
  });
  return {
    httpVersion: request.httpVersion,
    method: call.method,
    url: call.url,
    header: call.header,
    body: request as AsyncIterable<Uint8Array>,
    signal: controller.signal,
    contextValues,
  };
}

async function serveUnary(handler: UniversalHandler, request: UniversalServerRequest, response: NodeResponse): Promise<void> {
  const answer = await handler(request);
  const chunks: Uint8Array[] = [];
  // A unary answer is one envelope (or one JSON document): connect has produced it once this loop ends.
  if (answer.body) for await (const chunk of answer.body as AsyncIterable<Uint8Array>) chunks.push(chunk);
  if (response.destroyed) return;
  response.writeHead(answer.status, answer.header && nodeHeadersOf(answer.header));
  if (answer.trailer) response.addTrailers(nodeHeadersOf(answer.trailer));
  response.end(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks));
}
