import { randomUUID } from "node:crypto";
import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import { ErrorDetailSchema } from "../../gen/zitadel/message_pb.js";
import { callerKey } from "../api/caller-context.js";
import { Errors } from "../domain/errors.js";
import type { Logger } from "../logger.js";
import { restCallKey } from "../transport/rest-transcoder.js";
import type { RpcProtocol, ServerMetrics } from "./metrics.js";

/** Refusals by an abuse limit that do not answer ResourceExhausted (every ResourceExhausted answer is one). */
const ABUSE_REFUSALS_WITH_OTHER_CODES = new Set<string>([
  Errors.codeAttemptsExhausted.id,
  Errors.phoneCountryNotAllowed.id,
  Errors.phoneTypeNotAllowed.id,
]);

/**
 * One access log line and the metrics per answered RPC. Must be the outermost interceptor, to see the code the
 * caller gets and the user the auth interceptor found.
 */
export function rpcTelemetryInterceptor(
  logger: Logger,
  metrics: ServerMetrics,
  apiServices: readonly string[],
): Interceptor {
  const loggedAtInfo = new Set(apiServices);
  return (next) => async (request) => {
    const started = process.hrtime.bigint();
    const rpc = `${request.service.typeName}/${request.method.name}`;
    const protocol: RpcProtocol = request.contextValues.get(restCallKey)
      ? "rest"
      : protocolOf(request.header.get("content-type"));
    // A field of the line rather than a child logger: a child per call costs more than the line itself.
    const requestId = request.header.get("x-request-id") ?? randomUUID();
    // Health probes and reflection come often and say little; they log at debug, the API's calls at info.
    const level = loggedAtInfo.has(request.service.typeName) ? "info" : "debug";

    let finished = false;
    const finish = (error: unknown) => {
      if (finished) return;
      finished = true;
      const durationSeconds = Number(process.hrtime.bigint() - started) / 1e9;
      const connectError = error === undefined ? undefined : ConnectError.from(error);
      const code = connectError ? codeName(connectError.code) : "ok";
      const errorId = connectError?.findDetails(ErrorDetailSchema)[0]?.id;
      metrics.recordRpc({ rpc, protocol, code, durationSeconds });
      if (
        errorId !== undefined &&
        (connectError?.code === Code.ResourceExhausted || ABUSE_REFUSALS_WITH_OTHER_CODES.has(errorId))
      ) {
        metrics.recordAbuseRefusal(errorId);
      }
      logger[level](
        {
          requestId,
          rpc,
          protocol,
          // Not "code": that name is redacted everywhere, because verification codes must never reach the logs.
          status: code,
          ...(errorId !== undefined && { errorId }),
          userId: request.contextValues.get(callerKey)?.userId,
          durationMs: Math.round(durationSeconds * 10_000) / 10,
        },
        "rpc",
      );
    };

    try {
      const response = await next(request);
      if (!response.stream) {
        finish(undefined);
        return response;
      }
      return { ...response, message: observeStream(response.message, finish) };
    } catch (error) {
      finish(error);
      throw error;
    }
  };
}

/** Passes a response stream through, calling `finish` once it ends: normally, with an error, or abandoned. */
async function* observeStream<T>(messages: AsyncIterable<T>, finish: (error: unknown) => void): AsyncGenerator<T> {
  try {
    yield* messages;
    finish(undefined);
  } catch (error) {
    finish(error);
    throw error;
  } finally {
    finish(new ConnectError("stream abandoned", Code.Canceled));
  }
}

/** The Connect protocol a request uses, from its content type (gRPC-Web's types start like gRPC's). */
function protocolOf(contentType: string | null): RpcProtocol {
  const type = (contentType ?? "").toLowerCase();
  if (type.startsWith("application/grpc-web")) return "grpc-web";
  if (type.startsWith("application/grpc")) return "grpc";
  return "connect";
}

/** A code's name as the Connect protocol writes it: Code.NotFound → "not_found". */
function codeName(code: Code): string {
  return Code[code].replace(/[A-Z]/g, (letter, index: number) => (index > 0 ? "_" : "") + letter.toLowerCase());
}
