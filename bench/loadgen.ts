import http from "node:http";
import http2 from "node:http2";
import { percentile } from "./stats.js";

/**
 * Load generators. `runLoad` is closed-loop: `concurrency` requests in flight for `durationMs`, each finished
 * request immediately replaced by the next (measures the maximum rate). `runOpenLoad` is open-loop: requests
 * start at a fixed rate whatever the server does (measures a server at a given load, e.g. the soak). Requests come
 * from `makeRequest(i)`, so every request can carry its own user token and body (SetMyPhone needs a new number
 * each time). Runs in its own process, pinned to its own core.
 */

export type Protocol =
  | "grpc"
  | "grpc-web-h1"
  | "grpc-web-text-h1"
  | "connect-json-h1"
  | "connect-json-h2"
  | "rest-h1"
  | "rest-h2"
  | "raw-h1";

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
      // Node ends a GET's stream itself (no body): writing an empty body then would fail with "write after end".
      if (request.body.length > 0 || !stream.writableEnded)
        stream.end(request.body.length > 0 ? request.body : undefined);
    });
  return { send, close: () => pool.forEach((s) => s.close()) };
}

/** HTTP/1.1 keep-alive sender; gRPC-Web success = trailer frame with grpc-status:0 (or header), in base64 for text. */
function http1Sender(
  baseUrl: string,
  concurrency: number,
  grpcWeb: "binary" | "text" | undefined,
): { send: Send; close(): void } {
  // Idle sockets are closed after 30 s, before the server's idle timeout (60 s) closes them: a request sent on a
  // socket just as the server closes it fails with "socket hang up" (the keep-alive race). Node 20's agent
  // ignores the server's Keep-Alive: timeout hint, and an open loop at a low rate leaves sockets idle that long.
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency, timeout: 30_000 });
  const url = new URL(baseUrl);
  const send: Send = (request) =>
    new Promise((resolve, reject) => {
      const req = http.request(
        {
          host: url.hostname,
          port: url.port,
          path: request.path,
          method: request.method,
          headers: { ...request.headers, "content-length": String(request.body.length) },
          agent,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () => {
            if (res.statusCode !== 200)
              return reject(new Error(`HTTP ${res.statusCode} ${Buffer.concat(chunks).toString().slice(0, 200)}`));
            if (grpcWeb) {
              const bytes = Buffer.concat(chunks);
              // A text body may be padded after each chunk the server flushed: decode it group by group.
              const body =
                grpcWeb === "text"
                  ? Buffer.concat(
                      (bytes.toString("latin1").match(/.{4}/g) ?? []).map((group) => Buffer.from(group, "base64")),
                    ).toString("latin1")
                  : bytes.toString("latin1");
              const ok = res.headers["grpc-status"] === "0" || /grpc-status:\s*0\r\n/.test(body);
              if (!ok)
                return reject(new Error(`grpc-web status not 0: ${res.headers["grpc-status"] ?? body.slice(-80)}`));
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

/** The sender for `protocol`: HTTP/2 over `sessions` connections, or HTTP/1.1 with up to `sockets` connections. */
function senderFor(
  protocol: Protocol,
  baseUrl: string,
  sessions: number,
  sockets: number,
): { send: Send; close(): void } {
  const h2 = protocol === "grpc" || protocol === "connect-json-h2" || protocol === "rest-h2";
  const grpcWeb = protocol === "grpc-web-h1" ? "binary" : protocol === "grpc-web-text-h1" ? "text" : undefined;
  return h2 ? http2Sender(baseUrl, sessions, protocol === "grpc") : http1Sender(baseUrl, sockets, grpcWeb);
}

/**
 * Connections to one server, one sender per protocol, kept open across loads until `close`. A load that opens
 * its own starts with a burst of new connections, whose first requests can wait far longer than the rest (up to
 * ~1 s on a server that has not served such a burst before); reusing them measures long-lived clients.
 */
export interface Connections {
  send(protocol: Protocol, request: BenchRequest): Promise<void>;
  close(): void;
}

/** Opens connections lazily per protocol: HTTP/2 over `sessions` (default 4) connections, HTTP/1.1 with up to `sockets`. */
export function openConnections(baseUrl: string, options: { sessions?: number; sockets: number }): Connections {
  const senders = new Map<Protocol, { send: Send; close(): void }>();
  return {
    send(protocol, request) {
      let sender = senders.get(protocol);
      if (!sender)
        senders.set(protocol, (sender = senderFor(protocol, baseUrl, options.sessions ?? 4, options.sockets)));
      return sender.send(request);
    },
    close() {
      for (const sender of senders.values()) sender.close();
      senders.clear();
    },
  };
}

/** Drives load; returns throughput and latency percentiles. */
export async function runLoad(options: {
  baseUrl: string;
  protocol: Protocol;
  concurrency: number;
  durationMs: number;
  makeRequest: (i: number) => BenchRequest;
  sessions?: number;
  /** Connections to use (and leave open); unset: the load opens its own and closes them at the end. */
  connections?: Connections;
}): Promise<LoadResult> {
  const own = options.connections
    ? undefined
    : senderFor(options.protocol, options.baseUrl, options.sessions ?? 4, options.concurrency);
  const send: Send = own ? own.send : (request) => options.connections!.send(options.protocol, request);
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
        await send(request);
        latencies.push(performance.now() - t0);
      } catch (error) {
        errors++;
        firstError ??= (error as Error).message;
      }
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, worker));
  const seconds = (performance.now() - start) / 1000;
  own?.close();
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

/** One request of a mixed open-loop load: the protocol that carries it and the label it is counted under. */
export interface MixedRequest {
  readonly protocol: Protocol;
  readonly label: string;
  readonly request: BenchRequest;
}

/** What happened during one reporting interval of `runOpenLoad`. */
export interface IntervalStats {
  /** End of the interval, ms since the load started. */
  readonly atMs: number;
  readonly sent: number;
  /** Requests that completed successfully in this interval, in total and per label. */
  readonly ok: number;
  readonly okByLabel: Readonly<Record<string, number>>;
  /** Failed requests plus requests not sent because `maxOutstanding` were already in flight. */
  readonly errors: number;
  readonly p99Ms: number;
  /** Requests in flight at the end of the interval. */
  readonly outstanding: number;
}

export interface OpenLoadResult extends LoadResult {
  readonly targetRps: number;
  readonly sent: number;
  readonly okByLabel: Readonly<Record<string, number>>;
  /** Requests that were due but not sent because `maxOutstanding` were in flight (included in `errors`). */
  readonly notSent: number;
  readonly intervals: readonly IntervalStats[];
}

/**
 * Open-loop load: request i is due at start + i / ratePerSecond and is sent then, whether or not earlier ones
 * have been answered, for `durationMs`. Latency counts from the due time, not the send time, so a generator that
 * falls behind shows up as latency instead of hiding it (coordinated omission). At most `maxOutstanding` requests
 * are in flight: a due request beyond that is not sent and counts as an error, so an overloaded server shows as
 * errors and latency rather than as unbounded memory in the generator. After the duration, requests still in
 * flight get up to `drainMs` to finish (then they count as errors). `onInterval` is called every `intervalMs`.
 */
export async function runOpenLoad(options: {
  baseUrl: string;
  ratePerSecond: number;
  durationMs: number;
  maxOutstanding: number;
  makeRequest: (i: number) => MixedRequest;
  intervalMs?: number;
  onInterval?: (stats: IntervalStats) => void;
  sessions?: number;
  drainMs?: number;
}): Promise<OpenLoadResult> {
  const connections = openConnections(options.baseUrl, { sessions: options.sessions, sockets: options.maxOutstanding });
  const intervalMs = options.intervalMs ?? 5000;
  const all: number[] = [];
  const okByLabel: Record<string, number> = {};
  const intervals: IntervalStats[] = [];
  let current = { sent: 0, ok: 0, errors: 0, latencies: [] as number[], okByLabel: {} as Record<string, number> };
  let sent = 0;
  let errors = 0;
  let notSent = 0;
  let outstanding = 0;
  let firstError: string | undefined;
  let due = 0;
  /** Set once the result is final: answers arriving after the drain period are not counted twice. */
  let finished = false;
  const fail = (message: string) => {
    errors++;
    current.errors++;
    firstError ??= message;
  };

  const start = performance.now();
  const end = start + options.durationMs;
  let nextReport = start + intervalMs;
  const report = (now: number) => {
    const sorted = Float64Array.from(current.latencies).sort();
    const stats: IntervalStats = {
      atMs: Math.round(now - start),
      sent: current.sent,
      ok: current.ok,
      okByLabel: current.okByLabel,
      errors: current.errors,
      p99Ms: percentile(sorted, 99),
      outstanding,
    };
    intervals.push(stats);
    current = { sent: 0, ok: 0, errors: 0, latencies: [], okByLabel: {} };
    options.onInterval?.(stats);
  };

  let drained: () => void = () => {};
  const send = (i: number, dueAt: number) => {
    const { protocol, label, request } = options.makeRequest(i);
    outstanding++;
    sent++;
    current.sent++;
    connections
      .send(protocol, request)
      .then(
        () => {
          if (finished) return;
          const latency = performance.now() - dueAt;
          all.push(latency);
          current.latencies.push(latency);
          current.ok++;
          current.okByLabel[label] = (current.okByLabel[label] ?? 0) + 1;
          okByLabel[label] = (okByLabel[label] ?? 0) + 1;
        },
        (error: unknown) => {
          if (!finished) fail(`${label}: ${(error as Error).message}`);
        },
      )
      .finally(() => {
        outstanding--;
        if (outstanding === 0) drained();
      });
  };

  // A 1 ms timer is the finest Node offers; every tick sends all requests that fell due since the last one.
  await new Promise<void>((resolve) => {
    const tick = () => {
      const now = performance.now();
      const until = Math.min(now, end);
      while (start + (due * 1000) / options.ratePerSecond <= until) {
        const dueAt = start + (due * 1000) / options.ratePerSecond;
        if (outstanding >= options.maxOutstanding) {
          notSent++;
          fail(`not sent: ${options.maxOutstanding} requests already in flight (the server is not keeping up)`);
        } else send(due, dueAt);
        due++;
      }
      if (now >= nextReport) {
        report(now);
        nextReport += intervalMs;
      }
      if (now >= end) resolve();
      else setTimeout(tick, 1);
    };
    tick();
  });

  const seconds = (performance.now() - start) / 1000;
  if (outstanding > 0) {
    const drainMs = options.drainMs ?? 30_000;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, drainMs);
      drained = () => {
        clearTimeout(timer);
        resolve();
      };
    });
    for (let i = 0; i < outstanding; i++) fail(`no answer within ${drainMs} ms after the load ended`);
  }
  if (current.sent > 0 || current.ok > 0 || current.errors > 0) report(performance.now());
  finished = true;
  connections.close();
  const sorted = Float64Array.from(all).sort();
  return {
    targetRps: options.ratePerSecond,
    sent,
    requests: all.length,
    errors,
    notSent,
    seconds,
    rps: all.length / seconds,
    p50Ms: percentile(sorted, 50),
    p99Ms: percentile(sorted, 99),
    okByLabel,
    intervals,
    ...(firstError ? { firstError } : {}),
  };
}
