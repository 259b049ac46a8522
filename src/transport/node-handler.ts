import type { ConnectNodeAdapterOptions } from "@connectrpc/connect-node";

/** connect-node's Node request handler type (HTTP/1.1 and HTTP/2 requests alike); not exported by name. */
export type NodeHandler = NonNullable<ConnectNodeAdapterOptions["fallback"]>;
export type NodeRequest = Parameters<NodeHandler>[0];
export type NodeResponse = Parameters<NodeHandler>[1];

/** The URL path of `request`, without its query. */
export function pathOf(request: { readonly url?: string }): string {
  const url = request.url ?? "";
  const query = url.indexOf("?");
  return query < 0 ? url : url.slice(0, query);
}
