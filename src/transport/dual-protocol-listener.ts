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
  /** Time a client has to send a whole request, per HTTP/1.1 request and HTTP/2 stream (default 30 s). */
  readonly requestTimeoutMs?: number;
  /** Largest request header block in bytes, 431 beyond it on both protocols (default 16 KiB, as Node's HTTP/1.1). */
  readonly maxHeaderBytes?: number;
  /** PEM certificate chain and key: serve TLS, where ALPN (not sniffing) picks HTTP/2 or HTTP/1.1 per connection. */
  readonly tls?: TlsServerSettings;
  /** Streams one HTTP/2 session may have open at once (SETTINGS_MAX_CONCURRENT_STREAMS; default 100). */
  readonly maxConcurrentStreams?: number;
  /** How long an HTTP/2 session closed for idleness may keep open streams before it is destroyed (default 10 s). */
  readonly closeGraceMs?: number;
  /** Open connections at most; further ones are closed at once (default unlimited). */
  readonly maxConnections?: number;
  /** Open connections per client address at most (default unlimited). */
  readonly maxConnectionsPerAddress?: number;
  /** What a peer counts as for the per-address cap (e.g. its IPv6 /64); undefined = uncapped (trusted proxies). */
  readonly addressKey?: (address: string) => string | undefined;
  /** Told about each connection closed at once because of a cap. */
  readonly onConnectionRefused?: (reason: ConnectionRefusal, address: string) => void;
}

/** Starts `server` listening on `host:port`; resolves with the bound port, rejects when it cannot bind. */
export function listenOn(server: net.Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve((server.address() as net.AddressInfo).port);
    });
  });
}

/** Certificate, key and the cipher policy of the TLS listener (src/server/tls-credentials.ts builds them). */
export type TlsServerSettings = Readonly<
  Required<Pick<tls.TlsOptions, "cert" | "key" | "ciphers" | "honorCipherOrder" | "minVersion">>
>;

/** Which cap closed a connection at once. */
export type ConnectionRefusal = "total" | "per_address";

/** Most header fields per HTTP/2 request before nghttp2 resets the stream (Node's HTTP/1.1 maxHeadersCount). */
const MAX_HTTP2_HEADER_PAIRS = 2000;
/** Per-field overhead in the HTTP/2 header list size (RFC 9113 section 6.5.2). */
const HTTP2_HEADER_FIELD_OVERHEAD = 32;
/**
 * nghttp2's memory per session in MB, beyond which new streams are refused: 100 streams of 16 KiB headers need under
 * 2, so 8 leaves room for answers queued to a slow reader (Node's default is 10).
 */
const HTTP2_SESSION_MEMORY_MB = 8;

/**
 * HTTP/1.1 and HTTP/2 on one port: cleartext connections go by their first bytes, since Node's `allowHTTP1` needs
 * TLS ALPN (reference/connect.md section 1); with `tls`, ALPN picks between the same two servers, so limits,
 * timeouts and shutdown behave alike.
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
  private readonly closeGraceMs: number;
  private readonly maxConnections: number;
  private readonly maxConnectionsPerAddress: number;
  private readonly addressKey: (address: string) => string | undefined;
  /** Open connections in total and per address key (see `admit`). */
  private openConnections = 0;
  private readonly connectionsPerAddress = new Map<string, number>();

  constructor(handler: RequestHandler, options: DualProtocolListenerOptions = {}) {
    this.sniffTimeoutMs = options.sniffTimeoutMs ?? 10_000;
    const idle = options.idleTimeoutMs ?? 60_000;
    this.requestTimeoutMs = options.requestTimeoutMs ?? 30_000;
    // Node refuses a headers timeout above the request timeout; the headers are part of the request anyway.
    const headersTimeout = Math.min(options.headersTimeoutMs ?? 15_000, this.requestTimeoutMs);
    this.maxHeaderBytes = options.maxHeaderBytes ?? 16 * 1024;
    this.closeGraceMs = options.closeGraceMs ?? 10_000;
    this.maxConnections = options.maxConnections ?? Infinity;
    this.maxConnectionsPerAddress = options.maxConnectionsPerAddress ?? Infinity;
    this.addressKey = options.addressKey ?? ((address) => address);
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
      {
        // Node advertises 2^32-1 streams by default: one session could hold thousands of calls open at once.
        settings: { maxHeaderListSize: this.maxHeaderBytes, maxConcurrentStreams: options.maxConcurrentStreams ?? 100 },
        maxHeaderListPairs: MAX_HTTP2_HEADER_PAIRS,
        maxSessionMemory: HTTP2_SESSION_MEMORY_MB,
      },
      (request, response) => this.limitHttp2(request, response, handler),
    );
    this.h2.on("session", (session) => {
      this.sessions.add(session);
      session.setTimeout(idle, () => this.closeSession(session));
      // Like HTTP/1.1's headers timeout for a new connection: a session must open its first stream in time, or
      // a client that sends the preface and then trickles (or nothing) would hold the socket until the idle timeout.
      const firstStream = setTimeout(() => this.closeSession(session), headersTimeout);
      session.once("stream", () => clearTimeout(firstStream));
      session.once("close", () => {
        clearTimeout(firstStream);
        this.sessions.delete(session);
      });
    });
    if (options.tls) {
      this.tcp = tls.createServer(
        { ...options.tls, ALPNProtocols: ["h2", "http/1.1"], handshakeTimeout: this.sniffTimeoutMs },
        (socket) => this.dispatchByAlpn(socket),
      );
      // Before the TLS server's own listener, so a connection over a cap costs no handshake.
      this.tcp.prependListener("connection", (socket: net.Socket) => {
        if (!this.admit(socket, options.onConnectionRefused)) socket.destroy();
      });
    } else {
      this.tcp = net.createServer((socket) => {
        if (this.admit(socket, options.onConnectionRefused)) this.sniff(socket);
        else socket.destroy();
      });
    }
  }

  /** Starts listening; resolves with the bound port. */
  listen(port: number, host: string): Promise<number> {
    return listenOn(this.tcp, port, host);
  }

  /** Stops accepting; HTTP/2 sessions get GOAWAY, idle HTTP/1.1 connections close now, busy ones after their answer. */
  stopAccepting(): Promise<void> {
    this.closing = true;
    const closed = new Promise<void>((resolve) => this.tcp.close(() => resolve()));
    for (const response of this.h1Responses) if (!response.headersSent) response.setHeader("connection", "close");
    // Plain close: shutdown has its own deadline (destroyAll), which may be longer than the close grace.
    for (const session of this.sessions) if (!session.closed) session.close();
    for (const [socket, active] of this.h1Connections) if (active === 0) socket.destroy();
    return closed;
  }

  /** Closes whatever is still open (after the shutdown deadline). */
  destroyAll(): void {
    for (const socket of this.h1Connections.keys()) socket.destroy();
    for (const session of this.sessions) session.destroy();
  }

  /**
   * GOAWAY, then destroy after `closeGraceMs`: `session.close()` alone waits for streams that never end (health
   * Watch), so an idle timeout would never free the connection.
   */
  private closeSession(session: http2.ServerHttp2Session): void {
    // Closed already: by an earlier call, whose timer runs, or by the client.
    if (session.destroyed || session.closed) return;
    session.close();
    const grace = setTimeout(() => session.destroy(), this.closeGraceMs);
    grace.unref();
    session.once("close", () => clearTimeout(grace));
  }

  /** Counts a new connection against the caps until its socket closes; false when it must be closed at once. */
  private admit(socket: net.Socket, onRefused: DualProtocolListenerOptions["onConnectionRefused"]): boolean {
    const address = socket.remoteAddress ?? "";
    const key = address === "" ? undefined : this.addressKey(address);
    const fromAddress = key === undefined ? 0 : (this.connectionsPerAddress.get(key) ?? 0);
    const refusal: ConnectionRefusal | undefined =
      this.openConnections >= this.maxConnections
        ? "total"
        : fromAddress >= this.maxConnectionsPerAddress
          ? "per_address"
          : undefined;
    if (refusal) {
      onRefused?.(refusal, address);
      return false;
    }
    this.openConnections++;
    if (key !== undefined) this.connectionsPerAddress.set(key, fromAddress + 1);
    socket.once("close", () => {
      this.openConnections--;
      if (key === undefined) return;
      const left = (this.connectionsPerAddress.get(key) ?? 1) - 1;
      if (left > 0) this.connectionsPerAddress.set(key, left);
      else this.connectionsPerAddress.delete(key);
    });
    return true;
  }

  /**
   * HTTP/2's header size and request timeout, which Node's HTTP/2 server lacks: nghttp2 does not enforce the
   * advertised header list size (so 431 here), and a stream is reset when its body is late.
   */
  private limitHttp2(
    request: http2.Http2ServerRequest,
    response: http2.Http2ServerResponse,
    handler: RequestHandler,
  ): void {
    let headerBytes = 0;
    const raw = request.rawHeaders;
    for (let i = 0; i + 1 < raw.length; i += 2)
      headerBytes += raw[i]!.length + raw[i + 1]!.length + HTTP2_HEADER_FIELD_OVERHEAD;
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

  /** Counts requests per HTTP/1.1 connection so shutdown can close it once idle; false when not to be handled. */
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
