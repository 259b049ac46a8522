import { pathOf, type NodeHandler, type NodeResponse } from "../transport/node-handler.js";

/** What /readyz asks: can this process take traffic now? */
export type ReadinessCheck = () => Promise<boolean>;

/** /healthz (the process answers) and /readyz (store reachable and not shutting down); others go to `next`. */
export function healthRoutes(ready: ReadinessCheck, next: NodeHandler): NodeHandler {
  return (request, response) => {
    const path = pathOf(request);
    if (path === "/healthz") return text(response, 200, "ok\n");
    if (path !== "/readyz") return next(request, response);
    ready().then(
      (isReady) => text(response, isReady ? 200 : 503, isReady ? "ready\n" : "not ready\n"),
      () => text(response, 503, "not ready\n"),
    );
  };
}

function text(response: NodeResponse, status: number, body: string): void {
  response.writeHead(status, { "content-type": "text/plain; charset=utf-8", "cache-control": "no-store" });
  response.end(body);
}
