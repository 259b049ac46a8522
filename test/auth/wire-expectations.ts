import { ALL_CLIENTS, caught, type ApiError, type ClientFactory } from "../support/clients.js";

export { caught } from "../support/clients.js";

/** A cross-section of protocols for auth tests: gRPC (grpc-js), gRPC-Web over h2, Connect JSON over HTTP/1.1, REST (curl). */
export const AUTH_TEST_CLIENTS: readonly ClientFactory[] = ["grpc-js", "connect-node grpc-web h2", "connect-node connect json h1", "curl REST"].map(
  (name) => {
    const client = ALL_CLIENTS.find((candidate) => candidate.name === name);
    if (!client) throw new Error(`no client named ${name}`);
    return client;
  },
);

const HTTP_STATUS: Record<number, number> = { 7: 403, 14: 503, 16: 401 };

/** A domain error on the wire: gRPC code, "<message> (<id>)", the ErrorDetail and, on REST, the HTTP status. */
export async function expectWireError(
  client: ClientFactory,
  promise: Promise<unknown>,
  expected: { code: number; id: string; message: string },
): Promise<ApiError> {
  const error = await caught(promise);
  expect({ code: error.code, message: error.message, detailId: error.detailId }).toEqual({
    code: expected.code,
    message: `${expected.message} (${expected.id})`,
    detailId: expected.id,
  });
  if (client.kind === "curl-rest") expect(error.httpStatus).toBe(HTTP_STATUS[expected.code]);
  return error;
}

export const TOKEN_INVALID = { code: 16, id: "AUTH-7fs1e", message: "Token is invalid" } as const;
export const TOKEN_UNVERIFIABLE = { code: 14, id: "MYPHONE-AuthU", message: "Token cannot be verified now (identity provider unreachable)" } as const;
