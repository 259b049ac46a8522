import { create, type DescMessage, type DescMethodUnary, type DescService, type Message, type MessageInitShape } from "@bufbuild/protobuf";
import {
  Code,
  ConnectError,
  createContextValues,
  type ContextValues,
  type HandlerContext,
  type Interceptor,
  type UnaryRequest,
  type UnaryResponse,
} from "@connectrpc/connect";
import { getAbortSignalReason } from "@connectrpc/connect/protocol";
import type { NodeRequest, NodeResponse } from "./node-handler.js";
import { PlainHeaders } from "./plain-headers.js";

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
  readonly header: Headers;
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
  return { method: request.method ?? "", url: `${secure ? "https" : "http"}://${authority}${path}`, header: PlainHeaders.fromNode(nodeHeaders), contextValues };
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

/** What a call context is made of (connect's HandlerContextInit, without the signals it would link). */
export interface CallContextInit {
  readonly method: DescMethodUnary;
  readonly protocolName: string;
  readonly request: CallRequest;
  readonly timeoutMs: number | undefined;
  readonly responseHeader: HeadersInit;
  readonly responseTrailer?: HeadersInit;
}

/** What a body read needs of its call: whether (and why) it ended, and a word when it does. */
export interface CallAbort {
  readonly aborted: boolean;
  readonly abortReason: unknown;
  /** Calls `listener` once when the call aborts (one listener at a time); returns its removal. */
  onAbort(listener: (reason: unknown) => void): () => void;
}

/** A fast-path call's context: connect's handler context, its abort, and the abort hook for the body read. */
export type CallContext = HandlerContextController & CallAbort;

/**
 * connect's handler context (createHandlerContext) without its signals until someone asks for one. connect
 * makes a deadline signal (even without a deadline) and a controller linked to it, to the request's and to the
 * shutdown's signal, with an EventTarget listener on each, and aborts it when the call ends: ~6 µs a call, of
 * which the service implementations here use nothing. Here the deadline is a timer, LiveCalls reports a client
 * gone or a shutdown, and all of them end in `abort`, which aborts the AbortController if `signal` was read
 * (it is created already aborted when it is read after the call ended) and calls the body read's hook.
 */
class LazyCallContext implements CallContext {
  readonly service: DescService;
  readonly method: DescMethodUnary;
  readonly protocolName: string;
  readonly requestMethod: string;
  readonly url: string;
  readonly requestHeader: Headers;
  readonly responseHeader: Headers;
  readonly responseTrailer: Headers;
  readonly values: ContextValues;
  aborted = false;
  abortReason: unknown = undefined;
  private controller: AbortController | undefined;
  private listener: ((reason: unknown) => void) | undefined;
  private readonly timer: NodeJS.Timeout | undefined;
  private readonly deadline: number | undefined;

  constructor(init: CallContextInit) {
    this.service = init.method.parent;
    this.method = init.method;
    this.protocolName = init.protocolName;
    this.requestMethod = init.request.method;
    this.url = init.request.url;
    this.requestHeader = init.request.header;
    this.responseHeader = new PlainHeaders(init.responseHeader);
    this.responseTrailer = new PlainHeaders(init.responseTrailer);
    this.values = init.request.contextValues ?? createContextValues();
    if (init.timeoutMs !== undefined) {
      this.deadline = Date.now() + init.timeoutMs;
      const expire = () => this.abort(new ConnectError("the operation timed out", Code.DeadlineExceeded));
      if (init.timeoutMs <= 0) expire();
      else this.timer = setTimeout(expire, init.timeoutMs);
    }
  }

  get signal(): AbortSignal {
    if (this.controller === undefined) {
      this.controller = new AbortController();
      if (this.aborted) this.controller.abort(this.abortReason);
    }
    return this.controller.signal;
  }

  readonly timeoutMs = (): number | undefined => (this.deadline === undefined ? undefined : this.deadline - Date.now());

  abort(reason: unknown = new DOMException("This operation was aborted", "AbortError")): void {
    if (this.aborted) return;
    this.aborted = true;
    this.abortReason = reason;
    clearTimeout(this.timer);
    this.controller?.abort(reason);
    const listener = this.listener;
    this.listener = undefined;
    listener?.(reason);
  }

  onAbort(listener: (reason: unknown) => void): () => void {
    this.listener = listener;
    return () => {
      if (this.listener === listener) this.listener = undefined;
    };
  }
}

/** A fast-path call's context; see LazyCallContext. */
export function createCallContext(init: CallContextInit): CallContext {
  return new LazyCallContext(init);
}

/**
 * connect's invokeUnaryImplementation for a fast-path call: the same interceptor chain, request and response
 * objects and header copying, but the request's and the implementation context's `signal` are getters, so the
 * call's AbortController is only made when an interceptor or the implementation reads it.
 */
export async function invokeUnary(spec: UnaryMethodSpec, context: CallContext, input: unknown, interceptors: readonly Interceptor[]): Promise<Message> {
  const method = spec.method;
  const implementation = async (request: UnaryRequest): Promise<UnaryResponse> => {
    const handlerContext: HandlerContext = {
      service: request.service,
      method,
      protocolName: context.protocolName,
      requestMethod: context.requestMethod,
      url: context.url,
      get signal() {
        return request.signal;
      },
      timeoutMs: context.timeoutMs,
      requestHeader: request.header,
      responseHeader: context.responseHeader,
      responseTrailer: context.responseTrailer,
      values: request.contextValues,
    };
    const output = await (spec.impl as (message: unknown, context: HandlerContext) => unknown)(request.message, handlerContext);
    return {
      stream: false,
      message: create(method.output, output as MessageInitShape<DescMessage>),
      method,
      service: method.parent,
      header: context.responseHeader,
      trailer: context.responseTrailer,
    };
  };
  let next: UnaryFn = implementation;
  for (let i = interceptors.length - 1; i >= 0; i--) next = interceptors[i]!(next as never) as UnaryFn;
  const response = await next({
    stream: false,
    message: input as UnaryRequest["message"],
    method,
    requestMethod: context.requestMethod,
    url: context.url,
    get signal() {
      return context.signal;
    },
    header: context.requestHeader,
    service: method.parent,
    contextValues: context.values,
  });
  copyHeaders(response.header, context.responseHeader);
  copyHeaders(response.trailer, context.responseTrailer);
  return response.message;
}

type UnaryFn = (request: UnaryRequest) => Promise<UnaryResponse>;

/** connect's copyHeaders: `to` becomes a copy of `from` (when an interceptor answered with its own Headers). */
function copyHeaders(from: Headers, to: Headers): void {
  if (from === to) return;
  const names: string[] = [];
  to.forEach((_, name) => names.push(name));
  for (const name of names) to.delete(name);
  from.forEach((value, name) => to.set(name, value));
}

/** Fetch headers (or anything Headers accepts) as the header object Node's writeHead and addTrailers take. */
export function nodeHeadersOf(headers: HeadersInit | PlainHeaders): Record<string, string | string[]> {
  if (headers instanceof PlainHeaders) return headers.toNode();
  const out: Record<string, string | string[]> = {};
  const all = headers instanceof Headers ? headers : new Headers(headers);
  all.forEach((value, name) => (out[name] = value));
  const cookies = all.getSetCookie();
  if (cookies.length > 0) out["set-cookie"] = cookies;
  return out;
}
