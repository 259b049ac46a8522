import { readFileSync } from "node:fs";
import { createPrivateKey, X509Certificate } from "node:crypto";
import tls from "node:tls";
import { ConfigError } from "../config.js";
import type { TlsServerSettings } from "../transport/dual-protocol-listener.js";

/**
 * Mozilla "intermediate" TLS 1.2 suites: ECDHE with AEAD only, no CBC or static RSA. Its DHE suites are left out:
 * Node negotiates none without DH parameters, and every client of the profile has ECDHE.
 */
const TLS12_CIPHERS = [
  "ECDHE-ECDSA-AES128-GCM-SHA256",
  "ECDHE-RSA-AES128-GCM-SHA256",
  "ECDHE-ECDSA-AES256-GCM-SHA384",
  "ECDHE-RSA-AES256-GCM-SHA384",
  "ECDHE-ECDSA-CHACHA20-POLY1305",
  "ECDHE-RSA-CHACHA20-POLY1305",
];

/** Node's default TLS 1.3 suites, named so that setting `ciphers` does not drop them. */
const TLS13_CIPHERS = tls.DEFAULT_CIPHERS.split(":").filter((suite) => suite.startsWith("TLS_"));

/** Cipher settings of the TLS listener: the lists above, in the server's order of preference, TLS 1.2 at least. */
const TLS_CIPHER_POLICY = {
  ciphers: [...TLS13_CIPHERS, ...TLS12_CIPHERS].join(":"),
  honorCipherOrder: true,
  minVersion: "TLSv1.2",
} as const satisfies tls.TlsOptions;

/** A PEM certificate chain, its private key and the cipher policy, as the listener takes them. */
export type TlsCredentials = TlsServerSettings;

/**
 * Reads MYPHONE_TLS_CERT and MYPHONE_TLS_KEY; undefined when neither is set. Problems are ConfigErrors, so they stop
 * start-up instead of failing the first handshake.
 */
export function readTlsCredentials(
  certPath: string | undefined,
  keyPath: string | undefined,
): TlsCredentials | undefined {
  if (certPath === undefined && keyPath === undefined) return undefined;
  if (certPath === undefined || keyPath === undefined) {
    throw new ConfigError(
      "invalid configuration\n  MYPHONE_TLS_CERT, MYPHONE_TLS_KEY: set both (TLS) or neither (cleartext)",
    );
  }
  const cert = readPem("MYPHONE_TLS_CERT", certPath);
  const key = readPem("MYPHONE_TLS_KEY", keyPath);
  let matches: boolean;
  try {
    matches = new X509Certificate(cert).checkPrivateKey(createPrivateKey(key));
  } catch (error) {
    throw new ConfigError(
      `invalid configuration\n  MYPHONE_TLS_CERT, MYPHONE_TLS_KEY: not a PEM certificate and key (${(error as Error).message})`,
    );
  }
  if (!matches)
    throw new ConfigError(
      "invalid configuration\n  MYPHONE_TLS_KEY: is not the private key of the certificate in MYPHONE_TLS_CERT",
    );
  return { cert, key, ...TLS_CIPHER_POLICY };
}

function readPem(variable: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    throw new ConfigError(
      `invalid configuration\n  ${variable}: cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? String(error)})`,
    );
  }
}
