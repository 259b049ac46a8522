import { Code, ConnectError, type ConnectRouterOptions } from "@connectrpc/connect";
import {
  compressionNegotiate,
  createMethodSerializationLookup,
  encodeEnvelope,
  envelopeCompress,
  envelopeDecompress,
  validateUniversalHandlerOptions,
} from "@connectrpc/connect/protocol";
import {
  contentTypeProto,
  grpcStatusOk,
  headerAcceptEncoding,
  headerContentType,
  headerEncoding,
  headerGrpcStatus,
  parseTimeout,
  setTrailerStatus,
} from "@connectrpc/connect/protocol-grpc";
import type { NodeRequest, NodeResponse } from "./node-handler.js";
import { readRequestBody } from "./request-body.js";
import { CALL_COMPLETE, createCallContext, invokeUnary, nodeHeadersOf, type CallRequest, type LiveCalls, type UnaryMethodSpec } from "./unary-method.js";

/** True when this request is binary gRPC over HTTP/2, the only form `GrpcUnaryHandler` serves. */
export function isBinaryGrpc(request: NodeRequest): boolean {
  if (request.httpVersionMajor !== 2 || request.method !== "POST") return false;
  const type = request.headers["content-type"];
  return type === "application/grpc" || type === "application/grpc+proto";
}

/**
 * Serves one unary method over binary gRPC with connect's own building blocks (handler context, interceptors,
 * serialization, compression negotiation, trailer status), but without its streaming pipeline: connect's gRPC
 * handler pushes even a unary call through a chain of async generators (split, decompress, parse, invoke,
 * serialize, compress, join), several promises and objects per stage. Here the body is read whole, the single
 * envelope is checked and decoded, the implementation runs behind the same interceptors, and the answer is
 * written with one `end()`. Errors become the same trailers connect writes (grpc-status, grpc-message,
 * grpc-status-details-bin), and the protocol errors carry connect's codes and messages.
 * test/api/unary-handlers.test.ts compares both paths byte for byte on the wire.
 */
export class GrpcUnaryHandler {
  private readonly options: ReturnType<typeof validateUniversalHandlerOptions>;
  private readonly input: { parse(data: Uint8Array): unknown };
  private readonly output: { serialize(message: unknown): Uint8Array };

  constructor(
    private readonly spec: UnaryMethodSpec,
    routerOptions: ConnectRouterOptions,
    private readonly live: LiveCalls,
  ) {
    this.options = validateUniversalHandlerOptions(routerOptions);
    const serialization = createMethodSerializationLookup(spec.method, this.options.binaryOptions, this.options.jsonOptions, this.options);
    this.input = serialization.getI(true);
    this.output = serialization.getO(true) as { serialize(message: unknown): Uint8Array };
  }

  /** Answers the call, reading the body from the Node request. */
  async serve(nodeRequest: NodeRequest, request: CallRequest, response: NodeResponse): Promise<void> {
    const opt = this.options;
    const timeout = parseTimeout(request.header.get("grpc-timeout"), opt.maxTimeoutMs);
    const context = createCallContext({
      method: this.spec.method,
      protocolName: "grpc",
      request,
      timeoutMs: timeout.timeoutMs,
      responseHeader: { [headerContentType]: contentTypeProto },
      responseTrailer: { [headerGrpcStatus]: grpcStatusOk },
    });
    this.live.track(context, response);
    const compression = compressionNegotiate(opt.acceptCompression, request.header.get("grpc-encoding"), request.header.get("grpc-accept-encoding"), headerAcceptEncoding);
    if (compression.response) context.responseHeader.set(headerEncoding, compression.response.name);
    let body: Uint8Array | undefined;
    try {
      if (compression.error) throw compression.error;
      if (timeout.error) throw timeout.error;
      // One envelope: 5 header bytes and at most readMaxBytes of message; more is refused without reading on.
      const bytes = await readRequestBody(nodeRequest, context, opt.readMaxBytes + 5, (start) => tooLong(start, opt.readMaxBytes));
      const envelope = await envelopeDecompress(singleEnvelope(bytes, opt.readMaxBytes), compression.request, opt.readMaxBytes);
      const input = this.input.parse(envelope.data);
      const output = await invokeUnary(this.spec, context, input, opt.interceptors);
      let answer = { flags: 0, data: this.output.serialize(output) };
      if (compression.response) answer = await envelopeCompress(answer, compression.response, opt.compressMinBytes);
      body = encodeEnvelope(answer.flags, answer.data);
      context.abort(CALL_COMPLETE);
    } catch (error) {
      context.abort(error);
      setTrailerStatus(context.responseTrailer, error instanceof ConnectError ? error : new ConnectError("internal error", Code.Internal, undefined, undefined, error));
    }
    if (response.destroyed) return;
    response.writeHead(200, nodeHeadersOf(context.responseHeader));
    response.addTrailers(nodeHeadersOf(context.responseTrailer));
    if (body) response.end(body);
    else response.end();
  }
}

/** connect's error for a body longer than one envelope of readMaxBytes: the first message is too large, or a second follows. */
function tooLong(start: Buffer, readMaxBytes: number): ConnectError {
  const length = start.readUInt32BE(1);
  if (length > readMaxBytes) return new ConnectError(`message size ${length} is larger than configured readMaxBytes ${readMaxBytes}`, Code.ResourceExhausted);
  return new ConnectError("protocol error: received extra input message for unary method", Code.Unimplemented);
}

/** The one enveloped message of a unary request, with the errors connect raises for any other body. */
function singleEnvelope(bytes: Buffer, readMaxBytes: number): { flags: number; data: Uint8Array } {
  if (bytes.length === 0) throw new ConnectError("protocol error: missing input message for unary method", Code.Unimplemented);
  if (bytes.length < 5) throw new ConnectError("protocol error: incomplete envelope", Code.InvalidArgument);
  const length = bytes.readUInt32BE(1);
  if (length > readMaxBytes) throw new ConnectError(`message size ${length} is larger than configured readMaxBytes ${readMaxBytes}`, Code.ResourceExhausted);
  const end = 5 + length;
  if (bytes.length < end) throw new ConnectError("protocol error: incomplete envelope", Code.InvalidArgument);
  if (bytes.length > end) {
    const rest = bytes.subarray(end);
    const complete = rest.length >= 5 && rest.length >= 5 + rest.readUInt32BE(1);
    if (complete) throw new ConnectError("protocol error: received extra input message for unary method", Code.Unimplemented);
    throw new ConnectError("protocol error: incomplete envelope", Code.InvalidArgument);
  }
  return { flags: bytes[0]!, data: bytes.subarray(5, end) };
}
