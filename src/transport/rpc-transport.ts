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
import type { NodeHandler, NodeRequest } from "./node-handler.js";
import { createRestTranscoder } from "./rest-transcoder.js";

/** connect's handler for one method over all its protocols (the elements of `ConnectRouter.handlers`). */
export type RpcHandler = ConnectRouter["handlers"][number];

/** One service the server answers: its descriptor and its implementation, bound once for every transport. */
export function serviceRegistration<T extends DescService>(service: T, implementation: Partial<ServiceImpl<T>>): ServiceImplSpec {
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
 * Serves `services` on one Node handler: connect-node's `connectNodeAdapter` as it is for gRPC, gRPC-Web and
 * Connect, the REST transcoder as its fallback, then `fallback`. The router is built once, inside the adapter;
 * `rpcHandlers` exposes its handlers for protocol shims that sit in front of the adapter.
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

  const handler: NodeHandler = (request, response) => {
    // connect-node builds the call's URL from the authority and throws, outside any promise, when it has none
    // or one that is no URL host ("a b"): that would end the process, so such RPC requests are refused here.
    if (rpcHandlers.has(pathOf(request)) && !hasUsableAuthority(request)) {
      response.writeHead(400, { "content-type": "text/plain; charset=utf-8" });
      response.end("bad request: the Host header (or :authority) is missing or not a host\n");
      return;
    }
    // Protocol shims over `rpcHandlers` go here, ahead of the adapter: gRPC-Web text (application/grpc-web-text,
    // base64) decodes the body into a binary gRPC-Web request for the same handler (connect-node's
    // universalRequestFromNodeRequest) and encodes its answer back (universalResponseToNodeResponse).
    connect(request, response);
  };
  return { handler, rpcHandlers };
}

/** True when connect-node can build a URL from the request's authority (`:authority` on HTTP/2, else Host). */
export function hasUsableAuthority(request: NodeRequest): boolean {
  const authority = "authority" in request ? request.authority : request.headers.host;
  return authority !== undefined && authority !== "" && URL.canParse(request.url ?? "", `http://${authority}`);
}

/** The URL path of `request`, without its query. */
export function pathOf(request: NodeRequest): string {
  const url = request.url ?? "";
  const query = url.indexOf("?");
  return query < 0 ? url : url.slice(0, query);
}
