import { readFileSync } from "node:fs";
import { createPrivateKey, X509Certificate } from "node:crypto";
import { ConfigError } from "../config.js";

/** A PEM certificate chain and its private key, as the listener takes them. */
export interface TlsCredentials {
  readonly cert: Buffer;
  readonly key: Buffer;
}

/**
 * Reads MYPHONE_TLS_CERT and MYPHONE_TLS_KEY (PEM files); undefined when neither is set. Unreadable files, a
 * key that is not the certificate's, or only one of the two set are configuration errors naming the variables,
 * so they stop start-up instead of failing the first handshake.
 */
export function readTlsCredentials(certPath: string | undefined, keyPath: string | undefined): TlsCredentials | undefined {
  if (certPath === undefined && keyPath === undefined) return undefined;
  if (certPath === undefined || keyPath === undefined) {
    throw new ConfigError("invalid configuration\n  MYPHONE_TLS_CERT, MYPHONE_TLS_KEY: set both (TLS) or neither (cleartext)");
  }
  const cert = readPem("MYPHONE_TLS_CERT", certPath);
  const key = readPem("MYPHONE_TLS_KEY", keyPath);
  let matches: boolean;
  try {
    matches = new X509Certificate(cert).checkPrivateKey(createPrivateKey(key));
  } catch (error) {
    throw new ConfigError(`invalid configuration\n  MYPHONE_TLS_CERT, MYPHONE_TLS_KEY: not a PEM certificate and key (${(error as Error).message})`);
  }
  if (!matches) throw new ConfigError("invalid configuration\n  MYPHONE_TLS_KEY: is not the private key of the certificate in MYPHONE_TLS_CERT");
  return { cert, key };
}

function readPem(variable: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    throw new ConfigError(`invalid configuration\n  ${variable}: cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
  }
}
