import { cors as connectCors } from "@connectrpc/connect";
import type { NodeHandler } from "./node-handler.js";

export interface CorsOptions {
  /** Exact origins allowed to call from a browser (`https://app.example.com`); `*` allows any origin. */
  readonly allowedOrigins: readonly string[];
}

/** Request headers browsers may send: Connect's, gRPC-Web's, the bearer token, ZITADEL's org header, a request id. */
const ALLOWED_HEADERS = [...connectCors.allowedHeaders, "Authorization", "X-Zitadel-Orgid", "X-Request-Id"].join(", ");
/** Response headers scripts may read: gRPC status (trailers-only answers), REST's Retry-After, the request id. */
const EXPOSED_HEADERS = [...connectCors.exposedHeaders, "Retry-After", "X-Request-Id"].join(", ");
/** The REST routes add PUT and DELETE to Connect's methods. */
const ALLOWED_METHODS = [...connectCors.allowedMethods, "PUT", "DELETE"].join(", ");
/** Chrome caps preflight caching at 2 hours, so asking for longer gains nothing. */
const PREFLIGHT_MAX_AGE_SECONDS = "7200";

/**
 * CORS around the whole handler, since preflight requests never reach RPC routing. Origins not allowed pass through
 * untouched: the browser then withholds the answer from the script.
 */
export function withCors(options: CorsOptions, next: NodeHandler): NodeHandler {
  const anyOrigin = options.allowedOrigins.includes("*");
  const allowed = new Set(options.allowedOrigins);
  return (request, response) => {
    const origin = request.headers.origin;
    if (typeof origin !== "string") return next(request, response);
    // The answer depends on the Origin; caches must not hand one origin's answer to another.
    response.setHeader("vary", "Origin");
    if (!(anyOrigin || allowed.has(origin))) return next(request, response);
    response.setHeader("access-control-allow-origin", origin);
    const preflight = request.method === "OPTIONS" && request.headers["access-control-request-method"] !== undefined;
    if (!preflight) {
      response.setHeader("access-control-expose-headers", EXPOSED_HEADERS);
      return next(request, response);
    }
    response.writeHead(204, {
      "access-control-allow-methods": ALLOWED_METHODS,
      "access-control-allow-headers": ALLOWED_HEADERS,
      "access-control-max-age": PREFLIGHT_MAX_AGE_SECONDS,
    });
    response.end();
  };
}
