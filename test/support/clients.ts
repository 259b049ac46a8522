import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import {
  fromBinary,
  fromJson,
  toBinary,
  toJson,
  type DescMethodUnary,
  type DescService,
  type JsonObject,
  type Message,
} from "@bufbuild/protobuf";
import { anyIs, anyUnpack } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, createClient, type CallOptions, type Transport } from "@connectrpc/connect";
import {
  createConnectTransport,
  createGrpcTransport,
  createGrpcWebTransport,
  Http2SessionManager,
} from "@connectrpc/connect-node";
import { createGrpcWebTransport as createFetchGrpcWebTransport } from "@connectrpc/connect-web";
import * as grpc from "@grpc/grpc-js";
import { StatusSchema } from "../../gen/google/rpc/status_pb.js";
import { AuthService } from "../../gen/zitadel/auth_pb.js";
import { ErrorDetailSchema } from "../../gen/zitadel/message_pb.js";
import { UserService } from "../../gen/zitadel/user/v2/user_service_pb.js";

/**
 * One interface over every way a client can talk to myphone: grpc-js, connect-node (gRPC, gRPC-Web, Connect
 * JSON/binary over HTTP/1.1 and h2c), connect-web over fetch, curl against the REST routes and buf curl.
 * Answers are normalised to proto3 JSON, failures to `ApiError`, so one test body runs against all of them, for
 * v1's AuthService (`create`) and v2's UserService (`createV2`) alike.
 */

/** Every network call gives up after this long (client deadline or child process timeout). */
export const CALL_TIMEOUT_MS = 10_000;

const ROOT = resolve(__dirname, "..", "..");

// ---------------------------------------------------------------------------------------------------------
// Results and errors

export interface DetailsJson {
  sequence?: string;
  creationDate?: string;
  changeDate?: string;
  resourceOwner?: string;
}

export interface PhoneJson {
  phone?: string;
  isPhoneVerified?: boolean;
}

/** A response in proto3 JSON form. */
export interface ApiResult {
  details?: DetailsJson;
  phone?: PhoneJson;
  /** v2's SetPhone and ResendPhoneCode with return_code. */
  verificationCode?: string;
  [field: string]: unknown;
}

export interface ApiErrorInit {
  /** gRPC status code. */
  code: number;
  /** The error message exactly as the client received it. */
  message: string;
  detailId?: string;
  detailMessage?: string;
  /** HTTP status (REST only). */
  httpStatus?: number;
  /** Whatever the client produced, for debugging and protocol-specific assertions. */
  raw?: unknown;
}

/** A failed call, normalised across clients. */
export class ApiError extends Error implements ApiErrorInit {
  readonly code: number;
  readonly detailId?: string;
  readonly detailMessage?: string;
  readonly httpStatus?: number;
  readonly raw?: unknown;

  constructor(init: ApiErrorInit) {
    super(init.message);
    this.name = "ApiError";
    this.code = init.code;
    if (init.detailId !== undefined) this.detailId = init.detailId;
    if (init.detailMessage !== undefined) this.detailMessage = init.detailMessage;
    if (init.httpStatus !== undefined) this.httpStatus = init.httpStatus;
    if (init.raw !== undefined) this.raw = init.raw;
  }
}

/** The five phone methods of zitadel.auth.v1.AuthService. */
export interface PhoneApi {
  get(): Promise<ApiResult>;
  set(phone: string): Promise<ApiResult>;
  verify(code: string): Promise<ApiResult>;
  resend(): Promise<ApiResult>;
  remove(): Promise<ApiResult>;
}

/**
 * How a client authenticates: a token (sent as `authorization: Bearer <token>`), a raw `authorization` header
 * value, or nothing at all.
 */
export type Auth = string | { header: string } | undefined;

/** How a v2 request asks for verification (SetPhoneRequest / ResendPhoneCodeRequest `verification`, proto3 JSON). */
export interface VerificationJson {
  sendCode?: Record<string, never>;
  returnCode?: Record<string, never>;
  isVerified?: boolean;
}

/** The four phone methods of zitadel.user.v2.UserService, requests in proto3 JSON. */
export interface UserPhoneApi {
  setPhone(request: { userId: string; phone: string } & VerificationJson): Promise<ApiResult>;
  resendPhoneCode(request: { userId: string } & VerificationJson): Promise<ApiResult>;
  verifyPhone(request: { userId: string; verificationCode: string }): Promise<ApiResult>;
  removePhone(request: { userId: string }): Promise<ApiResult>;
}

export type ClientKind = "grpc-js" | "connect-node" | "connect-web" | "curl-rest" | "buf-curl";

/** More request headers (metadata on gRPC), e.g. `accept-language`. */
export type ExtraHeaders = Readonly<Record<string, string>>;

export interface ClientFactory {
  readonly name: string;
  readonly kind: ClientKind;
  create(baseUrl: string, auth: Auth, headers?: ExtraHeaders): PhoneApi;
  createV2(baseUrl: string, auth: Auth, headers?: ExtraHeaders): UserPhoneApi;
}

export function authorizationOf(auth: Auth): string | undefined {
  if (auth === undefined) return undefined;
  return typeof auth === "string" ? `Bearer ${auth}` : auth.header;
}

// ---------------------------------------------------------------------------------------------------------
// The RPCs

type AnyUnary = DescMethodUnary;

/** One unary call with its request in proto3 JSON; the answer in proto3 JSON, a failure as ApiError. */
type UnaryCall = (method: AnyUnary, request: JsonObject) => Promise<ApiResult>;

/**
 * ZITADEL's REST routes as its docs' curl lines write them (written out, not read from our annotations, so a wrong
 * annotation fails the tests): `{user_id}` comes from the request's `userId`, the rest of the request is the body.
 */
const REST_ROUTES: Record<string, { verb: string; path: string; body: boolean }> = {
  "zitadel.auth.v1.AuthService/GetMyPhone": { verb: "GET", path: "/auth/v1/users/me/phone", body: false },
  "zitadel.auth.v1.AuthService/SetMyPhone": { verb: "PUT", path: "/auth/v1/users/me/phone", body: true },
  "zitadel.auth.v1.AuthService/VerifyMyPhone": { verb: "POST", path: "/auth/v1/users/me/phone/_verify", body: true },
  "zitadel.auth.v1.AuthService/ResendMyPhoneVerification": {
    verb: "POST",
    path: "/auth/v1/users/me/phone/_resend_verification",
    body: true,
  },
  "zitadel.auth.v1.AuthService/RemoveMyPhone": { verb: "DELETE", path: "/auth/v1/users/me/phone", body: false },
  "zitadel.user.v2.UserService/SetPhone": { verb: "POST", path: "/v2/users/{user_id}/phone", body: true },
  "zitadel.user.v2.UserService/ResendPhoneCode": { verb: "POST", path: "/v2/users/{user_id}/phone/resend", body: true },
  "zitadel.user.v2.UserService/VerifyPhone": { verb: "POST", path: "/v2/users/{user_id}/phone/verify", body: true },
  // ZITADEL's route takes a body ("*"); its docs send "{}".
  "zitadel.user.v2.UserService/RemovePhone": { verb: "DELETE", path: "/v2/users/{user_id}/phone", body: true },
};

/** v1's five methods over one call function. */
function phoneApi(call: UnaryCall): PhoneApi {
  const m = AuthService.method;
  return {
    get: () => call(m.getMyPhone, {}),
    set: (phone) => call(m.setMyPhone, { phone }),
    verify: (code) => call(m.verifyMyPhone, { code }),
    resend: () => call(m.resendMyPhoneVerification, {}),
    remove: () => call(m.removeMyPhone, {}),
  };
}

/** v2's four phone methods over one call function. */
function userPhoneApi(call: UnaryCall): UserPhoneApi {
  const m = UserService.method;
  return {
    setPhone: (request) => call(m.setPhone, { ...request }),
    resendPhoneCode: (request) => call(m.resendPhoneCode, { ...request }),
    verifyPhone: (request) => call(m.verifyPhone, request),
    removePhone: (request) => call(m.removePhone, request),
  };
}

/** A client factory from the one function that makes a call function for a base URL and credentials. */
function factory(
  name: string,
  kind: ClientKind,
  unary: (baseUrl: string, auth: Auth, headers: ExtraHeaders) => UnaryCall,
): ClientFactory {
  return {
    name,
    kind,
    create: (baseUrl, auth, headers = {}) => phoneApi(unary(baseUrl, auth, headers)),
    createV2: (baseUrl, auth, headers = {}) => userPhoneApi(unary(baseUrl, auth, headers)),
  };
}

function rpcPath(method: AnyUnary): string {
  return `/${method.parent.typeName}/${method.name}`;
}

function responseJson(method: AnyUnary, response: Message): ApiResult {
  return toJson(method.output, response) as ApiResult;
}

/** "failed_precondition" / "FAILED_PRECONDITION" / "FailedPrecondition" → 9. */
export function codeFromName(name: string): number | undefined {
  const wanted = name.replace(/[_-]/g, "").toLowerCase();
  for (const [key, value] of Object.entries(Code)) {
    if (typeof value === "number" && key.toLowerCase() === wanted) return value;
  }
  return undefined;
}

function errorDetailFromStatusBytes(bytes: Uint8Array): { id: string; message: string } | undefined {
  const status = fromBinary(StatusSchema, bytes);
  const any = status.details.find((d) => anyIs(d, ErrorDetailSchema));
  return any ? anyUnpack(any, ErrorDetailSchema) : undefined;
}

// ---------------------------------------------------------------------------------------------------------
// Shared resources (one per client kind and base URL), closed by closeAllClients()

const grpcJsClients = new Map<string, grpc.Client>();
const transports = new Map<string, Transport>();
const sessionManagers: Http2SessionManager[] = [];

function cached<T>(map: Map<string, T>, key: string, make: () => T): T {
  let value = map.get(key);
  if (value === undefined) {
    value = make();
    map.set(key, value);
  }
  return value;
}

/** Closes grpc-js channels and HTTP/2 sessions and removes the buf schema, so jest can exit. */
export function closeAllClients(): void {
  for (const client of grpcJsClients.values()) client.close();
  grpcJsClients.clear();
  for (const manager of sessionManagers) manager.abort();
  sessionManagers.length = 0;
  transports.clear();
  if (bufSchemaDir) rmSync(bufSchemaDir, { recursive: true, force: true });
  bufSchemaDir = undefined;
  bufSchemaPath = undefined;
}

// ---------------------------------------------------------------------------------------------------------
// grpc-js

type GrpcUnary = (
  request: Message,
  metadata: grpc.Metadata,
  options: grpc.CallOptions,
  callback: (error: grpc.ServiceError | null, response?: Message) => void,
) => grpc.ClientUnaryCall;

function grpcJsClient(baseUrl: string, service: DescService): grpc.Client {
  return cached(grpcJsClients, `${service.typeName}|${baseUrl}`, () => {
    const definition: Record<string, grpc.MethodDefinition<Message, Message>> = {};
    for (const method of service.methods) {
      definition[method.localName] = {
        path: rpcPath(method as AnyUnary),
        requestStream: false,
        responseStream: false,
        originalName: method.name,
        requestSerialize: (value: Message) => Buffer.from(toBinary(method.input, value)),
        requestDeserialize: (bytes: Buffer) => fromBinary(method.input, bytes),
        responseSerialize: (value: Message) => Buffer.from(toBinary(method.output, value)),
        responseDeserialize: (bytes: Buffer) => fromBinary(method.output, bytes),
      };
    }
    const Constructor = grpc.makeGenericClientConstructor(definition, service.typeName);
    return new Constructor(new URL(baseUrl).host, grpc.credentials.createInsecure());
  });
}

function isServiceError(error: unknown): error is grpc.ServiceError {
  return (
    error instanceof Error && typeof (error as Partial<grpc.ServiceError>).code === "number" && "metadata" in error
  );
}

function grpcJsCall(baseUrl: string, auth: Auth, headers: ExtraHeaders): UnaryCall {
  const authorization = authorizationOf(auth);
  return async (method, request) => {
    const client = grpcJsClient(baseUrl, method.parent);
    const fn = (client as unknown as Record<string, GrpcUnary>)[method.localName]!.bind(client);
    const metadata = new grpc.Metadata();
    if (authorization !== undefined) metadata.set("authorization", authorization);
    for (const [name, value] of Object.entries(headers)) metadata.set(name, value);
    try {
      const response = await new Promise<Message>((resolvePromise, reject) => {
        fn(fromJson(method.input, request), metadata, { deadline: Date.now() + CALL_TIMEOUT_MS }, (error, value) =>
          error ? reject(error) : resolvePromise(value!),
        );
      });
      return responseJson(method, response);
    } catch (error) {
      if (!isServiceError(error)) throw error;
      const bin = error.metadata.get("grpc-status-details-bin")[0];
      const detail = bin instanceof Buffer ? errorDetailFromStatusBytes(bin) : undefined;
      throw new ApiError({
        code: error.code,
        message: error.details,
        detailId: detail?.id,
        detailMessage: detail?.message,
        raw: error,
      });
    }
  };
}

// ---------------------------------------------------------------------------------------------------------
// connect-node and connect-web

function sessionManager(baseUrl: string): Http2SessionManager {
  const manager = new Http2SessionManager(baseUrl);
  sessionManagers.push(manager);
  return manager;
}

function connectCall(transport: Transport, auth: Auth, headers: ExtraHeaders): UnaryCall {
  const authorization = authorizationOf(auth);
  return async (method, request) => {
    const client = createClient(method.parent, transport) as unknown as Record<
      string,
      (request: Message, options: CallOptions) => Promise<Message>
    >;
    const fn = client[method.localName]!;
    const options: CallOptions = { timeoutMs: CALL_TIMEOUT_MS, headers: { ...headers } };
    if (authorization !== undefined) options.headers = { ...headers, authorization };
    try {
      return responseJson(method, await fn(fromJson(method.input, request), options));
    } catch (error) {
      const connectError = ConnectError.from(error);
      const detail = connectError.findDetails(ErrorDetailSchema)[0];
      throw new ApiError({
        code: connectError.code,
        message: connectError.rawMessage,
        detailId: detail?.id,
        detailMessage: detail?.message,
        raw: connectError,
      });
    }
  };
}

function connectFactory(
  name: string,
  makeTransport: (baseUrl: string) => Transport,
  kind: ClientKind = "connect-node",
): ClientFactory {
  return factory(name, kind, (baseUrl, auth, headers) =>
    connectCall(
      cached(transports, `${name}|${baseUrl}`, () => makeTransport(baseUrl)),
      auth,
      headers,
    ),
  );
}

// ---------------------------------------------------------------------------------------------------------
// Child processes (curl, buf curl)

export interface ProcessResult {
  exitCode: number | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

/** Runs a program without a shell; resolves (never rejects) once it exits or was killed after the timeout. */
export function runProcess(
  file: string,
  args: readonly string[],
  options: { cwd?: string; timeoutMs?: number } = {},
): Promise<ProcessResult> {
  return new Promise((resolvePromise) => {
    execFile(
      file,
      args,
      {
        cwd: options.cwd,
        timeout: options.timeoutMs ?? CALL_TIMEOUT_MS + 5_000,
        maxBuffer: 16 * 1024 * 1024,
        encoding: "utf8",
      },
      (error, stdout, stderr) => {
        const code = error ? (error as { code?: unknown }).code : 0;
        resolvePromise({
          exitCode: typeof code === "number" ? code : null,
          stdout,
          stderr,
          timedOut: Boolean(error && (error as { killed?: boolean }).killed),
        });
      },
    );
  });
}

// ---------------------------------------------------------------------------------------------------------
// curl against the REST routes

export interface CurlResponse {
  status: number;
  contentType: string;
  body: string;
}

const CURL_MARKER = "\n@@curl@@";

/** One HTTP/1.1 request with the curl binary. */
export async function curlRaw(request: {
  method: string;
  url: string;
  headers?: Record<string, string>;
  /** Sent as is (no body at all when undefined). */
  body?: string;
}): Promise<CurlResponse> {
  const args = ["--silent", "--show-error", "--max-time", String(CALL_TIMEOUT_MS / 1000), "-X", request.method];
  for (const [name, value] of Object.entries(request.headers ?? {})) args.push("-H", `${name}: ${value}`);
  if (request.body !== undefined) args.push("--data-binary", request.body);
  args.push("-w", `${CURL_MARKER}%{http_code} %{content_type}`, request.url);
  const result = await runProcess("curl", args);
  const at = result.stdout.lastIndexOf(CURL_MARKER);
  if (result.exitCode !== 0 || at < 0) {
    throw new Error(`curl ${request.method} ${request.url} failed (exit ${result.exitCode}): ${result.stderr}`);
  }
  const [status = "0", ...contentType] = result.stdout.slice(at + CURL_MARKER.length).split(" ");
  return { status: Number(status), contentType: contentType.join(" "), body: result.stdout.slice(0, at) };
}

interface RestErrorBody {
  code?: number;
  message?: string;
  details?: { "@type"?: string; id?: string; message?: string }[];
}

function curlRestCall(baseUrl: string, auth: Auth, extraHeaders: ExtraHeaders): UnaryCall {
  const authorization = authorizationOf(auth);
  return async (method, request) => {
    const route = REST_ROUTES[rpcPath(method).slice(1)];
    if (!route) throw new Error(`no REST route for ${rpcPath(method)}`);
    const { verb } = route;
    const { userId, ...fields } = request;
    const path = route.path.replace("{user_id}", encodeURIComponent(String(userId)));
    const headers: Record<string, string> = { ...extraHeaders };
    if (authorization !== undefined) headers.authorization = authorization;
    let body: string | undefined;
    if (route.body) {
      headers["content-type"] = "application/json";
      body = JSON.stringify(fields);
    }
    const response = await curlRaw({ method: verb, url: baseUrl + path, headers, body });
    let json: unknown;
    try {
      json = JSON.parse(response.body);
    } catch {
      throw new Error(
        `REST ${verb} ${path} answered ${response.status} with a body that is not JSON: ${response.body}`,
      );
    }
    if (response.status === 200) return json as ApiResult;
    const error = json as RestErrorBody;
    const detail = error.details?.[0];
    throw new ApiError({
      code: typeof error.code === "number" ? error.code : Code.Unknown,
      message: String(error.message),
      detailId: detail?.id,
      detailMessage: detail?.message,
      httpStatus: response.status,
      raw: { ...response, json },
    });
  };
}

// ---------------------------------------------------------------------------------------------------------
// buf curl

let bufSchemaDir: string | undefined;
let bufSchemaPath: string | undefined;

/** The buf CLI: the platform package's native binary when present (saves ~100 ms of Node start per call). */
export function bufBinary(): string {
  const platformPackages: Record<string, string> = {
    "linux x64": "@bufbuild/buf-linux-x64",
    "linux arm64": "@bufbuild/buf-linux-aarch64",
    "darwin x64": "@bufbuild/buf-darwin-x64",
    "darwin arm64": "@bufbuild/buf-darwin-arm64",
  };
  const pkg = platformPackages[`${process.platform} ${process.arch}`];
  const native = pkg ? join(ROOT, "node_modules", pkg, "bin", "buf") : undefined;
  return native && existsSync(native) ? native : join(ROOT, "node_modules", ".bin", "buf");
}

/**
 * Builds the descriptor set buf curl needs while the server has no reflection (`buf build -o`), running
 * `npm run proto:deps` first when third_party/ is missing. Call once in a beforeAll.
 */
export async function prepareBufSchema(): Promise<string> {
  if (bufSchemaPath) return bufSchemaPath;
  if (!existsSync(join(ROOT, "third_party", "google", "api", "annotations.proto"))) {
    const deps = await runProcess(process.execPath, [join(ROOT, "scripts", "proto-deps.mjs")], {
      cwd: ROOT,
      timeoutMs: 30_000,
    });
    if (deps.exitCode !== 0) throw new Error(`npm run proto:deps failed: ${deps.stderr}`);
  }
  const dir = mkdtempSync(join(tmpdir(), "myphone-buf-"));
  const out = join(dir, "schema.binpb");
  const build = await runProcess(bufBinary(), ["build", "-o", out], { cwd: ROOT, timeoutMs: 60_000 });
  if (build.exitCode !== 0) throw new Error(`buf build failed: ${build.stderr}`);
  bufSchemaDir = dir;
  bufSchemaPath = out;
  return out;
}

interface BufCurlErrorJson {
  code?: string;
  message?: string;
  details?: { type?: string; value?: string; debug?: { id?: string; message?: string } }[];
}

function bufCurlCall(
  protocol: "connect" | "grpc" | "grpcweb",
  baseUrl: string,
  auth: Auth,
  headers: ExtraHeaders,
): UnaryCall {
  const authorization = authorizationOf(auth);
  return async (method, request) => {
    const schema = bufSchemaPath;
    if (!schema) throw new Error("buf curl needs prepareBufSchema() first");
    const args = ["curl", "--schema", schema, "--protocol", protocol];
    if (protocol === "grpc") args.push("--http2-prior-knowledge");
    if (authorization !== undefined) args.push("-H", `authorization: ${authorization}`);
    // buf curl reads --header as a CSV list (pflag's StringSlice): a value with commas goes quoted as one field.
    for (const [name, value] of Object.entries(headers))
      args.push("-H", value.includes(",") ? `"${name}: ${value.replace(/"/g, '""')}"` : `${name}: ${value}`);
    args.push("--timeout", `${CALL_TIMEOUT_MS / 1000}s`, "-d", JSON.stringify(request), baseUrl + rpcPath(method));
    const result = await runProcess(bufBinary(), args);
    if (result.exitCode === 0) return JSON.parse(result.stdout) as ApiResult;
    let json: BufCurlErrorJson;
    try {
      json = JSON.parse(result.stderr) as BufCurlErrorJson;
    } catch {
      throw new Error(
        `buf curl ${protocol} ${method.name} failed (exit ${result.exitCode}, timed out ${result.timedOut}): ${result.stderr}`,
      );
    }
    const detail = json.details?.find((d) => d.type === ErrorDetailSchema.typeName);
    // buf curl prints `debug` (the decoded detail) for Connect only; the base64 `value` is always there.
    const decoded =
      detail?.value !== undefined ? fromBinary(ErrorDetailSchema, Buffer.from(detail.value, "base64")) : undefined;
    throw new ApiError({
      code: codeFromName(json.code ?? "") ?? Code.Unknown,
      message: String(json.message),
      detailId: decoded?.id,
      detailMessage: decoded?.message,
      raw: { exitCode: result.exitCode, stderr: result.stderr, json },
    });
  };
}

// ---------------------------------------------------------------------------------------------------------
// Every client

export const ALL_CLIENTS: readonly ClientFactory[] = [
  factory("grpc-js", "grpc-js", grpcJsCall),
  // createGrpcTransport always speaks HTTP/2 (prior knowledge for http:// URLs).
  connectFactory("connect-node grpc h2", (baseUrl) =>
    createGrpcTransport({ baseUrl, sessionManager: sessionManager(baseUrl) }),
  ),
  connectFactory("connect-node grpc-web h1", (baseUrl) => createGrpcWebTransport({ baseUrl, httpVersion: "1.1" })),
  connectFactory("connect-node grpc-web h2", (baseUrl) =>
    createGrpcWebTransport({ baseUrl, httpVersion: "2", sessionManager: sessionManager(baseUrl) }),
  ),
  connectFactory("connect-node connect json h1", (baseUrl) => createConnectTransport({ baseUrl, httpVersion: "1.1" })),
  connectFactory("connect-node connect json h2", (baseUrl) =>
    createConnectTransport({ baseUrl, httpVersion: "2", sessionManager: sessionManager(baseUrl) }),
  ),
  connectFactory("connect-node connect proto h1", (baseUrl) =>
    createConnectTransport({ baseUrl, httpVersion: "1.1", useBinaryFormat: true }),
  ),
  connectFactory("connect-web grpc-web fetch", (baseUrl) => createFetchGrpcWebTransport({ baseUrl }), "connect-web"),
  factory("curl REST", "curl-rest", curlRestCall),
  factory("buf curl connect", "buf-curl", (baseUrl, auth, headers) => bufCurlCall("connect", baseUrl, auth, headers)),
  factory("buf curl grpc", "buf-curl", (baseUrl, auth, headers) => bufCurlCall("grpc", baseUrl, auth, headers)),
  factory("buf curl grpcweb", "buf-curl", (baseUrl, auth, headers) => bufCurlCall("grpcweb", baseUrl, auth, headers)),
];

/** Parses a JSON object (for REST bodies in tests). */
export function parseJsonObject(text: string): JsonObject {
  const value = JSON.parse(text) as unknown;
  if (value === null || typeof value !== "object" || Array.isArray(value))
    throw new Error(`not a JSON object: ${text}`);
  return value as JsonObject;
}
