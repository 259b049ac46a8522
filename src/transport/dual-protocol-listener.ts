import http from "node:http";
import http2 from "node:http2";
import net from "node:net";
import tls from "node:tls";

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
  /** Time a client has to send an HTTP/1.1 request's headers (default 15 s). */
  readonly headersTimeoutMs?: number;
  /** Time a client has to send a whole request, headers and body: per HTTP/1.1 request and per HTTP/2 stream (default 30 s). */
  readonly requestTimeoutMs?: number;
  /** Largest request header block in bytes: 431 beyond it on both protocols (default 16 KiB, Node's HTTP/1.1 default). */
  readonly maxHeaderBytes?: number;
  /** PEM certificate chain and key: serve TLS, where ALPN (not sniffing) picks HTTP/2 or HTTP/1.1 per connection. */
  readonly tls?: { readonly cert: Buffer; readonly key: Buffer };
}

/** Most header fields per HTTP/2 request before nghttp2 resets the stream (Node's HTTP/1.1 maxHeadersCount). */
const MAX_HTTP2_HEADER_PAIRS = 2000;
/** Per-field overhead in the HTTP/2 header list size (RFC 9113 section 6.5.2). */
const HTTP2_HEADER_FIELD_OVERHEAD = 32;

/**
 * One cleartext port for HTTP/1.1 and HTTP/2 (prior knowledge): the first bytes of each connection decide
 * whether it goes to the HTTP/2 server (gRPC, buf curl, grpc-js) or the HTTP/1.1 server (browsers, curl).
 * Node cannot do this itself: `allowHTTP1` only works with TLS ALPN (reference/connect.md section 1).
 * With `tls`, the same two servers sit behind a TLS server and the ALPN protocol picks one, so limits, timeouts
 * and shutdown behave the same with and without TLS.
 */
export class DualProtocolListener {
  private readonly tcp: net.Server;
  private readonly h1: http.Server;
  private readonly h2: http2.Http2Server;
  private readonly sessions = new Set<http2.ServerHttp2Session>();
  /** HTTP/1.1 connections and their requests in progress; the h1 server never listens, so it cannot track them. */
  private readonly h1Connections = new Map<net.Socket, number>();
  /** HTTP/1.1 answers in progress, so shutdown can tell their clients not to reuse the connection. */
  private readonly h1Responses = new Set<http.ServerResponse>();
  private closing = false;
  private readonly sniffTimeoutMs: number;
  private readonly requestTimeoutMs: number;
  private readonly maxHeaderBytes: number;

  constructor(handler: RequestHandler, options: DualProtocolListenerOptions = {}) {
    this.sniffTimeoutMs = options.sniffTimeoutMs ?? 10_000;
    const idle = options.idleTimeoutMs ?? 60_000;
    this.requestTimeoutMs = options.requestTimeoutMs ?? 30_000;
    // Node refuses a headers timeout above the request timeout; the headers are part of the request anyway.
    const headersTimeout = Math.min(options.headersTimeoutMs ?? 15_000, this.requestTimeoutMs);
    this.maxHeaderBytes = options.maxHeaderBytes ?? 16 * 1024;
    this.h1 = http.createServer({
      requestTimeout: this.requestTimeoutMs,
      headersTimeout,
      keepAliveTimeout: idle,
      maxHeaderSize: this.maxHeaderBytes,
      connectionsCheckingInterval: Math.min(1_000, headersTimeout),
    });
    // Node enforces headersTimeout and requestTimeout only from a server's "listening" event on; this one never
    // listens (connections are handed to it), so without this a slowloris client could hold a socket forever.
    this.h1.emit("listening");
    this.h1.on("request", (request: http.IncomingMessage, response: http.ServerResponse) => {
      if (this.trackHttp1(request, response)) handler(request, response);
    });
    this.h2 = http2.createServer(
      { settings: { maxHeaderListSize: this.maxHeaderBytes }, maxHeaderListPairs: MAX_HTTP2_HEADER_PAIRS },
      (request, response) => this.limitHttp2(request, response, handler),
    );
    this.h2.on("session", (session) => {
      this.sessions.add(session);
      session.setTimeout(idle, () => session.close());
      // Like HTTP/1.1's headers timeout for a new connection: a session must open its first stream in time, or
      // a client that sends the preface and then trickles (or nothing) would hold the socket until the idle timeout.
      const firstStream = setTimeout(() => session.close(), headersTimeout);
      session.once("stream", () => clearTimeout(firstStream));
      session.once("close", () => {
        clearTimeout(firstStream);
        this.sessions.delete(session);
      });
    });
    this.tcp = options.tls
      ? tls.createServer(
          { cert: options.tls.cert, key: options.tls.key, ALPNProtocols: ["h2", "http/1.1"], handshakeTimeout: this.sniffTimeoutMs },
          (socket) => this.dispatchByAlpn(socket),
        )
      : net.createServer((socket) => this.sniff(socket));
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
    for (const response of this.h1Responses) if (!response.headersSent) response.setHeader("connection", "close");
    for (const session of this.sessions) session.close();
    for (const [socket, active] of this.h1Connections) if (active === 0) socket.destroy();
    return closed;
  }

  /** Closes whatever is still open (after the shutdown deadline). */
  destroyAll(): void {
    for (const socket of this.h1Connections.keys()) socket.destroy();
    for (const session of this.sessions) session.destroy();
  }

  /**
   * HTTP/2 has no server-wide header size or request timeout like HTTP/1.1: the header list size advertised in
   * SETTINGS is not enforced by nghttp2, so it is checked here (431), and each stream gets `requestTimeoutMs`
   * to deliver its body before it is reset.
   */
  private limitHttp2(request: http2.Http2ServerRequest, response: http2.Http2ServerResponse, handler: RequestHandler): void {
    let headerBytes = 0;
    const raw = request.rawHeaders;
    for (let i = 0; i + 1 < raw.length; i += 2) headerBytes += raw[i]!.length + raw[i + 1]!.length + HTTP2_HEADER_FIELD_OVERHEAD;
    if (headerBytes > this.maxHeaderBytes) {
      response.writeHead(431, { "content-type": "text/plain; charset=utf-8" });
      response.end("request header fields too large\n");
      return;
    }
    if (!request.stream.endAfterHeaders) {
      const timer = setTimeout(() => {
        if (!request.readableEnded && !request.stream.destroyed) request.stream.close(http2.constants.NGHTTP2_CANCEL);
      }, this.requestTimeoutMs);
      request.once("end", () => clearTimeout(timer));
      response.once("close", () => clearTimeout(timer));
    }
    handler(request, response);
  }

  /**
   * Counts requests per HTTP/1.1 connection, so shutdown can close each connection once it is idle; false when
   * the request must not be handled.
   */
  private trackHttp1(request: http.IncomingMessage, response: http.ServerResponse): boolean {
    const socket = request.socket;
    // Read after this connection's last answer during shutdown (a keep-alive client reusing it): refused
    // unprocessed. Handling it could commit a call whose answer can no longer be sent.
    if (this.closing && socket.writableEnded) {
      socket.destroy();
      return false;
    }
    this.h1Responses.add(response);
    response.once("close", () => this.h1Responses.delete(response));
    this.h1Connections.set(socket, (this.h1Connections.get(socket) ?? 0) + 1);
    if (this.closing) response.setHeader("connection", "close");
    response.once("close", () => {
      const active = (this.h1Connections.get(socket) ?? 1) - 1;
      if (!this.h1Connections.has(socket)) return;
      this.h1Connections.set(socket, active);
      if (this.closing && active === 0) socket.end();
    });
    return true;
  }

  /** TLS: the client's ALPN choice decides; clients that offer no ALPN get HTTP/1.1. */
  private dispatchByAlpn(socket: tls.TLSSocket): void {
    if (socket.alpnProtocol === "h2") {
      this.h2.emit("connection", socket);
      return;
    }
    this.h1Connections.set(socket, 0);
    socket.once("close", () => this.h1Connections.delete(socket));
    this.h1.emit("connection", socket);
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
