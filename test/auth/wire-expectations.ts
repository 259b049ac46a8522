import { ALL_CLIENTS, type ClientFactory } from "../support/clients.js";
import { expectDomainError } from "../support/wire-assertions.js";

/** A cross-section of protocols for auth tests: gRPC (grpc-js), gRPC-Web over h2, Connect JSON over HTTP/1.1, REST (curl). */
export const AUTH_TEST_CLIENTS: readonly ClientFactory[] = [
  "grpc-js",
  "connect-node grpc-web h2",
  "connect-node connect json h1",
  "curl REST",
].map((name) => {
  const client = ALL_CLIENTS.find((candidate) => candidate.name === name);
  if (!client) throw new Error(`no client named ${name}`);
  return client;
});

/** A domain error on the wire: gRPC code, "<message> (<id>)", the ErrorDetail and, on REST, the HTTP status. */
export const expectWireError = expectDomainError;

export const TOKEN_INVALID = { code: 16, id: "AUTH-7fs1e", message: "Token is invalid" } as const;
export const TOKEN_UNVERIFIABLE = {
  code: 14,
  id: "MYPHONE-AuthU",
  message: "Token cannot be verified now (identity provider unreachable)",
} as const;
