import { execFileSync } from "node:child_process";
import { generateKeyPairSync, randomBytes, sign } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** A self-signed certificate for `localhost` and 127.0.0.1, and its key, as PEM files in a temporary directory. */
export interface SelfSignedCert {
  readonly certFile: string;
  readonly keyFile: string;
  readonly certPem: string;
  readonly keyPem: string;
  /** "openssl" or "node:crypto": which one made it. */
  readonly madeBy: string;
  remove(): void;
}

/**
 * Makes a certificate with the `openssl` CLI when it is installed, else with node:crypto alone; an ECDSA P-256 key
 * unless `keyType` is `rsa` (2048 bits: what RSA key exchange suites need, to test that they are refused).
 */
export function makeSelfSignedCert(options: { useOpenssl?: boolean; keyType?: "ec" | "rsa" } = {}): SelfSignedCert {
  const keyType = options.keyType ?? "ec";
  const dir = mkdtempSync(join(tmpdir(), "myphone-tls-"));
  const certFile = join(dir, "cert.pem");
  const keyFile = join(dir, "key.pem");
  const madeBy = (options.useOpenssl ?? opensslAvailable()) ? "openssl" : "node:crypto";
  if (madeBy === "openssl") {
    const newKey =
      keyType === "rsa" ? ["-newkey", "rsa:2048"] : ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"];
    execFileSync(
      "openssl",
      [
        "req",
        "-x509",
        ...newKey,
        "-nodes",
        "-keyout",
        keyFile,
        "-out",
        certFile,
        "-days",
        "1",
        "-subj",
        "/CN=localhost",
        "-addext",
        "subjectAltName=DNS:localhost,IP:127.0.0.1",
      ],
      { stdio: "ignore", timeout: 30_000 },
    );
  } else {
    const { certPem, keyPem } = certificateWithNodeCrypto(keyType);
    writeFileSync(certFile, certPem);
    writeFileSync(keyFile, keyPem, { mode: 0o600 });
  }
  return {
    certFile,
    keyFile,
    certPem: readFileSync(certFile, "utf8"),
    keyPem: readFileSync(keyFile, "utf8"),
    madeBy,
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

function opensslAvailable(): boolean {
  try {
    execFileSync("openssl", ["version"], { stdio: "ignore", timeout: 10_000 });
    return true;
  } catch {
    return false;
  }
}

// A minimal DER writer: just what one X.509 v3 certificate (RFC 5280) with an ECDSA P-256 or RSA key needs.

function der(tag: number, content: Buffer): Buffer {
  const n = content.length;
  const length =
    n < 0x80 ? Buffer.from([n]) : n < 0x100 ? Buffer.from([0x81, n]) : Buffer.from([0x82, n >> 8, n & 0xff]);
  return Buffer.concat([Buffer.from([tag]), length, content]);
}
const sequence = (...items: Buffer[]) => der(0x30, Buffer.concat(items));
const set = (...items: Buffer[]) => der(0x31, Buffer.concat(items));
const explicit = (tagNumber: number, content: Buffer) => der(0xa0 + tagNumber, content);
/**
 * A DER INTEGER of unsigned big-endian `bytes`: minimal, so leading zero bytes go (a random serial starting with
 * 0x00 then a byte below 0x80 was "illegal padding" to OpenSSL, one certificate in 512), and one zero byte comes
 * back when the high bit is set, so the value stays positive.
 */
const positiveInteger = (bytes: Buffer) => {
  let start = 0;
  while (start < bytes.length - 1 && bytes[start] === 0) start++;
  const minimal = bytes.subarray(start);
  return der(0x02, minimal[0]! & 0x80 ? Buffer.concat([Buffer.from([0]), minimal]) : minimal);
};
const utcTime = (date: Date) => der(0x17, Buffer.from(date.toISOString().replace(/[-:T]/g, "").slice(2, 14) + "Z"));

function oid(dotted: string): Buffer {
  const [first, second, ...rest] = dotted.split(".").map(Number);
  const bytes = [first! * 40 + second!];
  for (const arc of rest) {
    const chunk = [arc & 0x7f];
    for (let value = arc >> 7; value > 0; value >>= 7) chunk.unshift((value & 0x7f) | 0x80);
    bytes.push(...chunk);
  }
  return der(0x06, Buffer.from(bytes));
}

/** A self-signed ECDSA P-256 (or RSA 2048) certificate for localhost / 127.0.0.1, valid for a day. */
export function certificateWithNodeCrypto(keyType: "ec" | "rsa" = "ec"): { certPem: string; keyPem: string } {
  const { publicKey, privateKey } =
    keyType === "rsa"
      ? generateKeyPairSync("rsa", { modulusLength: 2048 })
      : generateKeyPairSync("ec", { namedCurve: "prime256v1" });
  // ecdsa-with-SHA256 (RFC 5758), or sha256WithRSAEncryption with its NULL parameters (RFC 4055).
  const signatureAlgorithm =
    keyType === "rsa"
      ? sequence(oid("1.2.840.113549.1.1.11"), der(0x05, Buffer.alloc(0)))
      : sequence(oid("1.2.840.10045.4.3.2"));
  const name = sequence(set(sequence(oid("2.5.4.3"), der(0x0c, Buffer.from("localhost")))));
  const now = Date.now();
  const subjectAltName = sequence(
    oid("2.5.29.17"),
    der(0x04, sequence(der(0x82, Buffer.from("localhost")), der(0x87, Buffer.from([127, 0, 0, 1])))),
  );
  const tbs = sequence(
    explicit(0, der(0x02, Buffer.from([2]))), // version 3
    positiveInteger(randomBytes(16)),
    signatureAlgorithm,
    name,
    sequence(utcTime(new Date(now - 60_000)), utcTime(new Date(now + 86_400_000))),
    name,
    publicKey.export({ type: "spki", format: "der" }),
    explicit(3, sequence(subjectAltName)),
  );
  const signature = sign("sha256", tbs, privateKey);
  const cert = sequence(tbs, signatureAlgorithm, der(0x03, Buffer.concat([Buffer.from([0]), signature])));
  const lines = cert.toString("base64").match(/.{1,64}/g)!;
  return {
    certPem: `-----BEGIN CERTIFICATE-----\n${lines.join("\n")}\n-----END CERTIFICATE-----\n`,
    keyPem: privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
  };
}
