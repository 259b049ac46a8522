import http from "node:http";
import { listenOn } from "../transport/dual-protocol-listener.js";
import { pathOf } from "../transport/node-handler.js";
import type { ServerMetrics } from "./metrics.js";

/** Timeouts of the admin listener: a scraper sends one small GET and reads the answer. */
const ADMIN_REQUEST_TIMEOUT_MS = 10_000;
const ADMIN_IDLE_TIMEOUT_MS = 60_000;

/**
 * `GET /metrics` alone on its own port (MYPHONE_ADMIN_PORT), so what metrics reveal and what a scrape costs stay off
 * the public port.
 */
export class AdminListener {
  private readonly server: http.Server;

  constructor(metrics: ServerMetrics) {
    this.server = http.createServer(
      {
        requestTimeout: ADMIN_REQUEST_TIMEOUT_MS,
        headersTimeout: ADMIN_REQUEST_TIMEOUT_MS,
        keepAliveTimeout: ADMIN_IDLE_TIMEOUT_MS,
      },
      (request, response) => {
        const path = pathOf(request);
        if (path === "/metrics" && (request.method === "GET" || request.method === "HEAD"))
          return metrics.serveScrape(response);
        response.writeHead(path === "/metrics" ? 405 : 404, { "content-type": "text/plain; charset=utf-8" });
        response.end(path === "/metrics" ? "method not allowed\n" : "not found\n");
      },
    );
  }

  /** Starts listening; resolves with the bound port. */
  listen(port: number, host: string): Promise<number> {
    return listenOn(this.server, port, host);
  }

  /** Stops listening and closes its connections (a scrape cut by shutdown is simply retried by the scraper). */
  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }
}
