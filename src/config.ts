import { isIP } from "node:net";
import { resolve } from "node:path";
import { z } from "zod";
import { MAX_REMEMBERED_SENDS } from "./domain/code-send-rules.js";
import { isSupportedRegion, PHONE_NUMBER_TYPES } from "./domain/phone-number.js";
import { parseCodeKeyList } from "./domain/verification-code.js";

/**
 * Every setting of myphone, read once from the environment at start-up. The README's configuration table is
 * checked against `CONFIG_VARIABLES` by test/config.test.ts, so a new variable cannot go undocumented.
 */

const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** "90s", "1h", "500ms", or plain seconds ("60"). */
const duration = z
  .string()
  .trim()
  .transform((value, ctx) => {
    const match = DURATION.exec(value);
    if (!match) {
      ctx.addIssue({ code: "custom", message: `"${value}" is not a duration (examples: 500ms, 60s, 5m, 1h)` });
      return z.NEVER;
    }
    return Math.round(Number(match[1]) * UNIT_MS[match[2] ?? "s"]!);
  });

const integer = (min: number, max: number) =>
  z.string().trim().regex(/^\d+$/, "must be a whole number").transform(Number).pipe(z.number().int().min(min).max(max));

const boolean = z
  .enum(["true", "false", "1", "0", "yes", "no", "on", "off"])
  .transform((value) => ["true", "1", "yes", "on"].includes(value));

const region = z
  .string()
  .trim()
  .toUpperCase()
  .refine(isSupportedRegion, "must be an ISO 3166-1 alpha-2 region libphonenumber knows, like CH or US");

const httpUrl = z
  .string()
  .trim()
  .pipe(z.url({ protocol: /^https?$/, error: "must be an http(s) URL" }));

/** Comma-separated, trimmed, non-empty entries. */
const list = z.string().transform((value) =>
  value
    .split(",")
    .map((entry) => entry.trim())
    .filter((entry) => entry !== ""),
);

/** Asymmetric JWS algorithms only: `none` and the HMAC family (RS/HS key confusion) can never be allowed. */
const SIGNING_ALGORITHMS = [
  "RS256",
  "RS384",
  "RS512",
  "PS256",
  "PS384",
  "PS512",
  "ES256",
  "ES384",
  "ES512",
  "EdDSA",
] as const;
const algorithms = list.pipe(
  z
    .array(
      z.enum(SIGNING_ALGORITHMS, {
        error: (issue) =>
          `${String(issue.input)} is not allowed (only ${SIGNING_ALGORITHMS.join(", ")}; never none or HS*)`,
      }),
    )
    .min(1, "name at least one algorithm"),
);

/** Whether `value` is a Standard Webhooks secret: `whsec_` and the base64 of 24 to 64 bytes (the spec's range). */
function isStandardWebhooksSecret(value: string): boolean {
  const base64 = value.startsWith("whsec_") ? value.slice("whsec_".length) : "";
  const bytes = Buffer.from(base64, "base64");
  // Round-tripping rejects stray characters, which Buffer.from would silently skip.
  return (
    /^[A-Za-z0-9+/]+={0,2}$/.test(base64) &&
    bytes.toString("base64") === base64 &&
    bytes.length >= 24 &&
    bytes.length <= 64
  );
}

/** Why a webhook signing secret does not fit its scheme (never quoting it), or undefined when it does. */
function webhookSecretProblem(scheme: "zitadel" | "standard-webhooks", secret: string): string | undefined {
  if (scheme === "standard-webhooks") {
    return isStandardWebhooksSecret(secret)
      ? undefined
      : "must be whsec_ followed by the base64 of 24 to 64 random bytes (Standard Webhooks)";
  }
  // A whsec_ secret under ZITADEL's scheme is a Standard Webhooks set-up whose scheme was not named: refusing it
  // beats signing in a way the receiver does not check.
  if (secret.startsWith("whsec_"))
    return "is a Standard Webhooks secret; set MYPHONE_SMS_WEBHOOK_SIGNING=standard-webhooks, or give ZITADEL's signing key";
  return /^\S{16,}$/.test(secret)
    ? undefined
    : "must be a signing key of at least 16 characters without spaces (ZITADEL generates 36)";
}

/** An origin: scheme, host and optional port, nothing else (`https://login.example.com`). */
const origin = httpUrl
  .refine((value) => {
    const url = new URL(value);
    return url.pathname === "/" && url.search === "" && url.hash === "" && url.username === "" && url.password === "";
  }, "must be an origin like https://login.example.com (no path, query or credentials)")
  .transform((value) => new URL(value).origin);

/** A BCP 47 language tag like `de` or `de-CH`, kept in lower case. */
const languageTag = z
  .string()
  .trim()
  .toLowerCase()
  .regex(/^[a-z]{2,3}(-[a-z0-9]{2,8})*$/, "must be a language tag like en, de or de-ch");

/**
 * Rate caps `count/window[,count/window]` like `5/1h,10/1d` (a window without a number is one unit: `5/h`), or
 * `off` (no cap); `noun` names what is counted in the error message, `maxCount` bounds each count.
 */
const rateCaps = (noun: string, maxCount: number) =>
  z
    .string()
    .trim()
    .transform((value, ctx) => {
      if (value.toLowerCase() === "off") return [];
      const caps: { max: number; windowMs: number }[] = [];
      for (const entry of value.split(",").map((part) => part.trim())) {
        const match = /^(\d+)\s*\/\s*(\d*(?:\.\d+)?)\s*(ms|s|m|h|d)$/.exec(entry);
        const max = Number(match?.[1]);
        const windowMs = Math.round(Number(match?.[2] || "1") * (UNIT_MS[match?.[3] ?? ""] ?? NaN));
        if (!match || max < 1 || max > maxCount || !(windowMs > 0)) {
          ctx.addIssue({
            code: "custom",
            message: `"${entry}" is not a cap of 1 to ${maxCount} ${noun} (examples: 5/1h, 10/1d, 3/10m; or off)`,
          });
          return z.NEVER;
        }
        caps.push({ max, windowMs });
      }
      return caps;
    });

/** Send caps (MYPHONE_SENDS_PER_*): at most the sends a window remembers. */
const sendCaps = rateCaps("sends", MAX_REMEMBERED_SENDS);
/** Budgets are counted per time slice, not per send, so they may be large. */
const sendBudget = rateCaps("sends", 1_000_000_000);

/** A share between 0 and 1, written `0.2` or `20%`. */
const share = z
  .string()
  .trim()
  .transform((value, ctx) => {
    const match = /^(\d+(?:\.\d+)?)(%?)$/.exec(value);
    const number = match ? Number(match[1]) / (match[2] ? 100 : 1) : NaN;
    if (!(number >= 0 && number <= 1)) {
      ctx.addIssue({ code: "custom", message: `"${value}" is not a share between 0 and 1 (examples: 0.2, 20%)` });
      return z.NEVER;
    }
    return number;
  });

/** `off` for an empty list (an empty variable means "unset", which is the default). */
const orOff = <T extends z.ZodType>(schema: T) =>
  z.union([
    z
      .string()
      .trim()
      .toLowerCase()
      .pipe(z.literal("off"))
      .transform(() => [] as never[]),
    schema,
  ]);

/** ISO regions (or `001`, libphonenumber's region of non-geographic numbers), comma-separated. */
const regionList = list.pipe(
  z.array(
    z
      .string()
      .toUpperCase()
      .refine((value) => value === "001" || isSupportedRegion(value), {
        error: (issue) => `${String(issue.input)} is not an ISO 3166-1 alpha-2 region libphonenumber knows (or 001)`,
      }),
  ),
);

/** libphonenumber number types by name, comma-separated. */
const numberTypeList = list.pipe(
  z.array(
    z
      .string()
      .toUpperCase()
      .pipe(
        z.enum(PHONE_NUMBER_TYPES, {
          error: (issue) => `${String(issue.input)} is not a number type (one of ${PHONE_NUMBER_TYPES.join(", ")})`,
        }),
      ),
  ),
);

/** Failed introspections per client address (MYPHONE_AUTH_INTROSPECTION_FAILURES_PER_IP). */
const authFailureCaps = rateCaps("failures", 10_000);

/** Longest lifetime of a development token: they are for trying things out, and `dev` mode refuses longer ones. */
export const MAX_DEV_TOKEN_TTL_MS = 24 * 3_600_000;
const devTokenTtl = duration.pipe(
  z
    .number()
    .min(1000, "must be at least 1s")
    .max(MAX_DEV_TOKEN_TTL_MS, "must be at most 24h (development tokens are short-lived)"),
);

/** True for an address or CIDR range written the way MYPHONE_TRUSTED_PROXIES accepts it. */
export function isAddressOrRange(entry: string): boolean {
  const [address = "", prefix, ...rest] = entry.split("/");
  const family = isIP(address);
  if (family === 0 || rest.length > 0) return false;
  if (prefix === undefined) return true;
  return /^\d{1,3}$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128);
}

/** Addresses and CIDR ranges, comma-separated. */
const addressList = list.pipe(
  z.array(
    z
      .string()
      .refine(isAddressOrRange, { error: (issue) => `${String(issue.input)} is not an IP address or CIDR range` }),
  ),
);

/** One entry per environment variable: its schema (with default) and the text for the README table. */
const variables = {
  MYPHONE_HOST: {
    schema: z.string().trim().min(1),
    default: "127.0.0.1",
    doc:
      "Address to listen on. The default, loopback, is reachable from this machine only; on any other address " +
      "(`0.0.0.0`, `::`, a public one) development settings (`MYPHONE_AUTH_MODE=dev`, " +
      "`MYPHONE_SMS_PROVIDER=console`) stop start-up unless `MYPHONE_ALLOW_DEV=1`.",
  },
  MYPHONE_PORT: {
    schema: integer(0, 65535),
    default: "8080",
    doc: "Port for every protocol (gRPC, gRPC-Web, Connect, REST); 0 picks a free port.",
  },
  MYPHONE_ALLOW_DEV: {
    schema: boolean,
    default: "false",
    doc:
      "`1` lets a server on a non-loopback `MYPHONE_HOST` run with development token verification or the console " +
      "SMS provider (a demo on a LAN, a container reached through a port mapping); never in production.",
  },
  MYPHONE_ADMIN_PORT: {
    schema: integer(0, 65535).optional(),
    doc:
      "Port of the admin listener, which serves `GET /metrics` (Prometheus) and nothing else; 0 picks a free " +
      "port. Unset: no admin listener and no metrics endpoint. `/metrics` is never served on `MYPHONE_PORT`.",
  },
  MYPHONE_ADMIN_HOST: {
    schema: z.string().trim().min(1),
    default: "127.0.0.1",
    doc:
      "Address of the admin listener (`MYPHONE_ADMIN_PORT`); loopback by default, so only this machine (or a " +
      "scraper in the same pod) can read the metrics.",
  },
  MYPHONE_METRICS_CACHE: {
    schema: duration,
    default: "1s",
    doc:
      "How long one `/metrics` scrape is reused for further scrapes (collecting costs about 20 health checks); 0 " +
      "= collect on every scrape.",
  },
  MYPHONE_DATA_DIR: {
    schema: z.string().trim().min(1),
    default: "./data",
    doc: "Directory for the SQLite database and the generated development keys.",
  },
  MYPHONE_STORE: {
    schema: z.enum(["sqlite", "memory", "postgres"]),
    default: "sqlite",
    doc:
      "Event store: `sqlite` (file in the data directory), `postgres` (`MYPHONE_DATABASE_URL`; several nodes may " +
      "share it) or `memory` (lost on exit; tests and demos).",
  },
  MYPHONE_DATABASE_URL: {
    schema: z
      .string()
      .trim()
      .regex(/^postgres(ql)?:\/\/\S+$/, "must be a postgres:// or postgresql:// URL")
      .optional(),
    doc:
      "PostgreSQL connection URL for `MYPHONE_STORE=postgres`, e.g. " +
      "`postgres://myphone:secret@db:5432/myphone?sslmode=verify-full`. Secret: never logged in full.",
  },
  MYPHONE_DATABASE_POOL_SIZE: {
    schema: integer(1, 1000),
    default: "10",
    doc: "PostgreSQL connections per node (plus one for LISTEN); size the server's `max_connections` for every node.",
  },
  MYPHONE_AUTH_MODE: {
    schema: z.enum(["dev", "jwt", "introspection"]),
    default: "dev",
    doc:
      "Token verification: `dev` verifies tokens minted by `myphone token` with a key kept in the data " +
      "directory; `jwt` verifies signed JWT access tokens against the issuer's keys (JWKS); `introspection` asks " +
      "the issuer about each token (RFC 7662; opaque tokens too).",
  },
  MYPHONE_AUTH_DEV_TOKEN_TTL: {
    schema: devTokenTtl,
    default: "1h",
    doc: "Default lifetime of tokens minted by `myphone token`; at most 24h (`dev` mode also refuses tokens that live longer).",
  },
  MYPHONE_AUTH_ISSUER: {
    schema: httpUrl.optional(),
    doc:
      "Issuer URL of the identity provider (`jwt`, `introspection`): tokens must carry exactly this `iss`; its " +
      "discovery document (`/.well-known/openid-configuration`) supplies the JWKS and introspection URLs not set below.",
  },
  MYPHONE_AUTH_AUDIENCE: {
    schema: list.optional(),
    doc:
      "Accepted audiences, comma-separated; a token's (or introspection answer's) `aud` must name one (with " +
      "ZITADEL: the project id). Required for `jwt` and `introspection`.",
  },
  MYPHONE_AUTH_JWKS_URL: {
    schema: httpUrl.optional(),
    doc: "JWKS URL (`jwt`); unset: the discovery document's `jwks_uri`.",
  },
  MYPHONE_AUTH_ALGORITHMS: {
    schema: algorithms,
    default: "RS256,ES256,EdDSA",
    doc: "JWS algorithms accepted (`jwt`), comma-separated; only RS*, PS*, ES* and EdDSA can be named, never `none` or HS*.",
  },
  MYPHONE_AUTH_CLOCK_SKEW: {
    schema: duration,
    default: "30s",
    doc: "Clock difference tolerated when checking `exp`, `nbf` and `iat`.",
  },
  MYPHONE_AUTH_JWKS_COOLDOWN: {
    schema: duration,
    default: "30s",
    doc: "Shortest time between two JWKS downloads; a token with an unknown `kid` triggers one, so rotated keys are picked up.",
  },
  MYPHONE_AUTH_INTROSPECTION_URL: {
    schema: httpUrl.optional(),
    doc: "Introspection endpoint (`introspection`); unset: the discovery document's `introspection_endpoint`.",
  },
  MYPHONE_AUTH_INTROSPECTION_CLIENT_ID: {
    schema: z.string().trim().min(1).optional(),
    doc: "Client id myphone authenticates with at the introspection endpoint (HTTP Basic; with ZITADEL: an API application).",
  },
  MYPHONE_AUTH_INTROSPECTION_CLIENT_SECRET: {
    schema: z.string().min(1).optional(),
    doc: "Client secret for the introspection endpoint. Secret: never logged.",
  },
  MYPHONE_AUTH_INTROSPECTION_CACHE: {
    schema: duration,
    default: "30s",
    doc: "How long an active introspection result is reused (never beyond the token's `exp`); 0 = no cache.",
  },
  MYPHONE_AUTH_INTROSPECTION_NEGATIVE_CACHE: {
    schema: duration,
    default: "10s",
    doc:
      "How long a token the issuer called inactive (or that failed a check) is refused without asking again " +
      "(keyed by the token's SHA-256); 0 = ask every time.",
  },
  MYPHONE_AUTH_INTROSPECTION_FAILURES_PER_IP: {
    schema: authFailureCaps,
    default: "20/1m",
    doc:
      "Introspections answered inactive (or failing a check) per client address (IPv6: its /64) and sliding " +
      "window, `count/window`; beyond it, unknown tokens from that address are refused (`AUTH-7fs1e`) without " +
      "asking the issuer until the window passes. Tokens already verified keep working. `off` disables.",
  },
  MYPHONE_AUTH_USER_CLAIM: {
    schema: z.string().trim().min(1),
    default: "sub",
    doc: "Claim naming the user (the user stream's id).",
  },
  MYPHONE_AUTH_ORG_CLAIM: {
    schema: z.string().trim().min(1).optional(),
    doc: "Claim naming the user's organisation, used when provisioning (with ZITADEL: `urn:zitadel:iam:user:resourceowner:id`).",
  },
  MYPHONE_AUTH_PROVISION_USERS: {
    schema: boolean,
    default: "false",
    doc:
      "Create a human user on the first call of a valid token whose user does not exist (owner from the org " +
      "claim, else the data directory's default organisation; user name from `preferred_username`, `username` or " +
      "`email`, else the user id).",
  },
  MYPHONE_AUTH_ROLES_CLAIM: {
    schema: z.string().trim().min(1),
    default: "urn:zitadel:iam:org:project:roles",
    doc:
      "Claim naming the caller's roles: ZITADEL's project roles claim (an object keyed by role name); an array " +
      "of names or a space-separated string work too. Read for `MYPHONE_AUTH_USER_WRITE_ROLE`.",
  },
  MYPHONE_AUTH_USER_WRITE_ROLE: {
    schema: z.string().trim().min(1).max(200).optional(),
    doc:
      "Role (in `MYPHONE_AUTH_ROLES_CLAIM`) that stands in for ZITADEL's `user.write` permission in the v2 phone " +
      "methods: its holders may act on any user's phone, have codes returned (`return_code`) and set numbers " +
      "verified (`is_verified`). Unset: no role grants it. A stand-in for ZITADEL's memberships, not scoped to " +
      "organisations (README: v2 and user.write).",
  },
  MYPHONE_AUTH_USER_WRITE_USERS: {
    schema: list.optional(),
    doc:
      "User ids (comma-separated; e.g. service accounts) granted the `user.write` stand-in in the v2 phone " +
      "methods, whatever their tokens say.",
  },
  MYPHONE_DEFAULT_REGION: {
    schema: region,
    default: "CH",
    doc: "Region for national numbers without a leading `+` (ZITADEL uses CH).",
  },
  MYPHONE_PHONE_CHECK: {
    schema: z.enum(["parse", "possible", "valid"]),
    default: "possible",
    doc:
      "`parse`: anything libphonenumber parses (ZITADEL); `possible`: length possible for the country; `valid`: " +
      "number in an assigned range.",
  },
  MYPHONE_PHONE_MOBILE_ONLY: {
    schema: boolean,
    default: "false",
    doc: "Refuse numbers libphonenumber knows are not mobile.",
  },
  MYPHONE_CODE_LENGTH: { schema: integer(4, 32), default: "6", doc: "Characters per verification code." },
  MYPHONE_CODE_ALPHABET: {
    schema: z.string().min(2).max(256),
    default: "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789",
    doc: "Characters codes are drawn from (uniformly).",
  },
  MYPHONE_CODE_TTL: { schema: duration, default: "1h", doc: "How long a code can be used." },
  MYPHONE_CODE_MAX_ATTEMPTS: {
    schema: integer(0, 1000),
    default: "5",
    doc: "Wrong codes after which a code is dead; 0 = unlimited (ZITADEL).",
  },
  MYPHONE_CODE_KEYS: {
    schema: z
      .string()
      .trim()
      .refine((value) => parseCodeKeyList(value) !== undefined, "each entry must be id:base64 of 32 random bytes")
      .optional(),
    doc:
      "Code encryption keys `id:base64key[,id:base64key]` (32-byte AES keys, e.g. `openssl rand -base64 32`); " +
      "the first encrypts new codes, all decrypt. The database records which keys the nodes use: a node whose " +
      "key under a recorded id differs, or that lacks a key some node encrypted with within `MYPHONE_CODE_TTL`, " +
      "refuses to start (README: rotating code keys). Unset: a key file is generated in the data directory.",
  },
  MYPHONE_ABUSE_LIMITS: {
    schema: z.enum(["on", "off"]),
    default: "on",
    doc: "`off` turns every abuse limit off (failed attempts, resend cooldown, send caps, country lists), for tests.",
  },
  MYPHONE_RESEND_COOLDOWN: {
    schema: duration,
    default: "60s",
    doc: "Minimum time between two codes sent for one user (SetMyPhone and ResendMyPhoneVerification alike); `0` disables.",
  },
  MYPHONE_SENDS_PER_USER: {
    schema: sendCaps,
    default: "10/1h,20/1d",
    doc: "Codes sent for one user per sliding window, `count/window` comma-separated; `off` disables.",
  },
  MYPHONE_SENDS_PER_NUMBER: {
    schema: sendCaps,
    default: "10/1h,20/1d",
    doc:
      "Codes sent to one phone number, whichever users ask and from wherever, per sliding window: the ceiling " +
      "against flooding one phone from many accounts and addresses; `off` disables. Its `Retry-After` is rounded " +
      "up to a quarter of the window, so it tells nobody when others asked.",
  },
  MYPHONE_SENDS_PER_NUMBER_PER_USER: {
    schema: sendCaps,
    default: "3/1h,5/1d",
    doc: "Codes sent to one phone number for one user per sliding window; other users' codes to the number do not count; `off` disables.",
  },
  MYPHONE_SENDS_PER_NUMBER_PER_IP: {
    schema: sendCaps,
    default: "3/1h,5/1d",
    doc:
      "Codes sent to one phone number requested from one client address (IPv6: its network of " +
      "`MYPHONE_SENDS_PER_IP_IPV6_PREFIX` bits) per sliding window, so one attacker's address cannot use up the " +
      "number's ceiling; `off` disables. `Retry-After` rounded like the ceiling's.",
  },
  MYPHONE_SENDS_PER_IP: {
    schema: sendCaps,
    default: "60/1h,500/1d",
    doc:
      "Codes requested from one client address (IPv6: its network of `MYPHONE_SENDS_PER_IP_IPV6_PREFIX` bits) " +
      "per sliding window; `off` disables.",
  },
  MYPHONE_SENDS_PER_IP_IPV6_PREFIX: {
    schema: integer(16, 128),
    default: "48",
    doc:
      "IPv6 clients are counted by their network of this many leading bits (48: a site's whole allocation, which " +
      "one subscriber often gets; 64: one LAN; 128: each address).",
  },
  MYPHONE_PHONE_COUNTRIES_ALLOW: {
    schema: regionList.optional(),
    doc:
      "When set, codes are sent only to numbers of these regions (ISO codes like `CH,DE`; `001` = non-geographic " +
      "numbers). Set it to the countries you serve: no other control stops SMS pumping as well.",
  },
  MYPHONE_PHONE_COUNTRIES_DENY: {
    schema: orOff(regionList),
    default: "001",
    doc:
      "Codes are never sent to numbers of these regions; `001` = non-geographic numbers (+800, +808, +870, +878, " +
      "+881, +882, +883, +888, +979); `off` = none.",
  },
  MYPHONE_PHONE_TYPES_DENY: {
    schema: orOff(numberTypeList),
    default: "PREMIUM_RATE,SHARED_COST",
    doc: `Codes are never sent to numbers of these libphonenumber types (${PHONE_NUMBER_TYPES.join(", ")}); \`off\` = none.`,
  },
  MYPHONE_SMS_BUDGET: {
    schema: sendBudget,
    default: "1000/1h,10000/1d",
    doc:
      "Codes the whole deployment sends per sliding window (every process on the database together), " +
      "`count/window` comma-separated; `off` disables.",
  },
  MYPHONE_SMS_BUDGET_PER_COUNTRY: {
    schema: sendBudget,
    default: "500/1h,5000/1d",
    doc: "Codes sent to the numbers of one region per sliding window; `off` disables.",
  },
  MYPHONE_SMS_BUDGET_PER_PREFIX: {
    schema: sendBudget,
    default: "50/1h,200/1d",
    doc:
      "Codes sent to one number range (the E.164 number without its last `MYPHONE_SMS_PREFIX_DROPPED_DIGITS` " +
      "digits) per sliding window; `off` disables.",
  },
  MYPHONE_SMS_PREFIX_DROPPED_DIGITS: {
    schema: integer(1, 8),
    default: "3",
    doc: "Digits dropped from the end of a number to name its range for the per-prefix budget and breaker (3: ranges of 1,000 numbers).",
  },
  MYPHONE_SMS_BREAKER_WINDOW: {
    schema: duration,
    default: "1h",
    doc: "The conversion breaker looks at the codes sent to a country or a number range within this window.",
  },
  MYPHONE_SMS_BREAKER_GRACE: {
    schema: duration,
    default: "10m",
    doc: "Codes younger than this are not counted by the breaker yet (a person takes a while to type a code).",
  },
  MYPHONE_SMS_BREAKER_MIN_SENDS: {
    schema: integer(1, 1_000_000),
    default: "20",
    doc: "Codes (older than the grace, within the window) a country or range needs before its conversion is judged.",
  },
  MYPHONE_SMS_BREAKER_MIN_CONVERSION: {
    schema: share,
    default: "0.2",
    doc:
      "When fewer than this share of those codes were verified, codes to that country or range stop " +
      "(`MYPHONE-SnBrk`) for the cool-off; `0` turns the breaker off.",
  },
  MYPHONE_SMS_BREAKER_COOLOFF: {
    schema: duration,
    default: "30m",
    doc: "How long a tripped breaker refuses every code; it doubles each time the trial codes fail again (at most 16 times this).",
  },
  MYPHONE_SMS_BREAKER_TRIALS: {
    schema: integer(1, 1000),
    default: "3",
    doc:
      "Codes a breaker lets through after the cool-off (half-open); it closes when enough of them are verified, " +
      "and trips again when they are not within the grace.",
  },
  MYPHONE_TRUSTED_PROXIES: {
    schema: addressList.optional(),
    doc:
      "Reverse proxies (addresses or CIDR ranges) whose forwarding header (`MYPHONE_TRUSTED_PROXY_HEADER`) names " +
      "the client address; unset: the TCP peer is the client, the headers are ignored, and the first request " +
      "that carries `X-Forwarded-For` or `Forwarded` logs one warning.",
  },
  MYPHONE_TRUSTED_PROXY_HEADER: {
    schema: z.enum(["x-forwarded-for", "forwarded"]),
    default: "x-forwarded-for",
    doc:
      "The header your trusted proxies write: `x-forwarded-for` or `forwarded` (RFC 7239, its `for=` parameter). " +
      "Only that one is read; the other could be a client's invention.",
  },
  MYPHONE_SMS_PROVIDER: {
    schema: z.enum(["console", "none", "webhook", "twilio", "twilio-verify"]),
    default: "console",
    doc:
      "`console` prints each SMS as a JSON line on stdout (development); `none` drops them (codes still work); " +
      "`webhook` POSTs ZITADEL's JSON body to `MYPHONE_SMS_WEBHOOK_URL`; `twilio` sends through Twilio's " +
      "Messages API; `twilio-verify` lets Twilio Verify make, send and check the codes (`MYPHONE_TWILIO_VERIFY_SERVICE_SID`).",
  },
  MYPHONE_SMS_POLL_INTERVAL: {
    schema: duration,
    default: "1s",
    doc: "How often the SMS worker looks for due jobs when no commit woke it.",
  },
  MYPHONE_SMS_LEASE: {
    schema: duration,
    default: "30s",
    doc:
      "How long an SMS job is reserved for the process sending it; after a crash another process (or the " +
      "restarted one) sends it once this has passed. Must exceed the provider's timeout.",
  },
  MYPHONE_SMS_MAX_ATTEMPTS: {
    schema: integer(1, 100),
    default: "10",
    doc: "Delivery attempts before an SMS job is dead.",
  },
  MYPHONE_SMS_RETRY_BASE: {
    schema: duration,
    default: "1s",
    doc:
      "Longest wait before the first retry of a failed SMS; it doubles per attempt, and each wait is drawn at " +
      "random below it (full jitter).",
  },
  MYPHONE_SMS_RETRY_MAX: { schema: duration, default: "5m", doc: "Cap on the wait between two delivery attempts." },
  MYPHONE_SMS_RETENTION: {
    schema: duration,
    default: "7d",
    doc:
      "How long done SMS jobs (sent or skipped) stay in the outbox; every node deletes older ones once a minute " +
      "and at start, at most 1,000 rows per statement. Dead jobs are never deleted (`myphone sms failed`). `0` " +
      "deletes done jobs at the next sweep.",
  },
  MYPHONE_SMS_TIMEOUT: {
    schema: duration,
    default: "5s",
    doc:
      "How long the `webhook` and `twilio` providers wait for an answer before the attempt counts as failed (and " +
      "is retried). Must be shorter than `MYPHONE_SMS_LEASE`.",
  },
  MYPHONE_SMS_WEBHOOK_URL: {
    schema: httpUrl.optional(),
    doc: "Endpoint of the `webhook` provider (required for it). User and password in the URL are sent as HTTP Basic auth. Never logged.",
  },
  MYPHONE_SMS_WEBHOOK_SECRET: {
    schema: z.string().trim().min(1).optional(),
    doc:
      "Signing key of the webhook; when set, every call is signed per `MYPHONE_SMS_WEBHOOK_SIGNING`: ZITADEL's " +
      "signing key (16 or more characters) or a Standard Webhooks secret (`whsec_…`). Secret: never logged.",
  },
  MYPHONE_SMS_WEBHOOK_SIGNING: {
    schema: z.enum(["zitadel", "standard-webhooks"]),
    default: "zitadel",
    doc:
      "How webhook calls are signed: `zitadel` = ZITADEL's header `ZITADEL-Signature: t=<unix>,v1=<hex " +
      'HMAC-SHA256(key, "<t>.<body>")>`; `standard-webhooks` = `webhook-id`, `webhook-timestamp`, `webhook-signature`.',
  },
  MYPHONE_SMS_WEBHOOK_BODY: {
    schema: z.enum(["zitadel", "capitalised"]),
    default: "zitadel",
    doc:
      "Keys of the webhook body's `templateData`: `zitadel` = lower camel case (`text`), as ZITADEL sends it; " +
      "`capitalised` = Go field names (`Text`), myphone's body before it followed ZITADEL.",
  },
  MYPHONE_TWILIO_ACCOUNT_SID: {
    schema: z
      .string()
      .trim()
      .regex(/^AC[0-9a-fA-F]{32}$/, "must be a Twilio account SID (AC and 32 hex digits)")
      .optional(),
    doc: "Twilio account SID (required for `twilio`).",
  },
  MYPHONE_TWILIO_AUTH_TOKEN: {
    schema: z.string().trim().min(1).optional(),
    doc: "Twilio auth token (required for `twilio`). Secret: never logged.",
  },
  MYPHONE_TWILIO_FROM: {
    schema: z
      .string()
      .trim()
      .regex(
        /^(\+[1-9]\d{1,14}|[A-Za-z0-9 ]{1,11})$/,
        "must be an E.164 number, a short code or an alphanumeric sender id",
      )
      .optional(),
    doc: "Sender: a Twilio number (E.164), short code or alphanumeric sender id. `twilio` needs this or a messaging service.",
  },
  MYPHONE_TWILIO_MESSAGING_SERVICE_SID: {
    schema: z
      .string()
      .trim()
      .regex(/^MG[0-9a-fA-F]{32}$/, "must be a Twilio messaging service SID (MG and 32 hex digits)")
      .optional(),
    doc: "Twilio messaging service that picks the sender; used instead of or together with `MYPHONE_TWILIO_FROM`.",
  },
  MYPHONE_TWILIO_BASE_URL: {
    schema: httpUrl,
    default: "https://api.twilio.com",
    doc: "Base URL of Twilio's REST API (tests point it at a local fake).",
  },
  MYPHONE_TWILIO_VERIFY_SERVICE_SID: {
    schema: z
      .string()
      .trim()
      .regex(/^VA[0-9a-fA-F]{32}$/, "must be a Twilio Verify service SID (VA and 32 hex digits)")
      .optional(),
    doc: "Twilio Verify service that makes, sends and checks the codes (required for `twilio-verify`, with the account SID and token).",
  },
  MYPHONE_TWILIO_VERIFY_BASE_URL: {
    schema: httpUrl,
    default: "https://verify.twilio.com",
    doc: "Base URL of Twilio's Verify API (tests point it at a local fake).",
  },
  MYPHONE_DEFAULT_LANGUAGE: {
    schema: languageTag,
    default: "en",
    doc:
      "Language of SMS texts and error messages for users without a `preferredLanguage` (or one without texts) " +
      "and calls without a known `Accept-Language`; SMS texts need a template (built in: ZITADEL's 22 languages).",
  },
  MYPHONE_SMS_TEMPLATES: {
    schema: z.string().trim().min(1).optional(),
    doc:
      'JSON file `{"<language>": "<text>"}` overriding or adding SMS templates; each text must contain ' +
      "`{{.Code}}` and may name ZITADEL's variables myphone has data for (README, SMS delivery); any other " +
      "stops start-up.",
  },
  MYPHONE_PUBLIC_ORIGIN: {
    schema: origin.optional(),
    doc:
      "Origin users reach the service at, like `https://login.example.com` (ZITADEL's instance origin): " +
      "`{{.Origin}}` and, as its host, `{{.Domain}}` in SMS templates and the webhook's `args`.",
  },
  MYPHONE_WEBOTP_HOST: {
    schema: z
      .string()
      .trim()
      .toLowerCase()
      .regex(
        /^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*(:\d{1,5})?$/,
        "must be a host name like login.example.com",
      )
      .optional(),
    doc: "When set, each SMS ends with the WebOTP line `@host #code`, so browsers on that site can fill in the code.",
  },
  MYPHONE_MAX_REQUEST_BYTES: {
    schema: integer(1024, 64 * 1024 * 1024),
    default: "65536",
    doc: "Largest request message accepted on any protocol (gRPC and gRPC-Web frames, Connect and REST bodies, chunked or not).",
  },
  MYPHONE_MAX_HEADER_BYTES: {
    schema: integer(1024, 1024 * 1024),
    default: "16384",
    doc:
      "Largest request header block: HTTP/1.1 answers 431 beyond it; HTTP/2 advertises it " +
      "(`SETTINGS_MAX_HEADER_LIST_SIZE`) and answers 431 beyond it.",
  },
  MYPHONE_HEADERS_TIMEOUT: {
    schema: duration,
    default: "15s",
    doc:
      "Time a client has to send a request's headers, counted from the start of a connection (or of the request " +
      "on a kept-alive one); at most MYPHONE_REQUEST_TIMEOUT (a larger value stops start-up).",
  },
  MYPHONE_REQUEST_TIMEOUT: {
    schema: duration,
    default: "30s",
    doc: "Time a client has to send a whole request (headers and body); HTTP/1.1 answers 408, an HTTP/2 stream is reset.",
  },
  MYPHONE_IDLE_TIMEOUT: {
    schema: duration,
    default: "60s",
    doc: "Idle time (no bytes either way) after which a kept-alive HTTP/1.1 connection or an HTTP/2 connection is closed.",
  },
  MYPHONE_HTTP2_MAX_STREAMS: {
    schema: integer(1, 10_000),
    default: "100",
    doc:
      "Streams (calls) one HTTP/2 connection may have open at once, advertised as " +
      "`SETTINGS_MAX_CONCURRENT_STREAMS`; further streams are refused (`REFUSED_STREAM`, which clients retry).",
  },
  MYPHONE_HTTP2_CLOSE_GRACE: {
    schema: duration,
    default: "10s",
    doc:
      "How long an HTTP/2 connection closed for being idle (or for sending no request in time) may keep its open " +
      "streams, such as health `Watch` streams, before it is cut. Shutdown has its own deadline, `MYPHONE_SHUTDOWN_TIMEOUT`.",
  },
  MYPHONE_MAX_CONNECTIONS: {
    schema: integer(1, 1_000_000),
    default: "4096",
    doc: "Open connections on `MYPHONE_PORT` at most; further ones are closed at once.",
  },
  MYPHONE_MAX_CONNECTIONS_PER_IP: {
    schema: integer(1, 1_000_000),
    default: "128",
    doc:
      "Open connections from one client address (the TCP peer; IPv6: its /64) at most; further ones are closed " +
      "at once. Addresses in `MYPHONE_TRUSTED_PROXIES` are not capped.",
  },
  MYPHONE_HEALTH_WATCH_PER_CONNECTION: {
    schema: integer(1, 10_000),
    default: "4",
    doc: "`grpc.health.v1.Health/Watch` streams one connection may hold; further ones answer ResourceExhausted.",
  },
  MYPHONE_HEALTH_WATCH_MAX: {
    schema: integer(1, 1_000_000),
    default: "1000",
    doc:
      "`grpc.health.v1.Health/Watch` streams the server holds at most (each re-checks readiness every 5 s); " +
      "further ones answer ResourceExhausted.",
  },
  MYPHONE_SHUTDOWN_TIMEOUT: {
    schema: duration,
    default: "10s",
    doc: "How long in-flight calls may take to finish after SIGTERM.",
  },
  MYPHONE_SHUTDOWN_DELAY: {
    schema: duration,
    default: "0s",
    doc:
      "After SIGTERM, how long to keep accepting new connections with `/readyz` and gRPC health failing, so load " +
      "balancers stop sending traffic first (Kubernetes: a few seconds).",
  },
  MYPHONE_TLS_CERT: {
    schema: z.string().trim().min(1).optional(),
    doc:
      "PEM certificate chain file; with `MYPHONE_TLS_KEY` the port serves TLS only, HTTP/2 and HTTP/1.1 chosen " +
      "by ALPN. Unset: cleartext.",
  },
  MYPHONE_TLS_KEY: { schema: z.string().trim().min(1).optional(), doc: "PEM private key file for `MYPHONE_TLS_CERT`." },
  MYPHONE_CORS_ORIGINS: {
    schema: list.optional(),
    doc:
      "Origins allowed to call from browsers (CORS), comma-separated, like `https://app.example.com`; `*` allows " +
      "any. Unset: only the server's own origin (the page at `/`).",
  },
  MYPHONE_LOG_LEVEL: {
    schema: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]),
    default: "info",
    doc: "Log level of the JSON logs.",
  },
} as const satisfies Record<string, { schema: z.ZodType; default?: string; doc: string }>;

type Variables = typeof variables;
export type ConfigName = keyof Variables;

/** Name, default (as written in the environment) and description of every variable, for docs and tests. */
export const CONFIG_VARIABLES: ReadonlyArray<{ name: ConfigName; default: string; doc: string }> = Object.entries(
  variables,
).map(([name, v]) => ({ name: name as ConfigName, default: "default" in v ? v.default : "", doc: v.doc }));

const envSchema = z.object(
  Object.fromEntries(Object.entries(variables).map(([name, v]) => [name, v.schema])) as {
    [K in ConfigName]: Variables[K]["schema"];
  },
);

export type Config = z.output<typeof envSchema> & { readonly dataDir: string };

/** Raised for invalid settings; the message names each offending variable. */
export class ConfigError extends Error {
  override name = "ConfigError";
}

/** Parses the environment (empty strings count as unset). Throws ConfigError naming every bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const input: Record<string, string> = {};
  for (const { name, default: fallback } of CONFIG_VARIABLES) {
    const value = env[name];
    if (value !== undefined && value.trim() !== "") input[name] = value;
    else if (fallback !== "") input[name] = fallback;
  }
  const result = envSchema.safeParse(input);
  if (!result.success) {
    const lines = result.error.issues.map((issue) => `${String(issue.path[0])}: ${issue.message}`);
    throw new ConfigError(`invalid configuration\n  ${lines.join("\n  ")}`);
  }
  const combinations = combinationProblems(result.data);
  if (combinations.length > 0) throw new ConfigError(`invalid configuration\n  ${combinations.join("\n  ")}`);
  return { ...result.data, dataDir: resolve(result.data.MYPHONE_DATA_DIR) };
}

/** Settings that are each valid but do not work together (a token verification mode's requirements, timeouts). */
function combinationProblems(config: z.output<typeof envSchema>): string[] {
  const problems: string[] = [];
  if (config.MYPHONE_STORE === "postgres" && !config.MYPHONE_DATABASE_URL) {
    problems.push("MYPHONE_DATABASE_URL: required when MYPHONE_STORE=postgres");
  }
  if (config.MYPHONE_HEADERS_TIMEOUT > config.MYPHONE_REQUEST_TIMEOUT) {
    // Refused rather than clamped: the headers are part of the request, so a longer headers timeout could never apply.
    problems.push(
      `MYPHONE_HEADERS_TIMEOUT: must not exceed MYPHONE_REQUEST_TIMEOUT (${config.MYPHONE_REQUEST_TIMEOUT} ms)`,
    );
  }
  const secret = config.MYPHONE_SMS_WEBHOOK_SECRET;
  const secretProblem =
    secret === undefined ? undefined : webhookSecretProblem(config.MYPHONE_SMS_WEBHOOK_SIGNING, secret);
  if (secretProblem) problems.push(`MYPHONE_SMS_WEBHOOK_SECRET: ${secretProblem}`);
  const mode = config.MYPHONE_AUTH_MODE;
  if (mode === "jwt") {
    if (!config.MYPHONE_AUTH_ISSUER)
      problems.push("MYPHONE_AUTH_ISSUER: required when MYPHONE_AUTH_MODE=jwt (tokens' iss is checked against it)");
    if (!config.MYPHONE_AUTH_AUDIENCE?.length)
      problems.push("MYPHONE_AUTH_AUDIENCE: required when MYPHONE_AUTH_MODE=jwt (with ZITADEL: the project id)");
  }
  if (mode === "introspection") {
    // As in jwt mode: without it, a token the issuer made for any other application would be accepted.
    if (!config.MYPHONE_AUTH_AUDIENCE?.length)
      problems.push(
        "MYPHONE_AUTH_AUDIENCE: required when MYPHONE_AUTH_MODE=introspection (with ZITADEL: the project id)",
      );
    if (!config.MYPHONE_AUTH_INTROSPECTION_URL && !config.MYPHONE_AUTH_ISSUER) {
      problems.push(
        "MYPHONE_AUTH_INTROSPECTION_URL: required when MYPHONE_AUTH_MODE=introspection and MYPHONE_AUTH_ISSUER is not set",
      );
    }
    if (!config.MYPHONE_AUTH_INTROSPECTION_CLIENT_ID)
      problems.push("MYPHONE_AUTH_INTROSPECTION_CLIENT_ID: required when MYPHONE_AUTH_MODE=introspection");
    if (!config.MYPHONE_AUTH_INTROSPECTION_CLIENT_SECRET)
      problems.push("MYPHONE_AUTH_INTROSPECTION_CLIENT_SECRET: required when MYPHONE_AUTH_MODE=introspection");
  }
  return problems;
}

/** True for addresses only this machine can reach: 127.0.0.0/8, ::1 (also IPv4-mapped) and `localhost`. */
export function isLoopbackHost(host: string): boolean {
  const plain = host
    .trim()
    .toLowerCase()
    .replace(/^\[(.*)\]$/, "$1");
  return plain === "localhost" || plain === "::1" || /^(::ffff:)?127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(plain);
}

/**
 * Why this configuration must not serve: dev token verification or the console SMS provider (codes in the logs) on
 * a reachable address without MYPHONE_ALLOW_DEV; undefined when it may. Only `serve` asks: others listen on nothing.
 */
export function developmentSettingsProblem(config: Config): string | undefined {
  if (config.MYPHONE_ALLOW_DEV || isLoopbackHost(config.MYPHONE_HOST)) return undefined;
  const development = [
    config.MYPHONE_AUTH_MODE === "dev" ? "MYPHONE_AUTH_MODE=dev" : undefined,
    config.MYPHONE_SMS_PROVIDER === "console" ? "MYPHONE_SMS_PROVIDER=console" : undefined,
  ].filter((setting) => setting !== undefined);
  if (development.length === 0) return undefined;
  return (
    `MYPHONE_HOST=${config.MYPHONE_HOST} is reachable from other machines but ${development.join(" and ")} ` +
    `${development.length > 1 ? "are development settings" : "is a development setting"}: ` +
    "a production server needs MYPHONE_AUTH_MODE=jwt or introspection (with MYPHONE_AUTH_ISSUER and " +
    "MYPHONE_AUTH_AUDIENCE) and MYPHONE_SMS_PROVIDER=webhook or twilio; " +
    "MYPHONE_ALLOW_DEV=1 starts it anyway"
  );
}

/** The README's configuration table, generated from the schema (test/config.test.ts keeps the README in sync). */
export function configTableMarkdown(): string {
  const rows = CONFIG_VARIABLES.map(
    ({ name, default: value, doc }) => `| \`${name}\` | ${value === "" ? "—" : `\`${value}\``} | ${doc} |`,
  );
  return ["| variable | default | meaning |", "|---|---|---|", ...rows].join("\n") + "\n";
}
