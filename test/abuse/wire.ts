import { fromBinary } from "@bufbuild/protobuf";
import { anyIs, anyUnpack } from "@bufbuild/protobuf/wkt";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { join } from "node:path";
import { RetryInfoSchema } from "../../gen/google/rpc/error_details_pb.js";
import { StatusSchema } from "../../gen/google/rpc/status_pb.js";
import { ErrorDetailSchema } from "../../gen/zitadel/message_pb.js";

/**
 * Raw clients for the abuse tests, which look at what generic clients hide: REST status and Retry-After, and the
 * google.rpc.Status a gRPC refusal carries in grpc-status-details-bin, decoded the way a grpc-js user would.
 * Every answer's text is kept in `transcript`, so tests can check no code or token was ever sent back.
 */

const ROOT = join(__dirname, "..", "..");

/** Every response body and error message seen, for the "never a code or token" checks. */
export const transcript: string[] = [];

export interface RestAnswer {
  readonly status: number;
  readonly retryAfter: string | null;
  readonly json: any;
}

/** One REST call with fetch (HTTP/1.1), optionally with extra headers such as X-Forwarded-For. */
export async function rest(
  baseUrl: string,
  method: string,
  path: string,
  token: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<RestAnswer> {
  const response = await fetch(baseUrl + path, {
    method,
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json", ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await response.text();
  transcript.push(text);
  return { status: response.status, retryAfter: response.headers.get("retry-after"), json: JSON.parse(text) };
}

export const setPhone = (baseUrl: string, token: string, phone: string, headers?: Record<string, string>) =>
  rest(baseUrl, "PUT", "/auth/v1/users/me/phone", token, { phone }, headers);
export const resend = (baseUrl: string, token: string, headers?: Record<string, string>) =>
  rest(baseUrl, "POST", "/auth/v1/users/me/phone/_resend_verification", token, {}, headers);
export const verify = (baseUrl: string, token: string, code: string) =>
  rest(baseUrl, "POST", "/auth/v1/users/me/phone/_verify", token, { code });

/** What a gRPC refusal says: code, message, and the decoded details. */
export interface GrpcRefusal {
  readonly code: number;
  readonly message: string;
  readonly errorDetail?: { id: string; message: string };
  readonly retryDelaySeconds?: number;
}

type Callback = (error: grpc.ServiceError | null, response?: unknown) => void;
type Unary = (request: object, metadata: grpc.Metadata, options: grpc.CallOptions, callback: Callback) => void;

const clients = new Map<string, grpc.Client>();

/** The AuthService client of grpc-js, from the .proto files (as the README's example builds it). */
function grpcClient(baseUrl: string): grpc.Client {
  const host = new URL(baseUrl).host;
  let client = clients.get(host);
  if (!client) {
    const definition = protoLoader.loadSync("zitadel/auth.proto", {
      includeDirs: [join(ROOT, "proto"), join(ROOT, "third_party")],
      longs: String,
    });
    const AuthService = (grpc.loadPackageDefinition(definition) as any).zitadel.auth.v1
      .AuthService as grpc.ServiceClientConstructor;
    client = new AuthService(host, grpc.credentials.createInsecure());
    clients.set(host, client);
  }
  return client;
}

/** Calls a method with grpc-js; resolves with the response or the decoded refusal. */
export async function grpcCall(
  baseUrl: string,
  method: "SetMyPhone" | "ResendMyPhoneVerification" | "VerifyMyPhone",
  token: string,
  request: object,
  extraMetadata: Record<string, string> = {},
): Promise<{ ok: true; response: any } | ({ ok: false } & GrpcRefusal)> {
  const client = grpcClient(baseUrl) as unknown as Record<string, Unary>;
  const metadata = new grpc.Metadata();
  metadata.set("authorization", `Bearer ${token}`);
  for (const [name, value] of Object.entries(extraMetadata)) metadata.set(name, value);
  return new Promise((resolve) => {
    client[method]!.call(client, request, metadata, { deadline: Date.now() + 10_000 }, (error, response) => {
      if (!error) {
        transcript.push(JSON.stringify(response));
        return resolve({ ok: true, response });
      }
      transcript.push(error.details);
      const bin = error.metadata.get("grpc-status-details-bin")[0];
      const status = bin instanceof Buffer ? fromBinary(StatusSchema, bin) : undefined;
      const detail = status?.details.find((any) => anyIs(any, ErrorDetailSchema));
      const retry = status?.details.find((any) => anyIs(any, RetryInfoSchema));
      const retryInfo = retry && anyUnpack(retry, RetryInfoSchema);
      resolve({
        ok: false,
        code: error.code,
        message: error.details,
        errorDetail: detail && anyUnpack(detail, ErrorDetailSchema),
        retryDelaySeconds: retryInfo?.retryDelay ? Number(retryInfo.retryDelay.seconds) : undefined,
      });
    });
  });
}

/** Closes the grpc-js channels (so jest can exit). */
export function closeGrpcClients(): void {
  for (const client of clients.values()) client.close();
  clients.clear();
}

/** The google.rpc.Status JSON a REST refusal carries: its ErrorDetail and RetryInfo. */
export function restRefusal(answer: RestAnswer): { code: number; id?: string; retryDelay?: string } {
  const details = (answer.json.details ?? []) as { "@type": string; id?: string; retryDelay?: string }[];
  return {
    code: answer.json.code,
    id: details.find((d) => d["@type"] === "type.googleapis.com/zitadel.v1.ErrorDetail")?.id,
    retryDelay: details.find((d) => d["@type"] === "type.googleapis.com/google.rpc.RetryInfo")?.retryDelay,
  };
}
