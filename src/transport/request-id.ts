import { randomUUID } from "node:crypto";
import type { NodeHandler } from "./node-handler.js";

/** An incoming id is honoured when it is short and plain (it ends up in logs and response headers). */
const ACCEPTABLE_REQUEST_ID = /^[A-Za-z0-9._:@/+=-]{1,128}$/;

/**
 * Gives every request an `x-request-id`, the caller's if acceptable (so a proxy's id follows the call into our
 * logs), else a fresh UUID; set on the request for the interceptors and echoed in the answer.
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
