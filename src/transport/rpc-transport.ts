import type { DescMethod, DescService } from "@bufbuild/protobuf";
import {
  createServiceImplSpec,
  type ConnectRouter,
  type ConnectRouterOptions,
  type ContextValues,
  type ServiceImpl,
  type ServiceImplSpec,
} from "@connectrpc/connect";
import { compressionBrotli, compressionGzip, connectNodeAdapter } from "@connectrpc/connect-node";
import { GRPC_WEB_TEXT_CONTENT_TYPES, grpcWebTextMode, isGrpcWebTextType, serveGrpcWebText } from "./grpc-web-text.js";
import { pathOf, type NodeHandler, type NodeRequest, type NodeResponse } from "./node-handler.js";
import { createRestTranscoder } from "./rest-transcoder.js";

/** connect's handler for one method over all its protocols (the elements of `ConnectRouter.handlers`). */
export type RpcHandler = ConnectRouter["handlers"][number];

/** One service the server answers: its descriptor and its implementation, bound once for every transport. */
export function serviceRegistration<T extends DescService>(
  service: T,
  implementation: Partial<ServiceImpl<T>>,
): ServiceImplSpec {
  return createServiceImplSpec<T>(service, implementation);
}

export interface RpcTransportOptions {
  /** Every service served, over gRPC, gRPC-Web and Connect, and over REST where its methods carry `google.api.http`. */
  readonly services: readonly ServiceImplSpec[];
  /** connect's router options (interceptors, limits, shutdown signal); REST calls run through the same interceptors. */
  readonly router: ConnectRouterOptions;
  /** Per-request values every call sees (e.g. the client address), for RPC and REST calls alike. */
  readonly contextValues?: (request: NodeRequest) => ContextValues;
  /** Gets every request that is neither an RPC nor a REST route. */
  readonly fallback: NodeHandler;
}

/** The transport: one Node request handler, and the connect handlers behind it by request path. */
export interface RpcTransport {
  readonly handler: NodeHandler;
  /** connect's handlers by request path (`/package.Service/Method`), built once by the router. */
  readonly rpcHandlers: ReadonlyMap<string, RpcHandler>;
}

/**
 * Serves `services` through connect-node's `connectNodeAdapter` as it is, the REST transcoder behind it, then
 * `fallback`; routes are built once, and `rpcHandlers` serves the shims in front.
 */
export function createRpcTransport(options: RpcTransportOptions): RpcTransport {
  const { services, router: routerOptions, contextValues } = options;
  const rest = createRestTranscoder({ services, router: routerOptions, contextValues }, options.fallback);
  let router: ConnectRouter | undefined;
  const connect = connectNodeAdapter({
    // connect-node's default compressions, spelled out because the adapter would write them into our options object.
    ...options.router,
    acceptCompression: options.router.acceptCompression ?? [compressionGzip, compressionBrotli],
    routes(built) {
      router = built;
      for (const spec of options.services) {
        for (const method of Object.values(spec.methods)) built.rpc(method.method as DescMethod, method.impl as never);
      }
    },
    contextValues: options.contextValues,
    fallback: rest,
  });
  // connectNodeAdapter calls `routes` before it returns.
  const rpcHandlers = new Map(router!.handlers.map((handler) => [handler.requestPath, handler]));

  const servedTypes = new Map([...rpcHandlers].map(([path, rpc]) => [path, contentTypesServedBy(rpc)]));

  const handler: NodeHandler = (request, response) => {
    const path = pathOf(request);
    const rpc = rpcHandlers.get(path);
    if (rpc === undefined) return connect(request, response);
    // connect-node builds the call's URL from the authority and throws, outside any promise, when it has none
    // or one that is no URL host ("a b"): that would end the process, so such RPC requests are refused here.
    if (!hasUsableAuthority(request)) {
      response.writeHead(400, { "content-type": "text/plain; charset=utf-8" });
      response.end("bad request: the Host header (or :authority) is missing or not a host\n");
      return;
    }
    const contentType = request.headers["content-type"] ?? "";
    // gRPC-Web text: a shim over the method's own connect handler (src/transport/grpc-web-text.ts).
    const textMode = request.method === "POST" ? grpcWebTextMode(contentType, request.headers.accept) : undefined;
    if (textMode !== undefined) return serveGrpcWebText(rpc, textMode, request, response, contextValues?.(request));
    if (refusesContentType(rpc, request.method ?? "", contentType))
      return unsupportedMediaType(response, contentType, path, servedTypes.get(path)!);
    connect(request, response);
  };
  return { handler, rpcHandlers };
}

/** Every content type connect could be asked for; each method serves those its handler matches (plus gRPC-Web text). */
const KNOWN_CONTENT_TYPES = [
  "application/grpc",
  "application/grpc+proto",
  "application/grpc+json",
  "application/grpc-web",
  "application/grpc-web+proto",
  "application/grpc-web+json",
  "application/json",
  "application/proto",
  "application/connect+json",
  "application/connect+proto",
];

/** The content types `rpc` answers, as connect's own matcher decides, with gRPC-Web text where gRPC-Web is served. */
function contentTypesServedBy(rpc: RpcHandler): string[] {
  const served = KNOWN_CONTENT_TYPES.filter((type) => rpc.supportedContentType(type));
  return served.includes("application/grpc-web+proto") ? [...served, ...GRPC_WEB_TEXT_CONTENT_TYPES] : served;
}

/**
 * True when connect would answer 415: an allowed verb with a type it does not serve (none passes only on Connect
 * GET). Text types the shim left (`+json`) count too: connect's matcher takes them, then answers an empty 415.
 */
function refusesContentType(rpc: RpcHandler, method: string, contentType: string): boolean {
  if (!rpc.allowedMethods.includes(method)) return false;
  if (contentType === "") return method !== "GET";
  return isGrpcWebTextType(contentType) || !rpc.supportedContentType(contentType);
}

/** 415 with a body naming what the path serves, instead of connect's empty one. */
function unsupportedMediaType(
  response: NodeResponse,
  contentType: string,
  path: string,
  served: readonly string[],
): void {
  const asked = contentType === "" ? "no content type" : `content type ${JSON.stringify(contentType)}`;
  response.writeHead(415, { "content-type": "text/plain; charset=utf-8", "x-content-type-options": "nosniff" });
  response.end(`unsupported media type: ${asked} is not served on ${path}; it serves ${served.join(", ")}\n`);
}

/** True when connect-node can build a URL from the request's authority (`:authority` on HTTP/2, else Host). */
export function hasUsableAuthority(request: NodeRequest): boolean {
  const authority = "authority" in request ? request.authority : request.headers.host;
  return authority !== undefined && authority !== "" && URL.canParse(request.url ?? "", `http://${authority}`);
}
