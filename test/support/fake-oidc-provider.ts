import http from "node:http";
import type { AddressInfo } from "node:net";
import { exportJWK, exportSPKI, generateKeyPair, SignJWT, type JWK, type JWTPayload, type KeyLike } from "jose";

/**
 * A stand-in identity provider on loopback, serving over real HTTP what myphone fetches from one: the OIDC
 * discovery document, the JWKS (rotatable) and an RFC 7662 introspection endpoint that checks client
 * credentials. Tests mint tokens with its keys and register opaque tokens with their introspection answers.
 */
export interface FakeOidcProvider {
  /** `http://127.0.0.1:<port>`; also the `iss` of minted tokens and of introspection answers. */
  readonly issuer: string;
  readonly jwksUrl: string;
  readonly introspectionUrl: string;
  readonly clientId: string;
  readonly clientSecret: string;
  /** Requests served per endpoint. */
  readonly requests: { discovery: number; jwks: number; introspection: number; introspectionUnauthorized: number };
  /** The kid of the key `sign` uses by default. */
  readonly currentKid: string;
  /**
   * A signed JWT with default claims (iss, aud, sub, iat, exp in 10 min) overridden by `claims`; the header's
   * `typ` is `JWT` (what ZITADEL puts on its tokens) unless `typ` says otherwise (null: no `typ`).
   */
  sign(
    claims?: JWTPayload,
    options?: { kid?: string; key?: KeyLike; alg?: string; typ?: string | null },
  ): Promise<string>;
  /** A new signing key becomes current and is published; the old one stays published unless `dropOld`. */
  rotate(options?: { dropOld?: boolean }): Promise<void>;
  /** A key pair that is never published (its tokens carry a kid the JWKS does not have). */
  unpublishedKey(): Promise<{ kid: string; privateKey: KeyLike }>;
  /** The current public key as PEM (SPKI), e.g. to attempt the RS256/HS256 confusion attack. */
  currentPublicKeyPem(): Promise<string>;
  /** Introspection will answer `answer` for `token` (unknown tokens are inactive). */
  registerOpaqueToken(token: string, answer: Record<string, unknown>): void;
  /** Answers every request with this HTTP status until called with undefined (provider outage). */
  failWith(status: number | undefined): void;
  close(): Promise<void>;
}

interface SigningKey {
  readonly kid: string;
  readonly privateKey: KeyLike;
  readonly publicJwk: JWK;
  readonly publicKey: KeyLike;
}

export const FAKE_AUDIENCE = "287000000000000001";

let keyCounter = 0;

async function newKey(alg = "RS256"): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const kid = `key-${++keyCounter}-${Date.now().toString(36)}`;
  return { kid, privateKey, publicKey, publicJwk: { ...(await exportJWK(publicKey)), kid, alg, use: "sig" } };
}

/** Starts the provider on a free loopback port. */
export async function startFakeOidcProvider(
  options: { clientId?: string; clientSecret?: string } = {},
): Promise<FakeOidcProvider> {
  const clientId = options.clientId ?? "myphone-api@project";
  const clientSecret = options.clientSecret ?? "s3cr3t:with=odd&chars";
  let published: SigningKey[] = [await newKey()];
  let current = published[0]!;
  const opaque = new Map<string, Record<string, unknown>>();
  const requests = { discovery: 0, jwks: 0, introspection: 0, introspectionUnauthorized: 0 };
  let failure: number | undefined;
  let issuer = "";

  const send = (response: http.ServerResponse, status: number, body: unknown) => {
    response.writeHead(status, { "content-type": "application/json", "cache-control": "no-store" });
    response.end(JSON.stringify(body));
  };

  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      const path = (request.url ?? "/").split("?", 1)[0];
      if (failure !== undefined) return send(response, failure, { error: "temporarily_unavailable" });
      if (request.method === "GET" && path === "/.well-known/openid-configuration") {
        requests.discovery++;
        return send(response, 200, {
          issuer,
          jwks_uri: `${issuer}/oauth/v2/keys`,
          introspection_endpoint: `${issuer}/oauth/v2/introspect`,
          id_token_signing_alg_values_supported: ["RS256"],
        });
      }
      if (request.method === "GET" && path === "/oauth/v2/keys") {
        requests.jwks++;
        return send(response, 200, { keys: published.map((key) => key.publicJwk) });
      }
      if (request.method === "POST" && path === "/oauth/v2/introspect") {
        requests.introspection++;
        if (!clientAuthenticated(request.headers.authorization)) {
          requests.introspectionUnauthorized++;
          return send(response, 401, { error: "invalid_client" });
        }
        const form = new URLSearchParams(Buffer.concat(chunks).toString("utf8"));
        const answer = opaque.get(form.get("token") ?? "");
        return send(response, 200, answer ?? { active: false });
      }
      send(response, 404, { error: "not_found" });
    });
  });

  /** RFC 6749 section 2.3.1: form-urlencoded id and secret inside HTTP Basic. */
  function clientAuthenticated(header: string | undefined): boolean {
    const match = /^Basic (.+)$/.exec(header ?? "");
    if (!match) return false;
    const decoded = Buffer.from(match[1]!, "base64").toString("utf8");
    const colon = decoded.indexOf(":");
    const formDecode = (value: string) => decodeURIComponent(value.replace(/\+/g, " "));
    return (
      colon > 0 &&
      formDecode(decoded.slice(0, colon)) === clientId &&
      formDecode(decoded.slice(colon + 1)) === clientSecret
    );
  }

  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    issuer,
    jwksUrl: `${issuer}/oauth/v2/keys`,
    introspectionUrl: `${issuer}/oauth/v2/introspect`,
    clientId,
    clientSecret,
    requests,
    get currentKid() {
      return current.kid;
    },
    async sign(claims = {}, signOptions = {}) {
      const now = Math.floor(Date.now() / 1000);
      return new SignJWT({
        iss: issuer,
        aud: [FAKE_AUDIENCE, "287000000000000002@myphone"],
        sub: "300000000000000001",
        iat: now,
        exp: now + 600,
        ...claims,
      })
        .setProtectedHeader({
          alg: signOptions.alg ?? "RS256",
          kid: signOptions.kid ?? current.kid,
          ...(signOptions.typ === null ? {} : { typ: signOptions.typ ?? "JWT" }),
        })
        .sign(signOptions.key ?? current.privateKey);
    },
    async rotate(rotateOptions = {}) {
      const next = await newKey();
      published = rotateOptions.dropOld ? [next] : [...published, next];
      current = next;
    },
    async unpublishedKey() {
      const key = await newKey();
      return { kid: key.kid, privateKey: key.privateKey };
    },
    currentPublicKeyPem: () => exportSPKI(current.publicKey),
    registerOpaqueToken(token, answer) {
      opaque.set(token, answer);
    },
    failWith(status) {
      failure = status;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

let opaqueTokenCounter = 0;

/**
 * A fresh opaque token registered with `provider`: its introspection answer is active, from the provider for
 * FAKE_AUDIENCE, valid 10 more minutes, with `answer` (the subject, or any claim to change or unset) over that.
 */
export function newOpaqueToken(provider: FakeOidcProvider, answer: Record<string, unknown>): string {
  const token = `opaque-${++opaqueTokenCounter}-${Math.random().toString(36).slice(2)}`;
  provider.registerOpaqueToken(token, {
    active: true,
    iss: provider.issuer,
    aud: [FAKE_AUDIENCE],
    exp: Math.floor(Date.now() / 1000) + 600,
    ...answer,
  });
  return token;
}

/** The settings pointing a myphone server at `provider` in JWT mode (discovery + JWKS, audience). */
export function jwtSettings(provider: FakeOidcProvider): Record<string, string> {
  return {
    MYPHONE_AUTH_MODE: "jwt",
    MYPHONE_AUTH_ISSUER: provider.issuer,
    MYPHONE_AUTH_AUDIENCE: FAKE_AUDIENCE,
  };
}

/** The settings pointing a myphone server at `provider` in introspection mode (discovery, client credentials, audience). */
export function introspectionSettings(provider: FakeOidcProvider): Record<string, string> {
  return {
    MYPHONE_AUTH_MODE: "introspection",
    MYPHONE_AUTH_ISSUER: provider.issuer,
    MYPHONE_AUTH_AUDIENCE: FAKE_AUDIENCE,
    MYPHONE_AUTH_INTROSPECTION_CLIENT_ID: provider.clientId,
    MYPHONE_AUTH_INTROSPECTION_CLIENT_SECRET: provider.clientSecret,
  };
}
