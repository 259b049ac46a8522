import http2 from "node:http2";
import net from "node:net";
import { startTestServer, type TestServer } from "../support/test-server.js";
import { grpcFrame, rawHttp2Streams } from "./raw-http.js";

/**
 * Issue 22, item 1, scaled down: the server advertised 2^32-1 HTTP/2 streams, so one session held 5,000 calls;
 * unauthenticated health Watch streams never ended, so `session.close()` at the idle timeout waited for them
 * forever; and nothing capped connections. Each attack below runs against a real server over a real socket with
 * node:http2 clients (and a raw frame writer where a client must ignore the server's settings).
 */

/** Resolves when `condition()` holds (checked every 50 ms), or rejects after `timeoutMs`. */
async function eventually(
  condition: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** An HTTP/2 session from `localAddress` (any 127/8 address is this machine): accepted once the server's SETTINGS arrive, refused when closed before. */
function connectFrom(
  url: string,
  localAddress: string,
): Promise<{ session: http2.ClientHttp2Session; accepted: boolean }> {
  return new Promise((resolve) => {
    const { hostname, port } = new URL(url);
    const session = http2.connect(url, {
      createConnection: () => net.connect({ host: hostname, port: Number(port), localAddress }),
    });
    const timer = setTimeout(() => settle(false), 5_000);
    const settle = (accepted: boolean) => {
      clearTimeout(timer);
      resolve({ session, accepted });
    };
    session.once("remoteSettings", () => settle(true));
    session.once("close", () => settle(false));
    session.on("error", () => undefined);
  });
}

/** Opens one `grpc.health.v1.Health/Watch` stream for service "": "watching" once the first status arrives, else the grpc-status it ended with. */
function openWatch(session: http2.ClientHttp2Session): {
  stream: http2.ClientHttp2Stream;
  result: Promise<"watching" | number>;
} {
  const stream = session.request({
    ":method": "POST",
    ":path": "/grpc.health.v1.Health/Watch",
    "content-type": "application/grpc",
    te: "trailers",
  });
  stream.end(grpcFrame(new Uint8Array(0)));
  const result = new Promise<"watching" | number>((resolve) => {
    const timer = setTimeout(() => resolve(-1), 10_000);
    const done = (value: "watching" | number) => {
      clearTimeout(timer);
      resolve(value);
    };
    stream.on("response", (headers) => {
      if (headers["grpc-status"] !== undefined) done(Number(headers["grpc-status"]));
    });
    stream.on("trailers", (trailers) => done(Number(trailers["grpc-status"])));
    stream.once("data", () => done("watching"));
    stream.on("error", () => done(-1));
  });
  return { stream, result };
}

describe("streams per session (MYPHONE_HTTP2_MAX_STREAMS, default 100)", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ MYPHONE_STORE: "memory" });
  });
  afterAll(() => server?.stop());

  test("the server advertises 100 concurrent streams", async () => {
    const { session, accepted } = await connectFrom(server.url, "127.0.0.1");
    try {
      expect(accepted).toBe(true);
      expect(session.remoteSettings.maxConcurrentStreams).toBe(100);
    } finally {
      session.destroy();
    }
  });

  test("a client ignoring it gets every stream past the 100th refused (REFUSED_STREAM), and the server keeps answering", async () => {
    const port = Number(new URL(server.url).port);
    // 150 gRPC calls whose request body never comes: each would stay open until MYPHONE_REQUEST_TIMEOUT.
    const headers = [
      [":method", "POST"],
      [":scheme", "http"],
      [":path", "/zitadel.auth.v1.AuthService/GetMyPhone"],
      [":authority", "127.0.0.1"],
      ["content-type", "application/grpc"],
      ["te", "trailers"],
    ] as const;
    const outcome = await rawHttp2Streams(port, 150, headers, {
      listenMs: 5_000,
      enough: (o) => (o.resetByCode.get(7) ?? 0) >= 50,
    });
    expect({ refused: outcome.resetByCode.get(7) ?? 0, goaway: outcome.goaway }).toEqual({
      refused: 50,
      goaway: undefined,
    });

    const { session } = await connectFrom(server.url, "127.0.0.1");
    try {
      const check = session.request({ ":method": "GET", ":path": "/healthz" });
      check.end();
      const status = await new Promise((resolve) => check.once("response", (h) => resolve(h[":status"])));
      expect(status).toBe(200);
    } finally {
      session.destroy();
    }
  });
});

describe("health Watch streams (3 per connection, 5 in all here)", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({
      MYPHONE_STORE: "memory",
      MYPHONE_HEALTH_WATCH_PER_CONNECTION: "3",
      MYPHONE_HEALTH_WATCH_MAX: "5",
    });
  });
  afterAll(() => server?.stop());

  test("a fourth Watch on one connection, and a sixth on the server, answer ResourceExhausted; a closed one frees its place", async () => {
    const first = await connectFrom(server.url, "127.0.0.1");
    const second = await connectFrom(server.url, "127.0.0.1");
    try {
      const onFirst = [1, 2, 3, 4].map(() => openWatch(first.session));
      expect(await Promise.all(onFirst.map((watch) => watch.result))).toEqual(["watching", "watching", "watching", 8]);
      const onSecond = [1, 2, 3].map(() => openWatch(second.session));
      expect(await Promise.all(onSecond.map((watch) => watch.result))).toEqual(["watching", "watching", 8]);

      onFirst[0]!.stream.close(http2.constants.NGHTTP2_CANCEL);
      // The server learns of the cancel asynchronously: retry (a refused attempt holds nothing) until the place is free.
      await eventually(
        async () => (await openWatch(second.session).result) === "watching",
        "a Watch on the freed place",
      );
    } finally {
      first.session.destroy();
      second.session.destroy();
    }
  });
});

test("Watch streams held open past the idle timeout: the session gets GOAWAY, then is cut MYPHONE_HTTP2_CLOSE_GRACE later", async () => {
  const server = await startTestServer({
    MYPHONE_STORE: "memory",
    MYPHONE_IDLE_TIMEOUT: "1s",
    MYPHONE_HTTP2_CLOSE_GRACE: "1s",
  });
  const { session } = await connectFrom(server.url, "127.0.0.1");
  try {
    const events: string[] = [];
    session.on("goaway", () => events.push("goaway"));
    session.on("close", () => events.push("close"));
    const watches = [1, 2, 3].map(() => openWatch(session));
    expect(await Promise.all(watches.map((watch) => watch.result))).toEqual(["watching", "watching", "watching"]);
    // Idle after 1 s (a Watch says nothing while the status holds), cut 1 s after GOAWAY; 10 s is the bound.
    await eventually(() => events.includes("close"), "the session closed by the server");
    expect([events[0], events.at(-1)]).toEqual(["goaway", "close"]);
    // The server is fine and takes new connections.
    const again = await connectFrom(server.url, "127.0.0.1");
    expect(again.accepted).toBe(true);
    again.session.destroy();
  } finally {
    session.destroy();
    await server.stop();
  }
});

test("connections per client address and in all (2 per address, 5 in all here; trusted proxies are not capped per address)", async () => {
  const server = await startTestServer({
    MYPHONE_STORE: "memory",
    MYPHONE_MAX_CONNECTIONS_PER_IP: "2",
    MYPHONE_MAX_CONNECTIONS: "5",
    MYPHONE_TRUSTED_PROXIES: "127.0.0.4",
  });
  const sessions: http2.ClientHttp2Session[] = [];
  const connect = async (address: string) => {
    const attempt = await connectFrom(server.url, address);
    sessions.push(attempt.session);
    return attempt.accepted;
  };
  try {
    expect([await connect("127.0.0.1"), await connect("127.0.0.1"), await connect("127.0.0.1")]).toEqual([
      true,
      true,
      false,
    ]);
    expect([await connect("127.0.0.4"), await connect("127.0.0.4"), await connect("127.0.0.4")]).toEqual([
      true,
      true,
      true,
    ]);
    expect(await connect("127.0.0.2")).toBe(false);

    sessions[3]!.destroy();
    await eventually(() => connect("127.0.0.2"), "a connection from 127.0.0.2 once one of the five has closed");

    const metrics = await (await fetch(`${server.adminUrl}/metrics`, { signal: AbortSignal.timeout(10_000) })).text();
    expect(metrics).toMatch(/^myphone_connections_refused_total\{reason="per_address"\} 1$/m);
    expect(
      Number(/^myphone_connections_refused_total\{reason="total"\} (\d+)$/m.exec(metrics)?.[1]),
    ).toBeGreaterThanOrEqual(1);
    expect(
      server.logs
        .filter((line) => String(line.msg).startsWith("connection refused: too many open connections"))
        .map((line) => line.reason),
    ).toEqual(["per_address", "total"]);
  } finally {
    for (const session of sessions) session.destroy();
    await server.stop();
  }
});
