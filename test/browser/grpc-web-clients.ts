import { create, fromBinary, toBinary, type DescMethod, type Message } from "@bufbuild/protobuf";
import { anyUnpack } from "@bufbuild/protobuf/wkt";
import { ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcWebTransport } from "@connectrpc/connect-web";
import { GrpcWebClientBase, MethodDescriptor, MethodType, RpcError } from "grpc-web";
import { StatusSchema } from "../../gen/google/rpc/status_pb.js";
import { AuthService } from "../../gen/zitadel/auth_pb.js";
import { ErrorDetailSchema } from "../../gen/zitadel/message_pb.js";

/**
 * Bundled by esbuild for the browser test (test/server/grpc-web-browsers.test.ts): three browser gRPC-Web clients
 * calling AuthService as a browser app would, each reporting the outcome the way such an app reads it.
 * - Google's grpc-web client (`GrpcWebClientBase`, as protoc-gen-grpc-web generates, in its `text` and `binary`
 *   formats, i.e. mode=grpcwebtext and mode=grpcweb); its method descriptors (de)serialise with the generated
 *   @bufbuild/protobuf schemas, because protoc-gen-grpc-web cannot be installed here (its npm package downloads
 *   the plugin from GitHub). The error id comes from the `grpc-status-details-bin` metadata, base64 of
 *   google.rpc.Status.
 * - connect-web's gRPC-Web transport; the error id from `ConnectError.findDetails`.
 */

export type ClientKind = "grpc-web text" | "grpc-web binary" | "connect-web";
type MethodName = "setMyPhone" | "verifyMyPhone" | "getMyPhone";

/** What the page sees: the response as JSON-friendly values, or the error's code, message and ErrorDetail id. */
export type Outcome = { ok: Record<string, unknown> } | { error: { code: number; message: string; id: string | null } };

/** Calls `method` of AuthService at `baseUrl` with a bearer token, through the client named `kind`. */
async function call(
  kind: ClientKind,
  baseUrl: string,
  token: string,
  method: MethodName,
  request: Record<string, unknown>,
): Promise<Outcome> {
  const schema: DescMethod = AuthService.method[method];
  try {
    const response =
      kind === "connect-web"
        ? await connectWeb(baseUrl, token, method, request)
        : await googleGrpcWeb(kind, baseUrl, token, schema, request);
    return { ok: plain(response) as Record<string, unknown> };
  } catch (error) {
    if (error instanceof RpcError)
      return { error: { code: error.code, message: error.message, id: errorIdFromMetadata(error.metadata) } };
    const connectError = ConnectError.from(error);
    return {
      error: {
        code: connectError.code,
        message: connectError.rawMessage,
        id: connectError.findDetails(ErrorDetailSchema)[0]?.id ?? null,
      },
    };
  }
}

async function connectWeb(
  baseUrl: string,
  token: string,
  method: MethodName,
  request: Record<string, unknown>,
): Promise<unknown> {
  const client = createClient(AuthService, createGrpcWebTransport({ baseUrl }));
  return (client[method] as (request: unknown, options: unknown) => Promise<unknown>)(request, {
    headers: { authorization: `Bearer ${token}` },
  });
}

async function googleGrpcWeb(
  kind: ClientKind,
  baseUrl: string,
  token: string,
  schema: DescMethod,
  request: Record<string, unknown>,
): Promise<Message> {
  const client = new GrpcWebClientBase({ format: kind === "grpc-web text" ? "text" : "binary" });
  const path = `/${AuthService.typeName}/${schema.name}`;
  // What protoc-gen-grpc-web emits per method; the classes are only named, the (de)serialisers do the work.
  const descriptor = new MethodDescriptor<Message, Message>(
    path,
    MethodType.UNARY,
    Object as never,
    Object as never,
    (message: Message) => toBinary(schema.input, message),
    (bytes: Uint8Array) => fromBinary(schema.output, bytes),
  );
  // The promise-style call generated clients make.
  return client.unaryCall(
    `${baseUrl}${path}`,
    create(schema.input, request),
    { authorization: `Bearer ${token}` },
    descriptor,
  );
}

/** The ErrorDetail id in gRPC's status details, as a grpc-web app decodes them (grpc-web-error-details does the same). */
function errorIdFromMetadata(metadata: Record<string, string> | undefined): string | null {
  const encoded = metadata?.["grpc-status-details-bin"];
  if (encoded === undefined) return null;
  const bytes = Uint8Array.from(atob(encoded.padEnd(Math.ceil(encoded.length / 4) * 4, "=")), (char) =>
    char.charCodeAt(0),
  );
  const status = fromBinary(StatusSchema, bytes);
  for (const detail of status.details) {
    const unpacked = anyUnpack(detail, ErrorDetailSchema);
    if (unpacked !== undefined) return unpacked.id;
  }
  return null;
}

/** Messages as plain values playwright can hand back (bigint sequences as strings). */
function plain(value: unknown): unknown {
  return JSON.parse(
    JSON.stringify(value, (_key, inner: unknown) => (typeof inner === "bigint" ? inner.toString() : inner)),
  );
}

(globalThis as { myphoneClients?: unknown }).myphoneClients = { call };
