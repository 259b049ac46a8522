import type { DescMethodUnary, DescService } from "@bufbuild/protobuf";
import { Code, ConnectError, type ConnectRouterOptions } from "@connectrpc/connect";
import {
  compressionNegotiate,
  createMethodSerializationLookup,
  validateUniversalHandlerOptions,
} from "@connectrpc/connect/protocol";
import {
  codeToHttpStatus,
  contentTypeUnaryJson,
  contentTypeUnaryProto,
  errorToJsonBytes,
  headerContentType,
  headerProtocolVersion,
  headerUnaryAcceptEncoding,
  headerUnaryContentLength,
  headerUnaryEncoding,
  parseContentType,
  parseTimeout,
  protocolVersion,
} from "@connectrpc/connect/protocol-connect";
import type { NodeRequest, NodeResponse } from "./node-handler.js";
import { readRequestBody } from "./request-body.js";
import { PlainHeaders } from "./plain-headers.js";
import { CALL_COMPLETE, createCallContext, invokeUnary, nodeHeadersOf, LiveCalls, unarySpecsOf, type CallAbort, type CallRequest, type UnaryMethodSpec } from "./unary-method.js";

/** A Connect unary answer, ready for the wire. */
export interface ConnectUnaryAnswer {
  readonly status: number;
  readonly header: Headers;
  readonly body: Uint8Array;
}

/** The Connect-protocol format of a POST, or undefined when it is not a Connect unary request. */
export function connectUnaryFormat(request: NodeRequest): { binary: boolean } | undefined {
  if (request.method !== "POST") return undefined;
  const type = parseContentType(request.headers["content-type"] ?? null);
  return type && !type.stream ? { binary: type.binary } : undefined;
}

/**
 * Serves one unary method over the Connect protocol (POST; JSON or binary) with connect's own building blocks
 * (handler context, interceptors, serialization, compression negotiation, error JSON, trailer-* headers), as
 * connect's Connect handler does, minus what it costs per call for generality: the request URL parsed for GET
 * query parameters, the body read through the stream's async iterator, the answer wrapped in an async iterable,
 * and a DOMException built by aborting the finished call's signal without a reason. GET requests (not used by
 * myphone's methods) stay with connect. test/api/unary-handlers.test.ts compares both on the wire.
 */
export class ConnectUnaryHandler {
  private readonly options: ReturnType<typeof validateUniversalHandlerOptions>;
  private readonly serialization: ReturnType<typeof createMethodSerializationLookup>;

  /** The URL path of the method, e.g. /zitadel.auth.v1.AuthService/SetMyPhone. */
  readonly requestPath: string;

  constructor(
    private readonly spec: UnaryMethodSpec,
    routerOptions: ConnectRouterOptions,
    private readonly live: LiveCalls,
  ) {
    this.options = validateUniversalHandlerOptions(routerOptions);
    this.serialization = createMethodSerializationLookup(spec.method, this.options.binaryOptions, this.options.jsonOptions, this.options);
    this.requestPath = `/${spec.method.parent.typeName}/${spec.method.name}`;
  }

  get method(): DescMethodUnary {
    return this.spec.method;
  }

  /** Answers the call and writes the answer with one `end()`. */
  async serve(nodeRequest: NodeRequest, request: CallRequest, response: NodeResponse, binary: boolean): Promise<void> {
    const hint = request.header.get("content-length");
    const answer = await this.answer(request, response, binary, (maxBytes, call) => readBody(nodeRequest, call, maxBytes, hint));
    if (response.destroyed) return;
    response.writeHead(answer.status, nodeHeadersOf(answer.header));
    response.end(answer.body);
  }

  /**
   * The answer to a request whose body `read` returns (given the most bytes it may be and the call's abort);
   * also used by REST. The protocol's headers (timeout, compression, version) are read from `request.header`.
   */
  async answer(
    request: CallRequest,
    response: NodeResponse,
    binary: boolean,
    read: (maxBytes: number, call: CallAbort) => Promise<Uint8Array>,
  ): Promise<ConnectUnaryAnswer> {
    const opt = this.options;
    const timeout = parseTimeout(request.header.get("connect-timeout-ms"), opt.maxTimeoutMs);
    const context = createCallContext({
      method: this.spec.method,
      protocolName: "connect",
      request,
      timeoutMs: timeout.timeoutMs,
      responseHeader: { [headerContentType]: binary ? contentTypeUnaryProto : contentTypeUnaryJson },
    });
    this.live.track(context, response);
    const compression = compressionNegotiate(opt.acceptCompression, request.header.get("content-encoding"), request.header.get("accept-encoding"), headerUnaryAcceptEncoding);
    let status = 200;
    let body: Uint8Array;
    try {
      if (opt.requireConnectProtocolHeader) requireProtocolVersionHeader(request.header.get("connect-protocol-version"));
      if (compression.error) throw compression.error;
      if (timeout.error) throw timeout.error;
      let bytes: Uint8Array = await read(opt.readMaxBytes, context);
      if (compression.request) bytes = await compression.request.decompress(bytes, opt.readMaxBytes);
      const input = this.serialization.getI(binary).parse(bytes);
      const output = await invokeUnary(this.spec, context, input, opt.interceptors);
      body = this.serialization.getO(binary).serialize(output);
      context.abort(CALL_COMPLETE);
    } catch (caught) {
      context.abort(caught);
      const error = caught instanceof ConnectError ? caught : new ConnectError("internal error", Code.Internal, undefined, undefined, caught);
      status = codeToHttpStatus(error.code);
      context.responseHeader.set(headerContentType, contentTypeUnaryJson);
      error.metadata.forEach((value, key) => context.responseHeader.set(key, value));
      body = errorToJsonBytes(error, opt.jsonOptions);
    }
    if (compression.response && body.byteLength >= opt.compressMinBytes) {
      body = await compression.response.compress(body);
      context.responseHeader.set(headerUnaryEncoding, compression.response.name);
    }
    // connect's trailerMux: a Connect unary answer carries its trailers as trailer-* headers.
    const header = new PlainHeaders(context.responseHeader);
    context.responseTrailer.forEach((value, key) => header.append(`trailer-${key}`, value));
    header.set(headerUnaryContentLength, body.byteLength.toString(10));
    return { status, header, body };
  }
}

/** A ConnectUnaryHandler per unary method of `implementation` (for the REST transcoder). */
export function connectUnaryHandlersOf(service: DescService, implementation: object, routerOptions: ConnectRouterOptions): ConnectUnaryHandler[] {
  const live = new LiveCalls(routerOptions.shutdownSignal);
  return unarySpecsOf(service, implementation as Record<string, unknown>).map((spec) => new ConnectUnaryHandler(spec, routerOptions, live));
}

/** The body with connect's checks of Content-Length and readMaxBytes, and its error messages. */
async function readBody(request: NodeRequest, call: CallAbort, readMaxBytes: number, lengthHint: string | null): Promise<Buffer> {
  const hint = lengthHint === null ? NaN : parseInt(lengthHint, 10);
  const hinted = Number.isSafeInteger(hint) && hint >= 0;
  if (hinted && hint > readMaxBytes) throw new ConnectError(`message size ${hint} is larger than configured readMaxBytes ${readMaxBytes}`, Code.ResourceExhausted);
  const limit = hinted ? hint : readMaxBytes;
  const bytes = await readRequestBody(request, call, limit, (start) =>
    hinted
      ? new ConnectError(`protocol error: promised ${hint} bytes, received ${start.length}`, Code.InvalidArgument)
      : new ConnectError(`message size is larger than configured readMaxBytes ${readMaxBytes}`, Code.ResourceExhausted),
  );
  if (hinted && bytes.length < hint) throw new ConnectError(`protocol error: promised ${hint} bytes, received ${bytes.length}`, Code.InvalidArgument);
  return bytes;
}

/** connect's check when the router requires the Connect-Protocol-Version header. */
function requireProtocolVersionHeader(version: string | null): void {
  if (version === null) throw new ConnectError(`missing required header: set ${headerProtocolVersion} to "${protocolVersion}"`, Code.InvalidArgument);
  if (version !== protocolVersion) throw new ConnectError(`${headerProtocolVersion} must be "${protocolVersion}": got "${version}"`, Code.InvalidArgument);
}
