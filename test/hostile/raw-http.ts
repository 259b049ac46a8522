import http from "node:http";
import http2 from "node:http2";
import net from "node:net";

/**
 * Clients for hostile-input tests that send exactly the bytes a test chooses: no protocol library in the way
 * validating or fixing up frames, headers or bodies. Every call is bounded in time and never rejects; what
 * happened (an answer, a reset stream, a closed connection) is in the result.
 */

export interface RawAnswer {
  /** HTTP status, when an answer arrived. */
  readonly status?: number;
  readonly headers: Record<string, string>;
  readonly trailers: Record<string, string>;
  readonly body: Buffer;
  /** HTTP/2 RST_STREAM code, when the stream was reset (0 = closed normally). */
  readonly rstCode?: number;
  /** A transport error (e.g. ECONNRESET) or "timeout". */
  readonly error?: string;
}

const DEFAULT_TIMEOUT_MS = 15_000;

function flatten(headers: http.IncomingHttpHeaders | http2.IncomingHttpHeaders): Record<string, string> {
  const result: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers))
    if (value !== undefined) result[name] = Array.isArray(value) ? value.join(", ") : String(value);
  return result;
}

/** An HTTP/1.1 answer as node gives it, read to the end. */
export interface ReadAnswer {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: Buffer;
  readonly trailers: NodeJS.Dict<string>;
}

/** Reads `response` to its end; unlike the clients below, rejects on a stream error. */
export function readAnswer(response: http.IncomingMessage): Promise<ReadAnswer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    response.on("data", (chunk: Buffer) => chunks.push(chunk));
    response.on("end", () =>
      resolve({
        status: response.statusCode ?? 0,
        headers: response.headers,
        body: Buffer.concat(chunks),
        trailers: response.trailers,
      }),
    );
    response.on("error", reject);
  });
}

/** One request on a fresh HTTP/2 (prior knowledge) session; `body` chunks are written as given. */
export function h2Request(
  baseUrl: string,
  headers: http2.OutgoingHttpHeaders,
  body: readonly (Buffer | string)[] = [],
  options: { gapMs?: number; timeoutMs?: number; endStream?: boolean } = {},
): Promise<RawAnswer> {
  return new Promise((resolve) => {
    const session = http2.connect(baseUrl, { maxHeaderListPairs: 100_000, maxSessionMemory: 64 });
    session.on("error", () => undefined);
    const stream = session.request({ ":method": "POST", ...headers }, { endStream: false });
    let status: number | undefined;
    let answerHeaders: Record<string, string> = {};
    let trailers: Record<string, string> = {};
    const chunks: Buffer[] = [];
    let error: string | undefined;
    const timer = setTimeout(() => {
      error = "timeout";
      stream.close(http2.constants.NGHTTP2_CANCEL);
    }, options.timeoutMs ?? DEFAULT_TIMEOUT_MS);
    stream.on("response", (h) => {
      status = Number(h[":status"]);
      answerHeaders = flatten(h);
    });
    stream.on("trailers", (t) => (trailers = flatten(t)));
    stream.on("data", (chunk: Buffer) => chunks.push(chunk));
    stream.on("error", (e: NodeJS.ErrnoException) => (error ??= e.code ?? e.message));
    let settled = false;
    const settle = () => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      const rstCode = stream.rstCode;
      session.destroy();
      resolve({ status, headers: answerHeaders, trailers, body: Buffer.concat(chunks), rstCode, error });
    };
    // A complete answer ends the exchange even while the server has stopped reading an unwanted body (as real
    // clients do: they cancel the rest of the upload once the status is in).
    stream.on("end", settle);
    stream.on("close", settle);
    void (async () => {
      for (const chunk of pieces(body)) {
        if (stream.destroyed || stream.closed) return;
        if (!stream.write(chunk)) await drainOrClose(stream);
        if (options.gapMs) await new Promise((r) => setTimeout(r, options.gapMs));
      }
      if (options.endStream !== false && !stream.destroyed) stream.end();
    })();
  });
}

/** Resolves when a writable can take more, or is gone; leaves no listener behind. */
function drainOrClose(writable: NodeJS.EventEmitter): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      writable.off("drain", done);
      writable.off("close", done);
      resolve();
    };
    writable.on("drain", done);
    writable.on("close", done);
  });
}

/** Large buffers as 64 KiB pieces, so writing waits for flow control instead of buffering megabytes in the client. */
function* pieces(body: readonly (Buffer | string)[]): Generator<Buffer | string> {
  const size = 64 * 1024;
  for (const chunk of body) {
    if (typeof chunk === "string" || chunk.length <= size) yield chunk;
    else for (let at = 0; at < chunk.length; at += size) yield chunk.subarray(at, at + size);
  }
}

/** One HTTP/1.1 request on a fresh connection; a body given as several chunks without content-length goes chunked. */
export function h1Request(
  baseUrl: string,
  request: {
    method?: string;
    path: string;
    headers?: http.OutgoingHttpHeaders;
    body?: readonly (Buffer | string)[];
    timeoutMs?: number;
  },
): Promise<RawAnswer> {
  return new Promise((resolve) => {
    const url = new URL(baseUrl);
    let settled = false;
    const done = (answer: RawAnswer) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(answer);
    };
    const outgoing = http.request(
      {
        host: url.hostname,
        port: url.port,
        method: request.method ?? "POST",
        path: request.path,
        headers: request.headers,
        agent: false,
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on("data", (chunk: Buffer) => chunks.push(chunk));
        response.on("end", () =>
          done({
            status: response.statusCode,
            headers: flatten(response.headers),
            trailers: flatten(response.trailers),
            body: Buffer.concat(chunks),
          }),
        );
        response.on("error", (e: NodeJS.ErrnoException) =>
          done({ status: response.statusCode, headers: {}, trailers: {}, body: Buffer.alloc(0), error: e.code }),
        );
      },
    );
    const timer = setTimeout(() => {
      outgoing.destroy();
      done({ headers: {}, trailers: {}, body: Buffer.alloc(0), error: "timeout" });
    }, request.timeoutMs ?? DEFAULT_TIMEOUT_MS);
    outgoing.on("error", (e: NodeJS.ErrnoException) =>
      done({ headers: {}, trailers: {}, body: Buffer.alloc(0), error: e.code ?? e.message }),
    );
    void (async () => {
      for (const chunk of pieces(request.body ?? [])) {
        if (outgoing.destroyed) return;
        if (!outgoing.write(chunk)) await drainOrClose(outgoing);
      }
      outgoing.end();
    })();
  });
}

export interface TcpOutcome {
  readonly received: Buffer;
  /** The server closed (or reset) the connection before the time limit. */
  readonly closedByServer: boolean;
}

/** Writes `chunks` to a raw TCP connection (with `gapMs` between them) and reports what came back. */
export function rawTcp(
  port: number,
  chunks: readonly (Buffer | string)[],
  options: { gapMs?: number; maxMs?: number } = {},
): Promise<TcpOutcome> {
  return new Promise((resolve) => {
    const socket = net.connect(port, "127.0.0.1");
    const received: Buffer[] = [];
    let closedByServer = true;
    const timer = setTimeout(() => {
      closedByServer = false;
      socket.destroy();
    }, options.maxMs ?? DEFAULT_TIMEOUT_MS);
    socket.on("data", (chunk: Buffer) => received.push(chunk));
    socket.on("error", () => undefined);
    socket.on("close", () => {
      clearTimeout(timer);
      resolve({ received: Buffer.concat(received), closedByServer });
    });
    void (async () => {
      for (const chunk of chunks) {
        if (socket.destroyed) return;
        socket.write(chunk);
        if (options.gapMs) await new Promise((r) => setTimeout(r, options.gapMs));
      }
    })();
  });
}

/** A gRPC length-prefixed message: flags byte, 4-byte big-endian length (as declared, true or not), payload. */
export function grpcFrame(payload: Uint8Array, declaredLength = payload.length, flags = 0): Buffer {
  const header = Buffer.alloc(5);
  header.writeUInt8(flags, 0);
  header.writeUInt32BE(declaredLength >>> 0, 1);
  return Buffer.concat([header, payload]);
}

/** The grpc-status of a gRPC answer (trailers, or headers for trailers-only answers). */
export function grpcStatus(answer: RawAnswer): number | undefined {
  const value = answer.trailers["grpc-status"] ?? answer.headers["grpc-status"];
  return value === undefined ? undefined : Number(value);
}

/** The grpc-status of a gRPC-Web answer: from its headers, or from the trailer frame (flag 0x80) in the body. */
export function grpcWebStatus(answer: RawAnswer): number | undefined {
  if (answer.headers["grpc-status"] !== undefined) return Number(answer.headers["grpc-status"]);
  let offset = 0;
  while (offset + 5 <= answer.body.length) {
    const flags = answer.body[offset]!;
    const length = answer.body.readUInt32BE(offset + 1);
    const frame = answer.body.subarray(offset + 5, offset + 5 + length);
    if (flags & 0x80) {
      const match = /grpc-status:\s*(\d+)/i.exec(frame.toString("latin1"));
      return match ? Number(match[1]) : undefined;
    }
    offset += 5 + length;
  }
  return undefined;
}

/** Stack frames and source paths: what an answer must never show (SPEC 7). */
export const INTERNALS =
  /\n\s+at |\bat (?:async )?[\w$.<>]+ \(|\bat (?:async )?(?:\/|file:|node:)|node:internal|node_modules|\.[cm]?[jt]s:\d+/;

/** Everything a client can see of an answer, with percent-encoding (grpc-message) undone. */
export function visibleText(answer: RawAnswer): string {
  const text = `${answer.status ?? ""} ${JSON.stringify(answer.headers)} ${JSON.stringify(answer.trailers)} ${answer.body.toString("utf8")}`;
  return text.replace(/%([0-9A-Fa-f]{2})/g, (_match, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}

/** What an HTTP/2 server answered to streams opened by `rawHttp2Streams`. */
export interface RawHttp2Outcome {
  /** Streams reset by the server, by RST_STREAM error code (7 = REFUSED_STREAM). */
  readonly resetByCode: ReadonlyMap<number, number>;
  /** Streams that got response HEADERS. */
  readonly answered: number;
  /** GOAWAY's error code, when the server sent one. */
  readonly goaway?: number;
}

/** An HTTP/2 frame: 9-byte header (length, type, flags, stream id) and payload (RFC 9113 section 4.1). */
function http2Frame(type: number, flags: number, streamId: number, payload: Buffer): Buffer {
  const header = Buffer.alloc(9);
  header.writeUIntBE(payload.length, 0, 3);
  header[3] = type;
  header[4] = flags;
  header.writeUInt32BE(streamId, 5);
  return Buffer.concat([header, payload]);
}

/** A header block of literal fields without indexing and without Huffman coding (RFC 7541 section 6.2.2); names and values under 127 bytes. */
function literalHeaderBlock(headers: ReadonlyArray<readonly [string, string]>): Buffer {
  return Buffer.concat(
    headers.map(([name, value]) =>
      Buffer.concat([
        Buffer.from([0, name.length]),
        Buffer.from(name),
        Buffer.from([value.length]),
        Buffer.from(value),
      ]),
    ),
  );
}

/**
 * An HTTP/2 client that ignores the server's SETTINGS_MAX_CONCURRENT_STREAMS, as an attacker would: sends the
 * preface and `count` HEADERS frames at once (streams 1, 3, 5, …; END_HEADERS, no END_STREAM, so each stays open),
 * then listens until `enough` holds or `listenMs` have passed, and reports what the server did to them.
 */
export function rawHttp2Streams(
  port: number,
  count: number,
  headers: ReadonlyArray<readonly [string, string]>,
  options: { listenMs: number; enough?: (outcome: RawHttp2Outcome) => boolean },
): Promise<RawHttp2Outcome> {
  return new Promise((resolve) => {
    const socket = net.connect(port, "127.0.0.1");
    const block = literalHeaderBlock(headers);
    const frames = [Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"), http2Frame(4, 0, 0, Buffer.alloc(0))];
    for (let i = 0; i < count; i++) frames.push(http2Frame(1, 0x4, 1 + 2 * i, block));
    socket.write(Buffer.concat(frames));
    const resetByCode = new Map<number, number>();
    let answered = 0;
    let goaway: number | undefined;
    let pending = Buffer.alloc(0);
    const finish = () => {
      clearTimeout(timer);
      socket.destroy();
      resolve({ resetByCode, answered, goaway });
    };
    const timer = setTimeout(finish, options.listenMs);
    socket.on("data", (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      while (pending.length >= 9) {
        const length = pending.readUIntBE(0, 3);
        if (pending.length < 9 + length) break;
        const [type, flags] = [pending[3]!, pending[4]!];
        const payload = pending.subarray(9, 9 + length);
        if (type === 3) resetByCode.set(payload.readUInt32BE(0), (resetByCode.get(payload.readUInt32BE(0)) ?? 0) + 1);
        else if (type === 1) answered++;
        else if (type === 7) goaway = payload.readUInt32BE(4);
        else if (type === 4 && !(flags & 0x1)) socket.write(http2Frame(4, 0x1, 0, Buffer.alloc(0))); // SETTINGS ACK
        pending = pending.subarray(9 + length);
      }
      if (options.enough?.({ resetByCode, answered, goaway })) finish();
    });
    socket.on("error", () => undefined);
  });
}
