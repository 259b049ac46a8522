import http from "node:http";
import http2 from "node:http2";
import { percentile } from "./stats.js";

/**
 * A closed-loop load generator: `concurrency` requests in flight for `durationMs`, each finished request
 * immediately replaced by the next. Requests come from `makeRequest(i)`, so every request can carry its own user
 * token and body (SetMyPhone needs a new number each time). Runs in its own process, pinned to its own core.
 */

export type Protocol = "grpc" | "grpc-web-h1" | "connect-json-h1" | "connect-json-h2" | "rest-h1" | "raw-h1";

export interface BenchRequest {
  readonly path: string;
  readonly method: string;
  readonly headers: Record<string, string>;
  readonly body: Buffer;
}

export interface LoadResult {
  readonly requests: number;
  readonly errors: number;
  readonly seconds: number;
  readonly rps: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly firstError?: string;
}

type Send = (request: BenchRequest) => Promise<void>;


/** One HTTP/2 sender over `sessions` connections; gRPC success = trailer grpc-status 0, else HTTP 200. */
function http2Sender(baseUrl: string, sessions: number, grpc: boolean): { send: Send; close(): void } {
  const pool = Array.from({ length: sessions }, () => http2.connect(baseUrl));
  let next = 0;
  const send: Send = (request) =>
    new Promise((resolve, reject) => {
      const session = pool[next++ % pool.length]!;
      const stream = session.request({ ":method": request.method, ":path": request.path, ...request.headers });
      let status = 0;
      let grpcStatus: string | undefined;
      stream.on("response", (headers) => {
        status = Number(headers[":status"]);
        if (headers["grpc-status"] !== undefined) grpcStatus = String(headers["grpc-status"]);
      });
      stream.on("trailers", (trailers) => (grpcStatus = String(trailers["grpc-status"])));
      stream.on("data", () => {});
      stream.on("error", reject);
      stream.on("end", () => {
        if (status !== 200) return reject(new Error(`HTTP ${status}`));
        if (grpc && grpcStatus !== "0") return reject(new Error(`grpc-status ${grpcStatus}`));
        resolve();
      });
      stream.end(request.body);
    });
  return { send, close: () => pool.forEach((s) => s.close()) };
}

/** HTTP/1.1 keep-alive sender; gRPC-Web success = trailer frame with grpc-status:0 (or header). */
function http1Sender(baseUrl: string, concurrency: number, grpcWeb: boolean): { send: Send; close(): void } {
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  const url = new URL(baseUrl);
  const send: Send = (request) =>
    new Promise((resolve, reject) => {
      const req = http.request(
        { host: url.hostname, port: url.port, path: request.path, method: request.method, headers: { ...request.headers, "content-length": String(request.body.length) }, agent },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () => {
            if (res.statusCode !== 200) return reject(new Error(`HTTP ${res.statusCode} ${Buffer.concat(chunks).toString().slice(0, 200)}`));
            if (grpcWeb) {
              const body = Buffer.concat(chunks).toString("latin1");
              const ok = res.headers["grpc-status"] === "0" || /grpc-status:\s*0\r\n/.test(body);
              if (!ok) return reject(new Error(`grpc-web status not 0: ${res.headers["grpc-status"] ?? body.slice(-80)}`));
            }
            resolve();
          });
        },
      );
      req.on("error", reject);
      req.end(request.body);
    });
  return { send, close: () => agent.destroy() };
}

/** Drives load; returns throughput and latency percentiles. */
export async function runLoad(options: {
  baseUrl: string;
  protocol: Protocol;
  concurrency: number;
  durationMs: number;
  makeRequest: (i: number) => BenchRequest;
  sessions?: number;
}): Promise<LoadResult> {
  const h2 = options.protocol === "grpc" || options.protocol === "connect-json-h2";
  const sender = h2
    ? http2Sender(options.baseUrl, options.sessions ?? 4, options.protocol === "grpc")
    : http1Sender(options.baseUrl, options.concurrency, options.protocol === "grpc-web-h1");
  const latencies: number[] = [];
  let errors = 0;
  let firstError: string | undefined;
  let counter = 0;
  const start = performance.now();
  const end = start + options.durationMs;
  const worker = async () => {
    while (performance.now() < end) {
      const request = options.makeRequest(counter++);
      const t0 = performance.now();
      try {
        await sender.send(request);
        latencies.push(performance.now() - t0);
      } catch (error) {
        errors++;
        firstError ??= (error as Error).message;
      }
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, worker));
  const seconds = (performance.now() - start) / 1000;
  sender.close();
  const sorted = Float64Array.from(latencies).sort();
  return {
    requests: latencies.length,
    errors,
    seconds,
    rps: latencies.length / seconds,
    p50Ms: percentile(sorted, 50),
    p99Ms: percentile(sorted, 99),
    ...(firstError ? { firstError } : {}),
  };
}
