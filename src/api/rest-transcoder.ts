import type { JsonObject, JsonValue } from "@bufbuild/protobuf";
import { getOption, hasOption, type DescMessage } from "@bufbuild/protobuf";
import { Code, ConnectError, type ContextValues } from "@connectrpc/connect";
import { http as httpRule } from "../../gen/google/api/annotations_pb.js";
import type { HttpRule } from "../../gen/google/api/http_pb.js";
import type { ConnectUnaryHandler } from "./connect-unary-handler.js";
import type { NodeHandler, NodeRequest, NodeResponse } from "./node-handler.js";
import { callRequestOf } from "./unary-method.js";
import { connectErrorJsonToStatusJson, httpStatusOfCode, statusJson } from "./wire-errors.js";

/**
 * REST routes derived from the `google.api.http` annotations, dispatched into the same Connect handlers (and so
 * the same interceptors and service implementation) as a Connect JSON call. Errors are rewritten into
 * grpc-gateway's google.rpc.Status JSON, which is what ZITADEL's REST clients read.
 */


interface Route {
  readonly verb: string;
  readonly pattern: RegExp;
  readonly variables: readonly string[];
  /** "*" = the whole body is the request, "" = no body, else the field the body fills. */
  readonly body: string;
  readonly handler: ConnectUnaryHandler;
}

export interface RestTranscoderOptions {
  /** Largest request body accepted, in bytes. */
  readonly maxBodyBytes: number;
  readonly contextValues?: (request: NodeRequest) => ContextValues;
}

/** Returns a Node request handler for the annotated routes of `handlers`; `next` gets every other request. */
export function createRestTranscoder(
  handlers: readonly ConnectUnaryHandler[],
  options: RestTranscoderOptions,
  next: NodeHandler,
): NodeHandler {
  const routes = handlers.flatMap(routesOf);
  return (request, response) => {
    const path = (request.url ?? "/").split("?", 1)[0]!;
    const onPath = routes.filter((route) => route.pattern.test(path));
    if (onPath.length === 0) return next(request, response);
    const route = onPath.find((r) => r.verb === request.method);
    if (!route) return sendJson(response, 405, statusJson(Code.Unimplemented, "Method Not Allowed"));
    transcode(route, path, request, response, options).catch((error: unknown) => {
      // A client that went away (or was cut off by the request timeout) mid-body is not a failure of ours.
      if (request.destroyed || (request as { aborted?: boolean }).aborted) return;
      if (!response.headersSent) sendJson(response, 500, statusJson(Code.Internal, "An internal error occurred"));
      // The Connect handler reports its own errors; this is a failure of the transcoder itself.
      console.error("REST transcoding failed", error);
    });
  };
}

function routesOf(handler: ConnectUnaryHandler): Route[] {
  if (!hasOption(handler.method, httpRule)) return [];
  const rule = getOption(handler.method, httpRule);
  return [rule, ...rule.additionalBindings].flatMap((binding) => routeOf(binding, handler));
}

function routeOf(rule: HttpRule, handler: ConnectUnaryHandler): Route[] {
  const { case: verb, value } = rule.pattern;
  if (verb === undefined) return [];
  const template = verb === "custom" ? value.path : value;
  const verbName = verb === "custom" ? value.kind.toUpperCase() : verb.toUpperCase();
  const variables: string[] = [];
  const source = template.replace(/\{([\w.]+)(?:=([^}]*))?\}|[.*+?^$()|[\]\\]/g, (token, name?: string, sub?: string) => {
    if (name === undefined) return `\\${token}`;
    variables.push(name);
    const segment = sub ? sub.replace(/\*\*/g, ".+").replace(/\*/g, "[^/]+") : "[^/]+";
    return `(${segment})`;
  });
  return [{ verb: verbName, pattern: new RegExp(`^${source}$`), variables, body: rule.body, handler }];
}

async function transcode(
  route: Route,
  path: string,
  request: NodeRequest,
  response: NodeResponse,
  options: RestTranscoderOptions,
): Promise<void> {
  const body = await readBody(request, options.maxBodyBytes);
  if (body === "too large") return sendJson(response, 413, statusJson(Code.ResourceExhausted, "request body too large"));
  let message: JsonObject;
  try {
    message = requestMessage(route, path, request.url ?? "", body);
  } catch (error) {
    return sendJson(response, 400, statusJson(Code.InvalidArgument, (error as Error).message));
  }
  // Handed over as bytes, not as a parsed object: connect then decodes with the router's JSON options, which
  // ignore unknown fields (grpc-gateway's DiscardUnknown), where a pre-parsed object would be decoded strictly.
  // A Connect JSON call as far as the handler can tell; the answer is rewritten below, so it must come back
  // uncompressed whatever the client accepts.
  const callHeaders: NodeRequest["headers"] = {};
  for (const name in request.headers) if (!HEADERS_NOT_PASSED_ON.has(name)) callHeaders[name] = request.headers[name];
  callHeaders["content-type"] = "application/json";
  callHeaders["connect-protocol-version"] = "1";
  const call = callRequestOf(request, options.contextValues?.(request), callHeaders, route.handler.requestPath);
  const requestJson = Buffer.from(JSON.stringify(message));
  const answer = await route.handler.answer({ ...call, method: "POST" }, response, false, async (maxBytes) => {
    if (requestJson.length > maxBytes) throw new ConnectError(`message size is larger than configured readMaxBytes ${maxBytes}`, Code.ResourceExhausted);
    return requestJson;
  });
  const bytes = answer.body;
  if (answer.status === 200) {
    response.writeHead(200, { "content-type": "application/json" });
    response.end(bytes);
    return;
  }
  const { code, json } = connectErrorJsonToStatusJson(parseErrorBody(bytes));
  const headers: Record<string, string> = {};
  const retryAfter = answer.header?.get("retry-after");
  if (retryAfter) headers["retry-after"] = retryAfter;
  sendJson(response, httpStatusOfCode(code), json, headers);
}

/** The REST request's body headers describe bytes the Connect call does not get, and its answer must come back plain. */
const HEADERS_NOT_PASSED_ON = new Set(["content-length", "content-encoding", "accept-encoding"]);

function parseErrorBody(bytes: Uint8Array): { code?: string; message?: string } {
  try {
    return JSON.parse(Buffer.from(bytes).toString("utf8")) as { code?: string; message?: string };
  } catch {
    return { code: "internal", message: "An internal error occurred" };
  }
}

/** Builds the request's JSON: the body per the rule, then path variables, then query parameters. */
function requestMessage(route: Route, path: string, url: string, body: Buffer): JsonObject {
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
      if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) throw new Error("request body must be a JSON object");
      Object.assign(message, parsed);
    } else {
      message[route.body] = parsed;
    }
  }
  const values = route.pattern.exec(path)!.slice(1);
  const input = route.handler.method.input;
  route.variables.forEach((name, index) => setField(message, name, decodeURIComponent(values[index] ?? ""), input));
  if (route.body !== "*" && url.includes("?")) {
    for (const [name, value] of new URL(url, "http://localhost").searchParams) {
      if (!(name in message)) setField(message, name, value);
    }
  }
  return message;
}

/** Deeper JSON than any request message needs; refusing it keeps re-serialising the body off the stack limit. */
const MAX_JSON_NESTING = 64;

/** True when objects and arrays in `text` nest deeper than `max` (brackets inside strings do not count). */
function nestingExceeds(text: string, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped character
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
 * Sets the field at `path` (proto names, dot-separated) to `value`. With the request's type, a value the body gave
 * under the field's JSON name (`userId` for `user_id`) is replaced too: path variables win over the body, as in
 * grpc-gateway, and a field given under both names would be refused as set twice.
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
 * The whole body, from the stream's events (an async iterator costs more than the body's one chunk). Past
 * `maxBytes` it returns "too large" and keeps nothing more (Node discards the rest once the answer is sent);
 * it fails when the client leaves mid-body. Not readRequestBody: no call context (signal) exists yet.
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

