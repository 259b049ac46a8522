import { create, toJson, createRegistry, fromBinary, type JsonObject, type JsonValue } from "@bufbuild/protobuf";
import { anyPack } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, type Interceptor, type StreamRequest, type UnaryRequest } from "@connectrpc/connect";
import { RetryInfoSchema } from "../../gen/google/rpc/error_details_pb.js";
import { StatusSchema } from "../../gen/google/rpc/status_pb.js";
import { ErrorDetailSchema } from "../../gen/zitadel/message_pb.js";
import { errorMessage } from "../domain/error-messages.js";
import { DomainError, Errors, type ErrorKind } from "../domain/errors.js";

/**
 * The one place where errors become wire errors: domain kind → gRPC code, gRPC code → REST HTTP status, and the
 * details every domain error carries (zitadel.v1.ErrorDetail, plus google.rpc.RetryInfo when retrying helps).
 */

const CODE_OF_KIND: Record<ErrorKind, Code> = {
  InvalidArgument: Code.InvalidArgument,
  FailedPrecondition: Code.FailedPrecondition,
  NotFound: Code.NotFound,
  PermissionDenied: Code.PermissionDenied,
  Unauthenticated: Code.Unauthenticated,
  ResourceExhausted: Code.ResourceExhausted,
  Unavailable: Code.Unavailable,
  Internal: Code.Internal,
};

/** grpc-gateway's runtime.HTTPStatusFromCode, as SPEC section 7 lists it. */
const HTTP_STATUS_OF_CODE: Partial<Record<Code, number>> = {
  [Code.InvalidArgument]: 400,
  [Code.FailedPrecondition]: 400,
  [Code.OutOfRange]: 400,
  [Code.Unauthenticated]: 401,
  [Code.PermissionDenied]: 403,
  [Code.NotFound]: 404,
  [Code.AlreadyExists]: 409,
  [Code.Aborted]: 409,
  [Code.ResourceExhausted]: 429,
  [Code.Canceled]: 499,
  [Code.Unimplemented]: 501,
  [Code.Unavailable]: 503,
  [Code.DeadlineExceeded]: 504,
};

/** HTTP status of a REST error answer. */
export function httpStatusOfCode(code: Code): number {
  return HTTP_STATUS_OF_CODE[code] ?? 500;
}

/** Registry for packing/unpacking the details we send. */
export const errorDetailRegistry = createRegistry(ErrorDetailSchema, RetryInfoSchema);

/**
 * A domain error on the wire: "<message> (<id>)" with an ErrorDetail, `message` in the caller's language. Without an
 * id (ZITADEL's "auth header missing") it goes out bare, as ZITADEL sends it.
 */
export function toConnectError(error: DomainError, message = error.message): ConnectError {
  if (error.id === "") return new ConnectError(message, CODE_OF_KIND[error.kind], undefined, undefined, error);
  const details: NonNullable<ConstructorParameters<typeof ConnectError>[3]> = [
    { desc: ErrorDetailSchema, value: { id: error.id, message } },
  ];
  const metadata = new Headers();
  if (error.retryAfterSeconds !== undefined) {
    details.push({
      desc: RetryInfoSchema,
      value: { retryDelay: { seconds: BigInt(Math.ceil(error.retryAfterSeconds)) } },
    });
    metadata.set("retry-after", String(Math.ceil(error.retryAfterSeconds)));
  }
  return new ConnectError(`${message} (${error.id})`, CODE_OF_KIND[error.kind], metadata, details, error);
}

/** Anything that is neither a DomainError nor a ConnectError is a bug: report it, answer a bare Internal. */
export type InternalErrorReporter = (error: unknown, procedure: string) => void;

/** Picks the language of an error answer from the call (asked only when a call fails). */
export type ErrorLanguage = (request: UnaryRequest | StreamRequest) => Promise<string>;

/** The DomainError for a failure that is no bug (the database is down); undefined for anything else. */
export type OutageClassifier = (error: unknown) => DomainError | undefined;

/**
 * Turns domain errors and outages `classify` recognises (it reports them, once per outage) into wire errors, in the
 * language `language` picks; anything else is reported per call and answered MYPHONE-Inter.
 */
export function errorMappingInterceptor(
  report: InternalErrorReporter,
  language?: ErrorLanguage,
  classify?: OutageClassifier,
): Interceptor {
  const wire = async (error: DomainError, request: UnaryRequest | StreamRequest) =>
    toConnectError(error, language ? errorMessage(error, await language(request)) : error.message);
  return (next) => async (request) => {
    try {
      return await next(request);
    } catch (error) {
      if (error instanceof DomainError) throw await wire(error, request);
      if (error instanceof ConnectError) throw error;
      const outage = classify?.(error);
      if (outage) throw await wire(outage, request);
      report(error, request.url);
      throw await wire(new DomainError(Errors.internal), request);
    }
  };
}

/**
 * A ConnectError as grpc-gateway's google.rpc.Status JSON, the shape ZITADEL's REST API answers. Details outside
 * errorDetailRegistry are left out: JSON cannot name their fields.
 */
export function connectErrorToStatusJson(error: ConnectError): JsonValue {
  const status = create(StatusSchema, { code: error.code, message: error.rawMessage });
  for (const detail of error.details) {
    const desc = errorDetailRegistry.getMessage("desc" in detail ? detail.desc.typeName : detail.type);
    if (!desc) continue;
    status.details.push(
      anyPack(desc, "desc" in detail ? create(desc, detail.value as never) : fromBinary(desc, detail.value)),
    );
  }
  const json = toJson(StatusSchema, status, { registry: errorDetailRegistry }) as { details?: JsonObject[] };
  // grpc-gateway writes "@type" first; key order carries no meaning in JSON, but humans diff these bodies.
  json.details = json.details?.map(({ "@type": type, ...fields }) => ({ "@type": type ?? null, ...fields }));
  return json as JsonValue;
}

/** A google.rpc.Status JSON body for errors raised by the REST layer itself (bad JSON, unknown route). */
export function statusJson(code: Code, message: string): JsonValue {
  return toJson(StatusSchema, create(StatusSchema, { code, message }));
}
