import {
  create,
  fromJson,
  getOption,
  hasOption,
  toJson,
  type DescMessage,
  type DescMethodUnary,
  type JsonObject,
  type JsonValue,
  type Message,
} from "@bufbuild/protobuf";
import {
  Code,
  ConnectError,
  createContextKey,
  createContextValues,
  createHandlerContext,
  type ConnectRouterOptions,
  type ContextValues,
  type HandlerContext,
  type Interceptor,
  type MethodImplSpec,
  type ServiceImplSpec,
  type UnaryRequest,
  type UnaryResponse,
} from "@connectrpc/connect";
import { http as httpRule } from "../../gen/google/api/annotations_pb.js";
import type { HttpRule } from "../../gen/google/api/http_pb.js";
import { connectErrorToStatusJson, httpStatusOfCode, statusJson } from "../api/wire-errors.js";
import { pathOf, type NodeHandler, type NodeRequest, type NodeResponse } from "./node-handler.js";

/**
 * REST routes from the `google.api.http` annotations, run behind the router's interceptors as an RPC would; errors
 * answer grpc-gateway's google.rpc.Status JSON, which ZITADEL's REST clients read.
 */

/** Set on every REST call's context values: the call came in on a REST route. */
export const restCallKey = createContextKey<boolean>(false, { description: "call arrived on a REST route" });

// A finished call's signal is aborted with this shared reason: `abort()` without one builds a DOMException per call.
const CALL_FINISHED = new ConnectError("the call has finished", Code.Canceled);

type UnaryMethodSpec = Extract<MethodImplSpec, { kind: "unary" }>;

interface Route {
  readonly verb: string;
  readonly pattern: RegExp;
  readonly variables: readonly string[];
  /** "*" = the whole body is the request, "" = no body, else the field the body fills. */
  readonly body: string;
  readonly spec: UnaryMethodSpec;
}

export interface RestTranscoderOptions {
  /** The services whose annotated unary methods get REST routes. */
  readonly services: readonly ServiceImplSpec[];
  /** The RPC router's options: its interceptors, JSON options, shutdown signal and readMaxBytes (the body limit). */
  readonly router: ConnectRouterOptions;
  readonly contextValues?: (request: NodeRequest) => ContextValues;
}

/** Returns a Node request handler for the annotated routes of `options.services`; `next` gets every other request. */
export function createRestTranscoder(options: RestTranscoderOptions, next: NodeHandler): NodeHandler {
  const routes = options.services.flatMap((service) => Object.values(service.methods)).flatMap(routesOf);
  const calls = new RestCalls(options);
  return (request, response) => {
    const path = pathOf(request);
    const onPath = routes.filter((route) => route.pattern.test(path));
    if (onPath.length === 0) return next(request, response);
    const route = onPath.find((r) => r.verb === request.method);
    if (!route) return sendJson(response, 405, statusJson(Code.Unimplemented, "Method Not Allowed"));
    transcode(route, path, request, response, calls).catch((error: unknown) => {
      // A client that went away (or was cut off by the request timeout) mid-body is not a failure of ours.
      if (request.destroyed || (request as { aborted?: boolean }).aborted) return;
      if (!response.headersSent) sendJson(response, 500, statusJson(Code.Internal, "An internal error occurred"));
      // Errors of the call itself are answered as Status JSON; this is a failure of the transcoder.
      console.error("REST transcoding failed", error);
    });
  };
}

function routesOf(spec: MethodImplSpec): Route[] {
  if (spec.kind !== "unary" || !hasOption(spec.method, httpRule)) return [];
  const rule = getOption(spec.method, httpRule);
  return [rule, ...rule.additionalBindings].flatMap((binding) => routeOf(binding, spec));
}

function routeOf(rule: HttpRule, spec: UnaryMethodSpec): Route[] {
  const { case: verb, value } = rule.pattern;
  if (verb === undefined) return [];
  const template = verb === "custom" ? value.path : value;
  const verbName = verb === "custom" ? value.kind.toUpperCase() : verb.toUpperCase();
  const variables: string[] = [];
  const source = template.replace(
    /\{([\w.]+)(?:=([^}]*))?\}|[.*+?^$()|[\]\\]/g,
    (token, name?: string, sub?: string) => {
      if (name === undefined) return `\\${token}`;
      variables.push(name);
      const segment = sub ? sub.replace(/\*\*/g, ".+").replace(/\*/g, "[^/]+") : "[^/]+";
      return `(${segment})`;
    },
  );
  return [{ verb: verbName, pattern: new RegExp(`^${source}$`), variables, body: rule.body, spec }];
}

async function transcode(
  route: Route,
  path: string,
  request: NodeRequest,
  response: NodeResponse,
  calls: RestCalls,
): Promise<void> {
  const body = await readBody(request, calls.maxBodyBytes);
  if (body === "too large")
    return sendJson(response, 413, statusJson(Code.ResourceExhausted, "request body too large"));
  let json: JsonObject;
  try {
    json = requestJson(route, path, request.url ?? "", body);
  } catch (error) {
    return sendJson(response, 400, statusJson(Code.InvalidArgument, (error as Error).message));
  }
  const answer = await calls.run(route.spec, json, request, response);
  if (response.destroyed) return;
  if (answer instanceof ConnectError) {
    const retryAfter = answer.metadata.get("retry-after");
    const headers: Record<string, string> = retryAfter ? { "retry-after": retryAfter } : {};
    return sendJson(response, httpStatusOfCode(answer.code), connectErrorToStatusJson(answer), headers);
  }
  sendJson(response, 200, answer);
}

type UnaryFn = (request: UnaryRequest) => Promise<UnaryResponse>;

/**
 * Runs REST calls as connect's invokeUnaryImplementation runs a unary RPC, from connect's public API; unknown JSON
 * fields are ignored, as grpc-gateway's DiscardUnknown does.
 */
class RestCalls {
  readonly maxBodyBytes: number;
  private readonly interceptors: readonly Interceptor[];
  private readonly jsonOptions: ConnectRouterOptions["jsonOptions"];

  constructor(private readonly options: RestTranscoderOptions) {
    // connect's default readMaxBytes when the router sets none.
    this.maxBodyBytes = options.router.readMaxBytes ?? 0xffffffff;
    this.interceptors = options.router.interceptors ?? [];
    this.jsonOptions = { ...options.router.jsonOptions, ignoreUnknownFields: true };
  }

  /** The call's answer as proto3 JSON, or the ConnectError it ended in. */
  async run(
    spec: UnaryMethodSpec,
    json: JsonObject,
    request: NodeRequest,
    response: NodeResponse,
  ): Promise<JsonValue | ConnectError> {
    const clientGone = new AbortController();
    // Not "finish": HTTP/2's compatibility response emits it also for a stream the client reset.
    response.once("close", () => {
      if (!response.writableEnded) clientGone.abort(new ConnectError("the client closed the request", Code.Canceled));
    });
    const method = spec.method;
    const values = this.options.contextValues?.(request) ?? createContextValues();
    const scheme = "encrypted" in request.socket && request.socket.encrypted ? "https" : "http";
    const authority = ("authority" in request ? request.authority : request.headers.host) ?? "";
    const context = createHandlerContext({
      service: method.parent,
      method,
      protocolName: "rest",
      requestMethod: request.method ?? "",
      // The procedure's URL, as an RPC of this method would have it (interceptors log it).
      url: `${scheme}://${authority}/${method.parent.typeName}/${method.name}`,
      shutdownSignal: this.options.router.shutdownSignal,
      requestSignal: clientGone.signal,
      requestHeader: headersOf(request),
      contextValues: values.set(restCallKey, true),
    });
    try {
      const input = this.decode(method, json);
      const output = await this.invoke(spec, context, input);
      return toJson(method.output, output, this.jsonOptions);
    } catch (error) {
      return ConnectError.from(error, Code.Internal);
    } finally {
      // Ends the deadline timer and the listeners on the shutdown and request signals.
      context.abort(CALL_FINISHED);
    }
  }

  private decode(method: DescMethodUnary, json: JsonObject): Message {
    try {
      return fromJson(method.input, json, this.jsonOptions);
    } catch (error) {
      throw ConnectError.from(error, Code.InvalidArgument);
    }
  }

  private async invoke(
    spec: UnaryMethodSpec,
    context: ReturnType<typeof createHandlerContext>,
    input: Message,
  ): Promise<Message> {
    const method = spec.method;
    const implementation: UnaryFn = async (request) => {
      const handlerContext: HandlerContext = {
        ...context,
        service: request.service,
        requestHeader: request.header,
        signal: request.signal,
        values: request.contextValues,
      };
      return {
        stream: false,
        service: method.parent,
        method,
        header: context.responseHeader,
        trailer: context.responseTrailer,
        message: create(method.output, await spec.impl(request.message as never, handlerContext)),
      };
    };
    // The first interceptor is the outermost, as in connect.
    const call = this.interceptors.reduceRight<UnaryFn>(
      (next, interceptor) => interceptor(next as never) as UnaryFn,
      implementation,
    );
    const answer = await call({
      stream: false,
      service: method.parent,
      method,
      requestMethod: context.requestMethod,
      url: context.url,
      signal: context.signal,
      header: context.requestHeader,
      contextValues: context.values,
      message: input,
    });
    return answer.message;
  }
}

/** A Node request's headers as Fetch headers, without pseudo-headers and the body's (the call gets no bytes). */
function headersOf(request: NodeRequest): Headers {
  const headers = new Headers();
  for (const [name, value] of Object.entries(request.headers)) {
    if (name.startsWith(":") || value === undefined || HEADERS_NOT_PASSED_ON.has(name)) continue;
    for (const item of Array.isArray(value) ? value : [value]) headers.append(name, item);
  }
  return headers;
}

const HEADERS_NOT_PASSED_ON = new Set(["content-length", "content-encoding", "transfer-encoding"]);

/** Builds the request's JSON: the body per the rule, then path variables, then query parameters. */
function requestJson(route: Route, path: string, url: string, body: Buffer): JsonObject {
  const message: JsonObject = {};
  if (route.body !== "") {
    const text = body.toString("utf8").trim();
    let parsed: JsonValue = {};
    if (text !== "") {
      if (nestingExceeds(text, MAX_JSON_NESTING)) throw new Error("request body is nested too deeply");
      try {
        parsed = JSON.parse(text) as JsonValue;
      } catch {
        throw new Error("request body is not valid JSON");
      }
    }
    if (route.body === "*") {
      if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed))
        throw new Error("request body must be a JSON object");
      Object.assign(message, parsed);
    } else {
      message[route.body] = parsed;
    }
  }
  const values = route.pattern.exec(path)!.slice(1);
  const input = route.spec.method.input;
  route.variables.forEach((name, index) => setField(message, name, decodeURIComponent(values[index] ?? ""), input));
  if (route.body !== "*" && url.includes("?")) {
    for (const [name, value] of new URL(url, "http://localhost").searchParams) {
      if (!(name in message)) setField(message, name, value);
    }
  }
  return message;
}

/** Deeper JSON than any request message needs; refusing it keeps parsing and decoding off the stack limit. */
const MAX_JSON_NESTING = 64;

/** True when objects and arrays in `text` nest deeper than `max` (brackets inside strings do not count). */
function nestingExceeds(text: string, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) {
      inString = true;
    } else if (c === 0x7b || c === 0x5b) {
      if (++depth > max) return true;
    } else if (c === 0x7d || c === 0x5d) {
      depth--;
    }
  }
  return false;
}

/**
 * Sets the field at dotted proto `path` to `value`, replacing a body value under its JSON name (`userId`): path
 * variables win, as in grpc-gateway, and a field under both names would be refused as set twice.
 */
function setField(message: JsonObject, path: string, value: string, type?: DescMessage): void {
  const parts = path.split(".");
  let target = message;
  let desc = type;
  parts.forEach((part, index) => {
    const field = desc?.fields.find((candidate) => candidate.name === part);
    if (field && field.jsonName !== part && field.jsonName in target) {
      target[part] = target[field.jsonName]!;
      delete target[field.jsonName];
    }
    if (index === parts.length - 1) {
      target[part] = value;
      return;
    }
    const child = target[part];
    target = (child && typeof child === "object" && !Array.isArray(child) ? child : (target[part] = {})) as JsonObject;
    desc = field?.message;
  });
}

/**
 * The whole body, or "too large" past `maxBytes`; fails when the client leaves mid-body. Read from events: an async
 * iterator costs more than the body's one chunk.
 */
function readBody(request: NodeRequest, maxBytes: number): Promise<Buffer | "too large"> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const stop = () => {
      request.off("data", onData);
      request.off("end", onEnd);
      request.off("error", onError);
      request.off("close", onClose);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= maxBytes) return void chunks.push(chunk);
      stop();
      resolve("too large");
    };
    const onEnd = () => {
      stop();
      resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    };
    const onError = (error: unknown) => {
      stop();
      reject(error);
    };
    const onClose = () => onError(new Error("the request closed before its body ended"));
    request.on("data", onData);
    request.on("end", onEnd);
    request.on("error", onError);
    request.on("close", onClose);
  });
}

function sendJson(response: NodeResponse, status: number, json: JsonValue, headers: Record<string, string> = {}): void {
  response.writeHead(status, { "content-type": "application/json", ...headers });
  response.end(JSON.stringify(json));
}
