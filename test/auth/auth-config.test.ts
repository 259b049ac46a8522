import { ConfigError, loadConfig } from "../../src/config.js";

/** Start-up validation of the token verification settings: a bad combination names the variable to fix. */

const ISSUER = "https://example.zitadel.cloud";

test.each<[string, Record<string, string>, RegExp]>([
  [
    "jwt without an issuer",
    { MYPHONE_AUTH_MODE: "jwt", MYPHONE_AUTH_AUDIENCE: "1" },
    /MYPHONE_AUTH_ISSUER: required when MYPHONE_AUTH_MODE=jwt/,
  ],
  [
    "jwt without an audience",
    { MYPHONE_AUTH_MODE: "jwt", MYPHONE_AUTH_ISSUER: ISSUER },
    /MYPHONE_AUTH_AUDIENCE: required/,
  ],
  [
    "introspection without URL or issuer",
    {
      MYPHONE_AUTH_MODE: "introspection",
      MYPHONE_AUTH_INTROSPECTION_CLIENT_ID: "a",
      MYPHONE_AUTH_INTROSPECTION_CLIENT_SECRET: "b",
    },
    /MYPHONE_AUTH_INTROSPECTION_URL: required/,
  ],
  [
    "introspection without client id",
    { MYPHONE_AUTH_MODE: "introspection", MYPHONE_AUTH_ISSUER: ISSUER, MYPHONE_AUTH_INTROSPECTION_CLIENT_SECRET: "b" },
    /MYPHONE_AUTH_INTROSPECTION_CLIENT_ID: required/,
  ],
  [
    "introspection without client secret",
    { MYPHONE_AUTH_MODE: "introspection", MYPHONE_AUTH_ISSUER: ISSUER, MYPHONE_AUTH_INTROSPECTION_CLIENT_ID: "a" },
    /MYPHONE_AUTH_INTROSPECTION_CLIENT_SECRET: required/,
  ],
  [
    "introspection without an audience (a token the issuer made for another application would pass)",
    {
      MYPHONE_AUTH_MODE: "introspection",
      MYPHONE_AUTH_ISSUER: ISSUER,
      MYPHONE_AUTH_INTROSPECTION_CLIENT_ID: "a",
      MYPHONE_AUTH_INTROSPECTION_CLIENT_SECRET: "b",
    },
    /MYPHONE_AUTH_AUDIENCE: required when MYPHONE_AUTH_MODE=introspection/,
  ],
  [
    "a failure cap that is not count/window",
    { MYPHONE_AUTH_INTROSPECTION_FAILURES_PER_IP: "20 per minute" },
    /MYPHONE_AUTH_INTROSPECTION_FAILURES_PER_IP: "20 per minute" is not a cap/,
  ],
  ["an unknown mode", { MYPHONE_AUTH_MODE: "saml" }, /MYPHONE_AUTH_MODE:/],
  ["an issuer that is not a URL", { MYPHONE_AUTH_ISSUER: "zitadel" }, /MYPHONE_AUTH_ISSUER: must be an http\(s\) URL/],
  ["a JWKS URL with another scheme", { MYPHONE_AUTH_JWKS_URL: "file:///etc/keys.json" }, /MYPHONE_AUTH_JWKS_URL:/],
  ["alg none", { MYPHONE_AUTH_ALGORITHMS: "RS256,none" }, /MYPHONE_AUTH_ALGORITHMS: none is not allowed/],
  ["HS256", { MYPHONE_AUTH_ALGORITHMS: "HS256" }, /MYPHONE_AUTH_ALGORITHMS: HS256 is not allowed/],
  ["no algorithm at all", { MYPHONE_AUTH_ALGORITHMS: " , " }, /MYPHONE_AUTH_ALGORITHMS: name at least one algorithm/],
])("%s stops start-up naming the variable", (_case, env, message) => {
  expect(() => loadConfig(env)).toThrow(ConfigError);
  expect(() => loadConfig(env)).toThrow(message);
});

test("a complete jwt setup parses: audiences and algorithms are lists, skew and cooldown durations", () => {
  const config = loadConfig({
    MYPHONE_AUTH_MODE: "jwt",
    MYPHONE_AUTH_ISSUER: ISSUER,
    MYPHONE_AUTH_AUDIENCE: "287000000000000001, 287000000000000002@myphone",
    MYPHONE_AUTH_ALGORITHMS: "RS256, PS256",
    MYPHONE_AUTH_CLOCK_SKEW: "10s",
    MYPHONE_AUTH_ORG_CLAIM: "urn:zitadel:iam:user:resourceowner:id",
  });
  expect(config).toMatchObject({
    MYPHONE_AUTH_AUDIENCE: ["287000000000000001", "287000000000000002@myphone"],
    MYPHONE_AUTH_ALGORITHMS: ["RS256", "PS256"],
    MYPHONE_AUTH_CLOCK_SKEW: 10_000,
    MYPHONE_AUTH_JWKS_COOLDOWN: 30_000,
    MYPHONE_AUTH_USER_CLAIM: "sub",
    MYPHONE_AUTH_ORG_CLAIM: "urn:zitadel:iam:user:resourceowner:id",
    MYPHONE_AUTH_PROVISION_USERS: false,
  });
});

test("defaults: dev mode, asymmetric algorithms only, 30 s introspection cache, 10 s for refusals, 20 refusals a minute per address, Node's 16 KiB header limit", () => {
  expect(loadConfig({})).toMatchObject({
    MYPHONE_AUTH_MODE: "dev",
    MYPHONE_AUTH_ALGORITHMS: ["RS256", "ES256", "EdDSA"],
    MYPHONE_AUTH_INTROSPECTION_CACHE: 30_000,
    MYPHONE_AUTH_INTROSPECTION_NEGATIVE_CACHE: 10_000,
    MYPHONE_AUTH_INTROSPECTION_FAILURES_PER_IP: [{ max: 20, windowMs: 60_000 }],
    MYPHONE_MAX_HEADER_BYTES: 16_384,
    MYPHONE_HEADERS_TIMEOUT: 15_000,
    MYPHONE_REQUEST_TIMEOUT: 30_000,
  });
});
