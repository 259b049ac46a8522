import { resolve } from "node:path";
import { z } from "zod";
import { isSupportedRegion } from "./domain/phone-number.js";

/**
 * Every setting of myphone, read once from the environment at start-up. The README's configuration table is
 * checked against `CONFIG_VARIABLES` by test/config.test.ts, so a new variable cannot go undocumented.
 */

const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** "90s", "1h", "500ms", or plain seconds ("60"). */
const duration = z.string().trim().transform((value, ctx) => {
  const match = DURATION.exec(value);
  if (!match) {
    ctx.addIssue({ code: "custom", message: `"${value}" is not a duration (examples: 500ms, 60s, 5m, 1h)` });
    return z.NEVER;
  }
  return Math.round(Number(match[1]) * UNIT_MS[match[2] ?? "s"]!);
});

const integer = (min: number, max: number) =>
  z
    .string()
    .trim()
    .regex(/^\d+$/, "must be a whole number")
    .transform(Number)
    .pipe(z.number().int().min(min).max(max));

const boolean = z
  .enum(["true", "false", "1", "0", "yes", "no", "on", "off"])
  .transform((value) => ["true", "1", "yes", "on"].includes(value));

const region = z
  .string()
  .trim()
  .toUpperCase()
  .refine(isSupportedRegion, "must be an ISO 3166-1 alpha-2 region libphonenumber knows, like CH or US");

/** One entry per environment variable: its schema (with default) and the text for the README table. */
const variables = {
  MYPHONE_HOST: { schema: z.string().trim().min(1), default: "0.0.0.0", doc: "Address to listen on." },
  MYPHONE_PORT: { schema: integer(0, 65535), default: "8080", doc: "Port for every protocol (gRPC, gRPC-Web, Connect, REST); 0 picks a free port." },
  MYPHONE_DATA_DIR: { schema: z.string().trim().min(1), default: "./data", doc: "Directory for the SQLite database and the generated development keys." },
  MYPHONE_STORE: { schema: z.enum(["sqlite", "memory"]), default: "sqlite", doc: "Event store: `sqlite` (file in the data directory) or `memory` (lost on exit; tests and demos)." },
  MYPHONE_AUTH_MODE: { schema: z.enum(["dev"]), default: "dev", doc: "Token verification: `dev` verifies tokens minted by `myphone token` with a key kept in the data directory." },
  MYPHONE_AUTH_DEV_TOKEN_TTL: { schema: duration, default: "1h", doc: "Default lifetime of tokens minted by `myphone token`." },
  MYPHONE_DEFAULT_REGION: { schema: region, default: "CH", doc: "Region for national numbers without a leading `+` (ZITADEL uses CH)." },
  MYPHONE_PHONE_CHECK: { schema: z.enum(["parse", "possible", "valid"]), default: "possible", doc: "`parse`: anything libphonenumber parses (ZITADEL); `possible`: length possible for the country; `valid`: number in an assigned range." },
  MYPHONE_PHONE_MOBILE_ONLY: { schema: boolean, default: "false", doc: "Refuse numbers libphonenumber knows are not mobile." },
  MYPHONE_CODE_LENGTH: { schema: integer(4, 32), default: "6", doc: "Characters per verification code." },
  MYPHONE_CODE_ALPHABET: { schema: z.string().min(2).max(256), default: "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", doc: "Characters codes are drawn from (uniformly)." },
  MYPHONE_CODE_TTL: { schema: duration, default: "1h", doc: "How long a code can be used." },
  MYPHONE_CODE_MAX_ATTEMPTS: { schema: integer(0, 1000), default: "5", doc: "Wrong codes after which a code is dead; 0 = unlimited (ZITADEL)." },
  MYPHONE_CODE_KEYS: { schema: z.string().trim().optional(), doc: "Code encryption keys `id:base64key[,id:base64key]` (32-byte AES keys); the first encrypts. Unset: a key file is generated in the data directory." },
  MYPHONE_ABUSE_LIMITS: { schema: z.enum(["on", "off"]), default: "on", doc: "`off` turns every abuse limit off (today: the failed-attempt limit), for tests." },
  MYPHONE_SMS_PROVIDER: { schema: z.enum(["console", "none"]), default: "console", doc: "`console` prints each SMS as a JSON line on stdout (development); `none` drops them (codes still work)." },
  MYPHONE_SMS_POLL_INTERVAL: { schema: duration, default: "1s", doc: "How often the SMS worker looks for due jobs when no commit woke it." },
  MYPHONE_SMS_LEASE: { schema: duration, default: "30s", doc: "How long an SMS job is reserved for the process sending it; after a crash another process (or the restarted one) sends it once this has passed. Must exceed the provider's timeout." },
  MYPHONE_SMS_MAX_ATTEMPTS: { schema: integer(1, 100), default: "10", doc: "Delivery attempts before an SMS job is dead." },
  MYPHONE_MAX_REQUEST_BYTES: { schema: integer(1024, 64 * 1024 * 1024), default: "65536", doc: "Largest request message accepted on any protocol." },
  MYPHONE_SHUTDOWN_TIMEOUT: { schema: duration, default: "10s", doc: "How long in-flight calls may take to finish after SIGTERM." },
  MYPHONE_LOG_LEVEL: { schema: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]), default: "info", doc: "Log level of the JSON logs." },
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
  return { ...result.data, dataDir: resolve(result.data.MYPHONE_DATA_DIR) };
}

/** The README's configuration table, generated from the schema (test/config.test.ts keeps the README in sync). */
export function configTableMarkdown(): string {
  const rows = CONFIG_VARIABLES.map(({ name, default: value, doc }) => `| \`${name}\` | ${value === "" ? "—" : `\`${value}\``} | ${doc} |`);
  return ["| variable | default | meaning |", "|---|---|---|", ...rows].join("\n") + "\n";
}
