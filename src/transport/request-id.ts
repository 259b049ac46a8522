import { randomUUID } from "node:crypto";
import type { NodeHandler } from "./node-handler.js";

/** An incoming id is honoured when it is short and plain (it ends up in logs and response headers). */
const ACCEPTABLE_REQUEST_ID = /^[A-Za-z0-9._:@/+=-]{1,128}$/;

/**
 * Gives every HTTP request an id: the caller's `x-request-id` when it is acceptable (so a proxy's or client's id
 * follows the call into our logs), else a fresh UUID. The id is written back into the request headers, where the
 * RPC interceptors and the REST transcoder read it, and echoed in the `x-request-id` response header.
 */
export function withRequestId(next: NodeHandler): NodeHandler {
  return (request, response) => {
    const incoming = request.headers["x-request-id"];
    const id = typeof incoming === "string" && ACCEPTABLE_REQUEST_ID.test(incoming) ? incoming : randomUUID();
    request.headers["x-request-id"] = id;
    response.setHeader("x-request-id", id);
    next(request, response);
  };
}
