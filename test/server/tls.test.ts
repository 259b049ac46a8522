import { create, fromBinary, toBinary, type DescMethodUnary, type Message } from "@bufbuild/protobuf";
import { createPublicKey, X509Certificate } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import https from "node:https";
import tls, { type TLSSocket } from "node:tls";
import * as grpc from "@grpc/grpc-js";
import { Health, HealthCheckResponse_ServingStatus as ServingStatus } from "../../gen/grpc/health/v1/health_pb.js";
import { AuthService } from "../../gen/zitadel/auth_pb.js";
import { bufBinary, runProcess } from "../support/clients.js";
import { certificateWithNodeCrypto, makeSelfSignedCert, type SelfSignedCert } from "../support/self-signed-cert.js";
import { startTestServer, type TestServer } from "../support/test-server.js";

/** Issue 6, acceptance 3: with MYPHONE_TLS_CERT/KEY one port serves HTTP/2 (grpc-js) and HTTP/1.1, chosen by ALPN. */

/** Calls one unary method with grpc-js over TLS, trusting `caPem`. */
function grpcJsCall(
  url: string,
  caPem: string,
  method: DescMethodUnary,
  request: Record<string, unknown>,
  token?: string,
): Promise<Message> {
  const path = `/${method.parent.typeName}/${method.name}`;
  const Client = grpc.makeGenericClientConstructor(
    {
      call: {
        path,
        requestStream: false,
        responseStream: false,
        requestSerialize: (value: Message) => Buffer.from(toBinary(method.input, value)),
        requestDeserialize: (bytes: Buffer) => fromBinary(method.input, bytes),
        responseSerialize: (value: Message) => Buffer.from(toBinary(method.output, value)),
        responseDeserialize: (bytes: Buffer) => fromBinary(method.output, bytes),
      },
    },
    method.parent.typeName,
  );
  // The certificate names localhost too; naming it avoids Node's warning about an IP address as TLS server name.
  const client = new Client(new URL(url).host, grpc.credentials.createSsl(Buffer.from(caPem)), {
    "grpc.ssl_target_name_override": "localhost",
  });
  const metadata = new grpc.Metadata();
  if (token) metadata.set("authorization", `Bearer ${token}`);
  return new Promise<Message>((resolve, reject) => {
    (
      client as unknown as {
        call: (
          r: Message,
          m: grpc.Metadata,
          o: grpc.CallOptions,
          cb: (e: grpc.ServiceError | null, v?: Message) => void,
        ) => void;
      }
    ).call(create(method.input, request), metadata, { deadline: Date.now() + 10_000 }, (error, value) =>
      error ? reject(error) : resolve(value!),
    );
  }).finally(() => client.close());
}

/** An HTTPS request over HTTP/1.1 (`https` offers no ALPN unless told to); resolves with status, body, protocol. */
function http1Request(
  url: string,
  caPem: string,
  options: { method?: string; headers?: Record<string, string>; body?: string; alpn?: string[] } = {},
) {
  return new Promise<{ status: number; body: string; httpVersion: string; alpn: string | false | null }>(
    (resolve, reject) => {
      const request = https.request(
        url,
        {
          method: options.method ?? "GET",
          headers: options.headers,
          ca: caPem,
          servername: "localhost",
          agent: false,
          ALPNProtocols: options.alpn,
          timeout: 10_000,
        } as https.RequestOptions,
        (response) => {
          let body = "";
          response.setEncoding("utf8");
          response.on("data", (chunk: string) => (body += chunk));
          response.on("end", () =>
            resolve({
              status: response.statusCode!,
              body,
              httpVersion: response.httpVersion,
              alpn: (response.socket as TLSSocket).alpnProtocol ?? null,
            }),
          );
        },
      );
      request.on("error", reject);
      request.end(options.body);
    },
  );
}

describe("a TLS server", () => {
  let cert: SelfSignedCert;
  let server: TestServer;
  beforeAll(async () => {
    cert = makeSelfSignedCert();
    server = await startTestServer({ MYPHONE_TLS_CERT: cert.certFile, MYPHONE_TLS_KEY: cert.keyFile });
  });
  afterAll(async () => {
    await server.stop();
    cert.remove();
  });

  test("grpc-js over TLS (HTTP/2 by ALPN) and an HTTP/1.1 client share the port", async () => {
    expect(server.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const user = await server.addUser();

    const set = (await grpcJsCall(
      server.url,
      cert.certPem,
      AuthService.method.setMyPhone,
      { phone: "+41 79 123 45 67" },
      user.token,
    )) as unknown as {
      details: { sequence: bigint; resourceOwner: string };
    };
    expect(set.details.resourceOwner).toBe(user.orgId);
    const health = (await grpcJsCall(server.url, cert.certPem, Health.method.check, { service: "" })) as unknown as {
      status: ServingStatus;
    };
    expect(health.status).toBe(ServingStatus.SERVING);

    // Both without ALPN (plain https) and with ALPN http/1.1, the same port answers over HTTP/1.1.
    for (const alpn of [undefined, ["http/1.1"]]) {
      const rest = await http1Request(`${server.url}/auth/v1/users/me/phone`, cert.certPem, {
        headers: { authorization: `Bearer ${user.token}` },
        alpn,
      });
      expect(rest).toMatchObject({ status: 200, httpVersion: "1.1" });
      expect(JSON.parse(rest.body).phone).toEqual({ phone: "+41791234567" });
    }
    const chosen = await http1Request(`${server.url}/healthz`, cert.certPem, { alpn: ["http/1.1"] });
    expect(chosen).toMatchObject({ status: 200, alpn: "http/1.1", httpVersion: "1.1" });
  });

  test("buf curl lists the services by reflection over TLS", async () => {
    const result = await runProcess(bufBinary(), [
      "curl",
      "--cacert",
      cert.certFile,
      "--timeout",
      "10s",
      "--list-services",
      server.url,
    ]);
    expect(result.stderr).toBe("");
    expect(result.stdout).toContain("zitadel.auth.v1.AuthService");
  });
});

/** A TLS 1.2 handshake offering only `ciphers` (OpenSSL names, in the client's order of preference). */
function tls12Handshake(url: string, caPem: string, ciphers: string): Promise<{ cipher: string } | { error: string }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = tls.connect({
      host: hostname,
      port: Number(port),
      servername: "localhost",
      ca: caPem,
      maxVersion: "TLSv1.2",
      ciphers,
      timeout: 10_000,
    });
    socket.once("secureConnect", () => {
      resolve({ cipher: socket.getCipher().name });
      socket.destroy();
    });
    socket.once("error", (error: NodeJS.ErrnoException) => resolve({ error: error.code ?? error.message }));
    socket.once("timeout", () => {
      resolve({ error: "timeout" });
      socket.destroy();
    });
  });
}

describe("cipher suites (Mozilla intermediate: forward secret AEAD only, the server's order)", () => {
  let cert: SelfSignedCert;
  let server: TestServer;
  beforeAll(async () => {
    // RSA: with an ECDSA certificate static-RSA suites could never be chosen, whatever the server allows.
    cert = makeSelfSignedCert({ keyType: "rsa" });
    server = await startTestServer({ MYPHONE_TLS_CERT: cert.certFile, MYPHONE_TLS_KEY: cert.keyFile });
  });
  afterAll(async () => {
    await server.stop();
    cert.remove();
  });

  test.each([
    ["AES128-SHA (static RSA key exchange, CBC)", "AES128-SHA"],
    ["AES128-GCM-SHA256 (static RSA key exchange)", "AES128-GCM-SHA256"],
    ["ECDHE-RSA-AES128-SHA (forward secret, but CBC)", "ECDHE-RSA-AES128-SHA"],
  ])("a TLS 1.2 client offering only %s fails the handshake", async (_case, ciphers) => {
    expect(await tls12Handshake(server.url, cert.certPem, ciphers)).toHaveProperty("error");
  });

  test("a TLS 1.2 client offering ECDHE with AES-GCM or ChaCha20 gets the server's first choice, not its own", async () => {
    expect(
      await tls12Handshake(
        server.url,
        cert.certPem,
        "ECDHE-RSA-CHACHA20-POLY1305:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-AES128-GCM-SHA256",
      ),
    ).toEqual({
      cipher: "ECDHE-RSA-AES128-GCM-SHA256",
    });
    expect(await tls12Handshake(server.url, cert.certPem, "ECDHE-RSA-CHACHA20-POLY1305")).toEqual({
      cipher: "ECDHE-RSA-CHACHA20-POLY1305",
    });
  });

  test("TLS 1.3 clients still connect", async () => {
    expect(await http1Request(`${server.url}/healthz`, cert.certPem)).toMatchObject({ status: 200 });
  });
});

test("the node:crypto certificate (used where openssl is missing) is well-formed and works for a TLS server", async () => {
  const { certPem, keyPem } = certificateWithNodeCrypto();
  const x509 = new X509Certificate(certPem);
  expect(x509.verify(createPublicKey(keyPem))).toBe(true);
  expect(x509.checkIP("127.0.0.1")).toBe("127.0.0.1");
  expect(x509.checkHost("localhost")).toBe("localhost");

  for (const keyType of ["ec", "rsa"] as const) {
    const cert = makeSelfSignedCert({ useOpenssl: false, keyType });
    expect(cert.madeBy).toBe("node:crypto");
    const server = await startTestServer({ MYPHONE_TLS_CERT: cert.certFile, MYPHONE_TLS_KEY: cert.keyFile });
    try {
      expect(await http1Request(`${server.url}/healthz`, cert.certPem)).toMatchObject({ status: 200, body: "ok\n" });
    } finally {
      await server.stop();
      cert.remove();
    }
  }
});

test("TLS settings that cannot work stop start-up with a message naming the variables", async () => {
  const cert = makeSelfSignedCert();
  const other = makeSelfSignedCert();
  const dataDir = mkdtempSync(join(tmpdir(), "myphone-tls-config-"));
  const start = (env: Record<string, string>) => startTestServer({ MYPHONE_DATA_DIR: dataDir, ...env });
  try {
    await expect(start({ MYPHONE_TLS_CERT: cert.certFile })).rejects.toThrow(
      /MYPHONE_TLS_CERT, MYPHONE_TLS_KEY: set both/,
    );
    await expect(
      start({ MYPHONE_TLS_CERT: cert.certFile, MYPHONE_TLS_KEY: `${cert.keyFile}.missing` }),
    ).rejects.toThrow(/MYPHONE_TLS_KEY: cannot read .*ENOENT/);
    await expect(start({ MYPHONE_TLS_CERT: cert.certFile, MYPHONE_TLS_KEY: other.keyFile })).rejects.toThrow(
      /MYPHONE_TLS_KEY: is not the private key/,
    );
  } finally {
    cert.remove();
    other.remove();
    rmSync(dataDir, { recursive: true, force: true });
  }
});
