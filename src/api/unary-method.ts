import type { DescMethodUnary, DescService } from "@bufbuild/protobuf";
import { Code, ConnectError, createContextValues, type ContextValues, type HandlerContext } from "@connectrpc/connect";
import { getAbortSignalReason } from "@connectrpc/connect/protocol";
import type { NodeRequest, NodeResponse } from "./node-handler.js";

/** The handler context connect creates per call, with its abort. */
export type HandlerContextController = HandlerContext & { abort(reason?: unknown): void };

/** A unary method and the function that implements it (connect's MethodImplSpec for the unary kind). */
export interface UnaryMethodSpec {
  readonly kind: "unary";
  readonly method: DescMethodUnary;
  readonly impl: (request: never, context: never) => unknown;
}

/** The unary method specs of one service implementation, as connect's router builds them. */
export function unarySpecsOf(service: DescService, implementation: Record<string, unknown>): UnaryMethodSpec[] {
  const specs: UnaryMethodSpec[] = [];
  for (const method of service.methods) {
    if (method.methodKind !== "unary") continue;
    const fn = implementation[method.localName];
    const impl =
      typeof fn === "function"
        ? (fn.bind(implementation) as UnaryMethodSpec["impl"])
        : () => {
            throw new ConnectError(`${service.typeName}.${method.name} is not implemented`, Code.Unimplemented);
          };
    specs.push({ kind: "unary", method: method as DescMethodUnary, impl });
  }
  return specs;
}

/**
 * The reason a finished call's context is aborted with. connect aborts every context when its call ends, so that
 * deadline timers and the listeners on the request and shutdown signals go; it does so without a reason, and an
 * AbortSignal then builds a DOMException (with a stack trace) per call. One shared reason costs nothing; it is a
 * plain Error, not a ConnectError with Code.Canceled, so work still tied to the signal can tell a finished call
 * from a client that went away (that one aborts with Canceled, see LiveCalls).
 */
export const CALL_COMPLETE = new Error("the call is complete");

/** The reason a call's context aborts with when its client went away before the answer was written. */
export const CLIENT_GONE = (): ConnectError => new ConnectError("the client closed the request", Code.Canceled);

/** What a fast-path handler needs of a request besides its body. */
export interface CallRequest {
  readonly method: string;
  readonly url: string;
  /** Given to the handler context, which copies it into its own Headers once. */
  readonly header: HeadersInit;
  readonly contextValues?: ContextValues;
}

/**
 * A Node request's method, URL and headers for a handler context, without HTTP/2 pseudo-headers; `nodeHeaders`
 * and `path` stand in for the request's own when a call is made of another request (REST).
 */
export function callRequestOf(
  request: NodeRequest,
  contextValues: ContextValues | undefined,
  nodeHeaders: NodeRequest["headers"] = request.headers,
  path = request.url ?? "",
): CallRequest {
  const secure = "encrypted" in request.socket && request.socket.encrypted === true;
  const authority = ("authority" in request ? request.authority : request.headers.host) ?? "localhost";
  const header: [string, string][] = [];
  for (const name in nodeHeaders) {
    if (name.charCodeAt(0) === 0x3a) continue;
    const value = nodeHeaders[name];
    if (typeof value === "string") header.push([name, value]);
    else if (Array.isArray(value)) for (const item of value) header.push([name, item]);
  }
  return { method: request.method ?? "", url: `${secure ? "https" : "http"}://${authority}${path}`, header, contextValues };
}

/**
 * The calls in progress on the fast paths, so that one listener on the server's shutdown signal reaches them
 * all. connect links every call's context to the request's and the shutdown's AbortSignal, which adds and
 * removes two EventTarget listeners per call (and one more AbortController); here a call's context aborts
 * with the same reasons (client gone: Canceled; shutdown: the shutdown signal's reason) through a plain
 * `close` listener and this set.
 */
export class LiveCalls {
  private readonly calls = new Set<HandlerContextController>();

  constructor(private readonly shutdownSignal: AbortSignal | undefined) {
    shutdownSignal?.addEventListener(
      "abort",
      () => {
        for (const context of this.calls) context.abort(getAbortSignalReason(shutdownSignal));
      },
      { once: true },
    );
  }

  /** Follows `context` until its exchange closes; aborts it when the client leaves before the answer is written. */
  track(context: HandlerContextController, response: NodeResponse): void {
    if (this.shutdownSignal?.aborted) context.abort(getAbortSignalReason(this.shutdownSignal));
    this.calls.add(context);
    response.once("close", () => {
      this.calls.delete(context);
      if (!response.writableEnded) context.abort(CLIENT_GONE());
    });
  }
}

/** One request header as connect's Headers.get would give it (duplicates joined with ", "), or null. */
export function headerOf(headers: NodeRequest["headers"], name: string): string | null {
  const value = headers[name];
  if (value === undefined) return null;
  return typeof value === "string" ? value : value.join(", ");
}

/** What a call context is made of (connect's HandlerContextInit, without the signals it would link). */
export interface CallContextInit {
  readonly method: DescMethodUnary;
  readonly protocolName: string;
  readonly request: CallRequest;
  readonly timeoutMs: number | undefined;
  readonly responseHeader: HeadersInit;
  readonly responseTrailer?: HeadersInit;
}

/**
 * connect's handler context (createHandlerContext) with one AbortController instead of three: connect makes a
 * deadline signal (even without a deadline) and a controller linked to it, to the request's and to the
 * shutdown's signal, with an EventTarget listener on each. Here the deadline is a timer that aborts the one
 * controller with connect's DeadlineExceeded error, and LiveCalls aborts it for a client gone or a shutdown.
 */
export function createCallContext(init: CallContextInit): HandlerContextController {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  let deadline: number | undefined;
  if (init.timeoutMs !== undefined) {
    deadline = Date.now() + init.timeoutMs;
    const expire = () => controller.abort(new ConnectError("the operation timed out", Code.DeadlineExceeded));
    if (init.timeoutMs <= 0) expire();
    else timer = setTimeout(expire, init.timeoutMs);
  }
  return {
    service: init.method.parent,
    method: init.method,
    protocolName: init.protocolName,
    requestMethod: init.request.method,
    url: init.request.url,
    signal: controller.signal,
    timeoutMs: () => (deadline === undefined ? undefined : deadline - Date.now()),
    requestHeader: new Headers(init.request.header),
    responseHeader: new Headers(init.responseHeader),
    responseTrailer: new Headers(init.responseTrailer),
    values: init.request.contextValues ?? createContextValues(),
    abort(reason?: unknown) {
      clearTimeout(timer);
      controller.abort(reason);
    },
  };
}

/** Fetch headers (or anything Headers accepts) as the header object Node's writeHead and addTrailers take. */
export function nodeHeadersOf(headers: HeadersInit): Record<string, string> {
  const out: Record<string, string> = {};
  (headers instanceof Headers ? headers : new Headers(headers)).forEach((value, name) => (out[name] = value));
  return out;
}
