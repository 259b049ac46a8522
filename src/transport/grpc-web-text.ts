import { Code, ConnectError, type ContextValues } from "@connectrpc/connect";
import { universalRequestFromNodeRequest, universalResponseToNodeResponse } from "@connectrpc/connect-node";
import type { NodeRequest, NodeResponse } from "./node-handler.js";
import type { RpcHandler } from "./rpc-transport.js";

/**
 * gRPC-Web's text mode (grpc/grpc doc/PROTOCOL-WEB.md): the same frames as binary gRPC-Web, base64-encoded in both
 * directions. connect serves binary gRPC-Web only, so this shim turns a text request into a binary one for the
 * method's own connect handler (same router, interceptors, limits and errors) and encodes its answer back.
 */

/** The text content types served: what Google's grpc-web client sends in its default mode, and the `+proto` form. */
export const GRPC_WEB_TEXT_CONTENT_TYPES = ["application/grpc-web-text", "application/grpc-web-text+proto"] as const;
const TEXT_REQUEST = /^application\/grpc-web-text(?:\+proto)?$/i;
/** A binary request asks for a text answer with this Accept (PROTOCOL-WEB, "Text-encoded (response) streams"). */
const TEXT_ACCEPTED = /(?:^|,)\s*application\/grpc-web-text(?:\+proto)?\s*(?:;[^,]*)?(?:,|$)/i;
const BINARY_REQUEST = /^application\/grpc-web(?:\+proto)?$/i;
/** What the answer says it is: the text form of connect's `application/grpc-web+proto`. */
const TEXT_ANSWER_CONTENT_TYPE = "application/grpc-web-text+proto";
const BINARY_CONTENT_TYPE = "application/grpc-web+proto";

/** Which parts of an exchange are base64: a text request, or a binary one asking for a text answer. */
export type GrpcWebTextMode = "text" | "text-answer";

/** Whether `request` wants gRPC-Web text handling, and which; undefined for everything else. */
export function grpcWebTextMode(contentType: string, accept: string | undefined): GrpcWebTextMode | undefined {
  if (TEXT_REQUEST.test(contentType)) return "text";
  if (accept !== undefined && BINARY_REQUEST.test(contentType) && TEXT_ACCEPTED.test(accept)) return "text-answer";
  return undefined;
}

/** True for content types that claim to be gRPC-Web text, served or not (`application/grpc-web-text+json` is not). */
export function isGrpcWebTextType(contentType: string): boolean {
  return contentType.toLowerCase().startsWith("application/grpc-web-text");
}

/**
 * Serves one gRPC-Web text call with its method's connect handler, like connect-node's adapter; both directions are
 * en- or decoded chunk by chunk, so streaming methods stream.
 */
export function serveGrpcWebText(
  rpc: RpcHandler,
  mode: GrpcWebTextMode,
  request: NodeRequest,
  response: NodeResponse,
  contextValues: ContextValues | undefined,
): void {
  const universal = universalRequestFromNodeRequest(request, response, undefined, contextValues);
  // The header object is the request's own copy (connect-node builds it per request).
  universal.header.set("content-type", BINARY_CONTENT_TYPE);
  universal.header.delete("content-length");
  const body = mode === "text" ? base64Decoded(universal.body as AsyncIterable<Uint8Array>) : universal.body;
  rpc({ ...universal, body })
    .then((answer) => universalResponseToNodeResponse(textAnswer(answer), response))
    .catch((reason: unknown) => {
      // As connect-node's adapter: a client that went away is no failure of ours.
      if (ConnectError.from(reason).code === Code.Aborted) return;
      console.error(`handler for rpc ${rpc.method.name} of ${rpc.service.typeName} failed (gRPC-Web text)`, reason);
    });
}

type UniversalAnswer = Awaited<ReturnType<RpcHandler>>;

/** The text form of connect's gRPC-Web answer; answers that are no gRPC-Web call (405, 505, …) pass unchanged. */
function textAnswer(answer: UniversalAnswer): UniversalAnswer {
  const header = answer.header;
  if (header === undefined || answer.body === undefined || header.get("content-type") !== BINARY_CONTENT_TYPE)
    return answer;
  header.set("content-type", TEXT_ANSWER_CONTENT_TYPE);
  header.delete("content-length");
  return { ...answer, body: base64Encoded(answer.body) };
}

/** Each chunk base64 on its own, padded: PROTOCOL-WEB lets a server pad wherever it flushes. */
function base64Encoded(chunks: AsyncIterable<Uint8Array>): AsyncIterable<Uint8Array> {
  return mapChunks(chunks, (chunk) => Buffer.from(bufferOf(chunk).toString("base64"), "latin1"));
}

/** The decoded bytes of a base64 body that may carry padding inside (one padded group per flush of the client). */
function base64Decoded(chunks: AsyncIterable<Uint8Array>): AsyncIterable<Uint8Array> {
  const decoder = new Base64StreamDecoder();
  return mapChunks(
    chunks,
    (chunk) => decoder.push(chunk),
    () => decoder.end(),
  );
}

/**
 * `chunks` mapped (empty results skipped), `end` called after the last; `return` and `throw` reach the source, as in
 * connect's pipeline. A plain iterator: one promise per chunk instead of an async generator's queue.
 */
function mapChunks(
  chunks: AsyncIterable<Uint8Array>,
  map: (chunk: Uint8Array) => Uint8Array,
  end?: () => void,
): AsyncIterable<Uint8Array> {
  return {
    [Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
      const source = chunks[Symbol.asyncIterator]();
      const next = async (): Promise<IteratorResult<Uint8Array>> => {
        for (;;) {
          const result = await source.next();
          if (result.done === true) {
            end?.();
            return result;
          }
          const mapped = map(result.value);
          if (mapped.length > 0) return { done: false, value: mapped };
        }
      };
      return {
        next,
        return: async (value?: unknown) => (await source.return?.(value)) ?? { done: true, value: undefined },
        throw: async (error?: unknown) => {
          if (source.throw === undefined) throw error;
          return source.throw(error);
        },
      };
    },
  };
}

/** Groups of four base64 characters, the last two or one of which may be padding. */
const BASE64_GROUPS = /^(?:[A-Za-z0-9+/]{4}|[A-Za-z0-9+/]{3}=|[A-Za-z0-9+/]{2}==)*$/;

/**
 * Decodes base64 arriving in arbitrary pieces, where padding may end any four-character group. Anything malformed
 * is InvalidArgument, as connect answers a broken binary frame.
 */
export class Base64StreamDecoder {
  /** Up to three characters of a group not yet complete. */
  private pending = "";

  /** The bytes of every complete group in `pending` + `chunk`. */
  push(chunk: Uint8Array): Buffer {
    const text = this.pending + bufferOf(chunk).toString("latin1");
    const complete = text.length - (text.length % 4);
    this.pending = text.slice(complete);
    const groups = text.slice(0, complete);
    if (!BASE64_GROUPS.test(groups)) throw malformed();
    // Node's decoder stops at the first padding, so runs that end in padding are decoded one by one.
    let padding = groups.indexOf("=");
    if (padding < 0) return Buffer.from(groups, "base64");
    const runs: Buffer[] = [];
    let start = 0;
    while (padding >= 0) {
      const end = (Math.floor(padding / 4) + 1) * 4;
      runs.push(Buffer.from(groups.slice(start, end), "base64"));
      start = end;
      padding = groups.indexOf("=", start);
    }
    runs.push(Buffer.from(groups.slice(start), "base64"));
    return Buffer.concat(runs);
  }

  /** Checks that the body ended on a group boundary. */
  end(): void {
    if (this.pending.length > 0) throw malformed();
  }
}

function malformed(): ConnectError {
  return new ConnectError("malformed base64 in the gRPC-Web text request body", Code.InvalidArgument);
}

function bufferOf(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
