import { ApiError, type ApiResult, type ClientFactory, type DetailsJson } from "./clients.js";

/** Assertions on answers as every client sees them (SPEC 3.7 and 7), shared by the v1 and v2 protocol suites. */

export const RFC3339_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$/;

/** grpc-gateway's runtime.HTTPStatusFromCode for the codes these suites meet (REST answers). */
const HTTP_STATUS: Record<number, number> = { 3: 400, 5: 404, 7: 403, 8: 429, 9: 400, 14: 503, 16: 401 };

export function expectRecent(timestamp: string | undefined): void {
  expect(timestamp).toMatch(RFC3339_UTC);
  expect(Math.abs(Date.parse(timestamp!) - Date.now())).toBeLessThan(10_000);
}

/** Details of a change: sequence, recent change date, the user's org, no creation date; nothing else. */
export function expectChangeDetails(result: ApiResult, owner: { orgId: string }): DetailsJson {
  const details = result.details!;
  expect(details).toBeDefined();
  expect(details.sequence).toMatch(/^[1-9]\d*$/);
  expectRecent(details.changeDate);
  expect(details.resourceOwner).toBe(owner.orgId);
  expect(details).not.toHaveProperty("creationDate");
  expect(Object.keys(details).sort()).toEqual(["changeDate", "resourceOwner", "sequence"]);
  return details;
}

/** The ApiError a call failed with; fails the test when it succeeded. */
export async function caught(promise: Promise<unknown>): Promise<ApiError> {
  let result: unknown;
  try {
    result = await promise;
  } catch (error) {
    if (error instanceof ApiError) return error;
    throw error;
  }
  throw new Error(`expected the call to fail, it answered ${JSON.stringify(result)}`);
}

/** The error as the client read it: code, message, and its ErrorDetail's id and message. */
export const seenError = ({ code, message, detailId, detailMessage }: ApiError) => ({
  code,
  message,
  detailId,
  detailMessage,
});

/** A domain error on the wire: code, message "<message> (<id>)", the ErrorDetail, REST's HTTP status, buf curl's exit. */
export async function expectDomainError(
  client: ClientFactory,
  promise: Promise<unknown>,
  expected: { code: number; id: string; message: string },
): Promise<ApiError> {
  const error = await caught(promise);
  expect(seenError(error)).toEqual({
    code: expected.code,
    message: `${expected.message} (${expected.id})`,
    detailId: expected.id,
    detailMessage: expected.message,
  });
  if (client.kind === "curl-rest") expect(error.httpStatus).toBe(HTTP_STATUS[expected.code]);
  // buf curl exits with code*8 on an RPC error.
  if (client.kind === "buf-curl") expect((error.raw as { exitCode: number }).exitCode).toBe(expected.code * 8);
  return error;
}

/**
 * ZITADEL's refusal of a call without an `authorization` header: a bare Unauthenticated `auth header missing`, no id
 * and no ErrorDetail (internal/api/grpc/server/middleware/auth_interceptor.go; its v2 integration tests expect the
 * same text). REST's body is google.rpc.Status without details.
 */
export async function expectAuthHeaderMissing(client: ClientFactory, promise: Promise<unknown>): Promise<void> {
  const error = await caught(promise);
  expect(seenError(error)).toEqual({
    code: 16,
    message: "auth header missing",
    detailId: undefined,
    detailMessage: undefined,
  });
  if (client.kind === "curl-rest") {
    expect(error.httpStatus).toBe(401);
    expect((error.raw as { json: unknown }).json).toEqual({ code: 16, message: "auth header missing" });
  }
  if (client.kind === "grpc-js")
    expect(
      (error.raw as { metadata: { get(key: string): unknown[] } }).metadata.get("grpc-status-details-bin"),
    ).toEqual([]);
  if (client.kind === "buf-curl") expect((error.raw as { exitCode: number }).exitCode).toBe(16 * 8);
}
