import http from "node:http";
import http2 from "node:http2";
import net from "node:net";

/** The 24 bytes every HTTP/2 prior-knowledge connection starts with (RFC 9113 section 3.4). */
const HTTP2_PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");

export type RequestHandler = (
  request: http.IncomingMessage | http2.Http2ServerRequest,
  response: http.ServerResponse | http2.Http2ServerResponse,
) => void;

export interface DualProtocolListenerOptions {
  /** Time a new connection has to send its first bytes before it is dropped. */
  readonly sniffTimeoutMs?: number;
  /** Idle time after which a keep-alive HTTP/1.1 connection or an HTTP/2 session is closed. */
  readonly idleTimeoutMs?: number;
  /** Time a client has to send a whole HTTP/1.1 request (headers and body). */
  readonly requestTimeoutMs?: number;
}

/**
 * One cleartext port for HTTP/1.1 and HTTP/2 (prior knowledge): the first bytes of each connection decide
 * whether it goes to the HTTP/2 server (gRPC, buf curl, grpc-js) or the HTTP/1.1 server (browsers, curl).
 * Node cannot do this itself: `allowHTTP1` only works with TLS ALPN (reference/connect.md section 1).
 */
export class DualProtocolListener {
  private readonly tcp: net.Server;
  private readonly h1: http.Server;
  private readonly h2: http2.Http2Server;
  private readonly sessions = new Set<http2.ServerHttp2Session>();
  /** HTTP/1.1 connections and their requests in progress; the h1 server never listens, so it cannot track them. */
  private readonly h1Connections = new Map<net.Socket, number>();
  private closing = false;
  private readonly sniffTimeoutMs: number;

  constructor(handler: RequestHandler, options: DualProtocolListenerOptions = {}) {
    this.sniffTimeoutMs = options.sniffTimeoutMs ?? 10_000;
    const idle = options.idleTimeoutMs ?? 60_000;
    this.h1 = http.createServer({ requestTimeout: options.requestTimeoutMs ?? 30_000, headersTimeout: 15_000, keepAliveTimeout: idle });
    this.h1.on("request", (request: http.IncomingMessage, response: http.ServerResponse) => this.trackHttp1(request, response));
    this.h1.on("request", handler);
    this.h2 = http2.createServer({}, handler);
    this.h2.on("session", (session) => {
      this.sessions.add(session);
      session.setTimeout(idle, () => session.close());
      session.once("close", () => this.sessions.delete(session));
    });
    this.tcp = net.createServer((socket) => this.sniff(socket));
  }

  /** Starts listening; resolves with the bound port. */
  listen(port: number, host: string): Promise<number> {
    return new Promise((resolve, reject) => {
      this.tcp.once("error", reject);
      this.tcp.listen(port, host, () => {
        this.tcp.off("error", reject);
        resolve((this.tcp.address() as net.AddressInfo).port);
      });
    });
  }

  /**
   * Stops accepting connections and asks open ones to finish: HTTP/2 sessions get GOAWAY after their streams,
   * idle HTTP/1.1 connections close now, busy ones after their response.
   */
  stopAccepting(): Promise<void> {
    this.closing = true;
    const closed = new Promise<void>((resolve) => this.tcp.close(() => resolve()));
    for (const session of this.sessions) session.close();
    for (const [socket, active] of this.h1Connections) if (active === 0) socket.destroy();
    return closed;
  }

  /** Closes whatever is still open (after the shutdown deadline). */
  destroyAll(): void {
    for (const socket of this.h1Connections.keys()) socket.destroy();
    for (const session of this.sessions) session.destroy();
  }

  /** Counts requests per HTTP/1.1 connection, so shutdown can close each connection once it is idle. */
  private trackHttp1(request: http.IncomingMessage, response: http.ServerResponse): void {
    const socket = request.socket;
    this.h1Connections.set(socket, (this.h1Connections.get(socket) ?? 0) + 1);
    if (this.closing) response.setHeader("connection", "close");
    response.once("close", () => {
      const active = (this.h1Connections.get(socket) ?? 1) - 1;
      if (!this.h1Connections.has(socket)) return;
      this.h1Connections.set(socket, active);
      if (this.closing && active === 0) socket.end();
    });
  }

  private sniff(socket: net.Socket): void {
    let buffered: Buffer = Buffer.alloc(0);
    const timer = setTimeout(() => socket.destroy(), this.sniffTimeoutMs);
    const onError = () => {
      clearTimeout(timer);
      socket.destroy();
    };
    const onData = (chunk: Buffer) => {
      buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
      const n = Math.min(buffered.length, HTTP2_PREFACE.length);
      const looksLikeHttp2 = buffered.subarray(0, n).equals(HTTP2_PREFACE.subarray(0, n));
      if (looksLikeHttp2 && buffered.length < HTTP2_PREFACE.length) return; // partial preface: wait for more
      clearTimeout(timer);
      socket.off("data", onData);
      socket.off("error", onError);
      socket.pause();
      socket.unshift(buffered);
      if (looksLikeHttp2) {
        this.h2.emit("connection", socket);
      } else {
        this.h1Connections.set(socket, 0);
        socket.once("close", () => this.h1Connections.delete(socket));
        this.h1.emit("connection", socket);
        socket.resume();
      }
    };
    socket.on("error", onError);
    socket.on("data", onData);
  }
}
