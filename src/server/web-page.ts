import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { pathOf, type NodeHandler, type NodeResponse } from "../transport/node-handler.js";

/** The files `npm run build` puts in dist/web (scripts/build-web.mjs), by URL path. */
const PAGE_FILES: Record<string, { file: string; type: string }> = {
  "/": { file: "index.html", type: "text/html; charset=utf-8" },
  "/app.js": { file: "app.js", type: "text/javascript; charset=utf-8" },
  "/style.css": { file: "style.css", type: "text/css; charset=utf-8" },
};

/** The page only talks to its own origin and runs only its own script. */
const SECURITY_HEADERS = {
  "content-security-policy":
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; base-uri " +
    "'none'; form-action 'none'; frame-ancestors 'none'",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "cache-control": "no-cache",
};

/** dist/web of this package, found from this module's directory (src/server under jest, dist/src/server when built). */
export function defaultWebDirectory(): string {
  let dir = __dirname;
  while (!existsSync(join(dir, "package.json"))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`no package.json above ${__dirname}`);
    dir = parent;
  }
  return join(dir, "dist", "web");
}

/**
 * Serves the self-service page (`GET /`, its script and style) from `directory`; other requests go to `next`.
 * Files are read once, at the first request, and kept: they only change with a new build.
 */
export function webPageRoutes(directory: string, next: NodeHandler): NodeHandler {
  const cache = new Map<string, Buffer>();
  return (request, response) => {
    const path = pathOf(request);
    const page = PAGE_FILES[path];
    if (!page || (request.method !== "GET" && request.method !== "HEAD")) return next(request, response);
    let body = cache.get(page.file);
    if (body === undefined) {
      try {
        body = readFileSync(join(directory, page.file));
      } catch {
        return send(
          response,
          404,
          "text/plain; charset=utf-8",
          Buffer.from("The self-service page is not built: run npm run build.\n"),
        );
      }
      cache.set(page.file, body);
    }
    send(response, 200, page.type, request.method === "HEAD" ? undefined : body, body.length);
  };
}

function send(
  response: NodeResponse,
  status: number,
  type: string,
  body: Buffer | undefined,
  length = body?.length ?? 0,
): void {
  response.writeHead(status, { ...SECURITY_HEADERS, "content-type": type, "content-length": String(length) });
  if (body === undefined) response.end();
  else response.end(body);
}
