import { join } from "node:path";
import { NO_SEND_RULES, type CodeSendPolicy, type SendCap } from "../domain/code-send-rules.js";
import type { PhoneNumberTypeName } from "../domain/phone-number.js";
import { redactDatabaseUrl } from "../storage/postgres-connection.js";
import { SQLITE_FILE } from "../storage/sqlite-file.js";
import { PostgresSendLimiter } from "./postgres-send-limiter.js";
import { PostgresSmsScopeStore } from "./postgres-sms-scope-store.js";
import { MemorySmsScopeStore, type SmsScopeStore } from "./sms-scope-store.js";
import { rulesCountAnything, type ScopeRules } from "./sms-scopes.js";
import { SqliteSmsScopeStore } from "./sqlite-sms-scope-store.js";
import type { SharedSendCaps } from "./send-guard.js";
import { SqliteSendLimiter } from "./sqlite-send-limiter.js";
import { DEFAULT_RETENTION_MS, MemorySendLimiter, type SendLimiter } from "./send-limiter.js";

/** The abuse settings (named as in config.ts, so the parsed configuration fits). */
export interface AbuseSettings {
  readonly MYPHONE_ABUSE_LIMITS: "on" | "off";
  readonly MYPHONE_RESEND_COOLDOWN: number;
  readonly MYPHONE_SENDS_PER_USER: readonly SendCap[];
  readonly MYPHONE_SENDS_PER_NUMBER: readonly SendCap[];
  readonly MYPHONE_SENDS_PER_NUMBER_PER_USER: readonly SendCap[];
  readonly MYPHONE_SENDS_PER_NUMBER_PER_IP: readonly SendCap[];
  readonly MYPHONE_SENDS_PER_IP: readonly SendCap[];
  readonly MYPHONE_SENDS_PER_IP_IPV6_PREFIX: number;
  readonly MYPHONE_PHONE_COUNTRIES_ALLOW?: readonly string[];
  readonly MYPHONE_PHONE_COUNTRIES_DENY: readonly string[];
  readonly MYPHONE_PHONE_TYPES_DENY: readonly PhoneNumberTypeName[];
  readonly MYPHONE_SMS_BUDGET: readonly SendCap[];
  readonly MYPHONE_SMS_BUDGET_PER_COUNTRY: readonly SendCap[];
  readonly MYPHONE_SMS_BUDGET_PER_PREFIX: readonly SendCap[];
  readonly MYPHONE_SMS_PREFIX_DROPPED_DIGITS: number;
  readonly MYPHONE_SMS_BREAKER_WINDOW: number;
  readonly MYPHONE_SMS_BREAKER_GRACE: number;
  readonly MYPHONE_SMS_BREAKER_MIN_SENDS: number;
  readonly MYPHONE_SMS_BREAKER_MIN_CONVERSION: number;
  readonly MYPHONE_SMS_BREAKER_COOLOFF: number;
  readonly MYPHONE_SMS_BREAKER_TRIALS: number;
}

/** No cap across users. */
const NO_SHARED_CAPS: SharedSendCaps = { perNumber: [], perNumberPerUser: [], perNumberPerAddress: [], perAddress: [] };

/** No budget and no breaker. */
const NO_SCOPE_RULES: ScopeRules = { budgets: { global: [], country: [], prefix: [] } };

/** The configured abuse limits: the decider's rules, the limiter's shared caps, the budgets and breakers. */
export interface AbuseLimits {
  readonly enabled: boolean;
  readonly sendPolicy: CodeSendPolicy;
  readonly sharedCaps: SharedSendCaps;
  readonly scopeRules: ScopeRules;
  readonly prefixDroppedDigits: number;
}

/** Reads the abuse limits from the configuration; `MYPHONE_ABUSE_LIMITS=off` turns every one of them off. */
export function abuseLimitsOf(config: AbuseSettings): AbuseLimits {
  if (config.MYPHONE_ABUSE_LIMITS === "off") {
    return {
      enabled: false,
      sendPolicy: NO_SEND_RULES,
      sharedCaps: NO_SHARED_CAPS,
      scopeRules: NO_SCOPE_RULES,
      prefixDroppedDigits: 0,
    };
  }
  const minConversion = config.MYPHONE_SMS_BREAKER_MIN_CONVERSION;
  return {
    enabled: true,
    sendPolicy: {
      resendCooldownMs: config.MYPHONE_RESEND_COOLDOWN,
      perUser: config.MYPHONE_SENDS_PER_USER,
      ...(config.MYPHONE_PHONE_COUNTRIES_ALLOW
        ? { allowedRegions: new Set(config.MYPHONE_PHONE_COUNTRIES_ALLOW) }
        : {}),
      deniedRegions: new Set(config.MYPHONE_PHONE_COUNTRIES_DENY),
      deniedTypes: new Set(config.MYPHONE_PHONE_TYPES_DENY),
    },
    sharedCaps: {
      perNumber: config.MYPHONE_SENDS_PER_NUMBER,
      perNumberPerUser: config.MYPHONE_SENDS_PER_NUMBER_PER_USER,
      perNumberPerAddress: config.MYPHONE_SENDS_PER_NUMBER_PER_IP,
      perAddress: config.MYPHONE_SENDS_PER_IP,
      ipv6PrefixLength: config.MYPHONE_SENDS_PER_IP_IPV6_PREFIX,
    },
    scopeRules: {
      budgets: {
        global: config.MYPHONE_SMS_BUDGET,
        country: config.MYPHONE_SMS_BUDGET_PER_COUNTRY,
        prefix: config.MYPHONE_SMS_BUDGET_PER_PREFIX,
      },
      ...(minConversion > 0 && {
        breaker: {
          windowMs: config.MYPHONE_SMS_BREAKER_WINDOW,
          graceMs: config.MYPHONE_SMS_BREAKER_GRACE,
          minSends: config.MYPHONE_SMS_BREAKER_MIN_SENDS,
          minConversion,
          coolOffMs: config.MYPHONE_SMS_BREAKER_COOLOFF,
          trialSends: config.MYPHONE_SMS_BREAKER_TRIALS,
        },
      }),
    },
    prefixDroppedDigits: config.MYPHONE_SMS_PREFIX_DROPPED_DIGITS,
  };
}

/** The store settings the limiter follows: it keeps its counts where the events are. */
export interface LimiterStoreConfig {
  readonly MYPHONE_STORE: string;
  readonly dataDir: string;
  readonly MYPHONE_DATABASE_URL?: string;
}

/** Opens the SendLimiter next to the event store MYPHONE_STORE names (same SQLite file, same PostgreSQL database). */
export async function openSendLimiter(
  config: LimiterStoreConfig,
  caps: SharedSendCaps,
  options: { onBackgroundError?: (error: unknown) => void } = {},
): Promise<SendLimiter> {
  const windows = [...caps.perNumber, ...caps.perNumberPerUser, ...caps.perNumberPerAddress, ...caps.perAddress].map(
    (cap: SendCap) => cap.windowMs,
  );
  const retentionMs = Math.max(DEFAULT_RETENTION_MS, ...windows);
  switch (config.MYPHONE_STORE) {
    case "memory":
      return new MemorySendLimiter();
    case "sqlite":
      return SqliteSendLimiter.open(join(config.dataDir, SQLITE_FILE), { retentionMs });
    case "postgres":
      return onPostgres(config, "the send limiter", (url) =>
        PostgresSendLimiter.open({ connectionString: url, retentionMs, onBackgroundError: options.onBackgroundError }),
      );
    default:
      throw new Error(`no send limiter for store ${config.MYPHONE_STORE}`);
  }
}

/** Opens the SmsScopeStore next to the event store MYPHONE_STORE names; undefined when the rules count nothing. */
export async function openSmsScopeStore(
  config: LimiterStoreConfig,
  rules: ScopeRules,
  options: { onBackgroundError?: (error: unknown) => void } = {},
): Promise<SmsScopeStore | undefined> {
  if (!rulesCountAnything(rules)) return undefined;
  switch (config.MYPHONE_STORE) {
    case "memory":
      return new MemorySmsScopeStore(rules);
    case "sqlite":
      return SqliteSmsScopeStore.open(join(config.dataDir, SQLITE_FILE), rules);
    case "postgres":
      return onPostgres(config, "the SMS budgets and breakers", (url) =>
        PostgresSmsScopeStore.open({ connectionString: url, rules, onBackgroundError: options.onBackgroundError }),
      );
    default:
      throw new Error(`no SMS budgets and breakers for store ${config.MYPHONE_STORE}`);
  }
}

/** Opens `what` on MYPHONE_DATABASE_URL; a failure names the database without its password. */
async function onPostgres<T>(config: LimiterStoreConfig, what: string, open: (url: string) => Promise<T>): Promise<T> {
  const url = config.MYPHONE_DATABASE_URL;
  if (!url) throw new Error("MYPHONE_DATABASE_URL: required when MYPHONE_STORE=postgres");
  try {
    return await open(url);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new Error(`cannot open ${what} at ${redactDatabaseUrl(url)} (MYPHONE_DATABASE_URL): ${reason}`, {
      cause: error,
    });
  }
}
