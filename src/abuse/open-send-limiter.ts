import { join } from "node:path";
import { NO_SEND_RULES, type CodeSendPolicy, type SendCap } from "../domain/code-send-rules.js";
import { redactDatabaseUrl } from "../storage/postgres-connection.js";
import { SQLITE_FILE } from "../storage/sqlite-file.js";
import { PostgresSendLimiter } from "./postgres-send-limiter.js";
import type { SharedSendCaps } from "./send-guard.js";
import { SqliteSendLimiter } from "./sqlite-send-limiter.js";
import { DEFAULT_RETENTION_MS, MemorySendLimiter, type SendLimiter } from "./send-limiter.js";

/** The abuse settings (named as in config.ts, so the parsed configuration fits). */
export interface AbuseSettings {
  readonly MYPHONE_ABUSE_LIMITS: "on" | "off";
  readonly MYPHONE_RESEND_COOLDOWN: number;
  readonly MYPHONE_SENDS_PER_USER: readonly SendCap[];
  readonly MYPHONE_SENDS_PER_NUMBER: readonly SendCap[];
  readonly MYPHONE_SENDS_PER_IP: readonly SendCap[];
  readonly MYPHONE_PHONE_COUNTRIES_ALLOW?: readonly string[];
  readonly MYPHONE_PHONE_COUNTRIES_DENY?: readonly string[];
}

/** The abuse limits the configuration asks for: the decider's rules and the caps shared through the limiter. */
export interface AbuseLimits {
  readonly enabled: boolean;
  readonly sendPolicy: CodeSendPolicy;
  readonly sharedCaps: SharedSendCaps;
}

/** Reads the abuse limits from the configuration; `MYPHONE_ABUSE_LIMITS=off` turns every one of them off. */
export function abuseLimitsOf(config: AbuseSettings): AbuseLimits {
  if (config.MYPHONE_ABUSE_LIMITS === "off") return { enabled: false, sendPolicy: NO_SEND_RULES, sharedCaps: { perNumber: [], perAddress: [] } };
  return {
    enabled: true,
    sendPolicy: {
      resendCooldownMs: config.MYPHONE_RESEND_COOLDOWN,
      perUser: config.MYPHONE_SENDS_PER_USER,
      ...(config.MYPHONE_PHONE_COUNTRIES_ALLOW ? { allowedRegions: new Set(config.MYPHONE_PHONE_COUNTRIES_ALLOW) } : {}),
      deniedRegions: new Set(config.MYPHONE_PHONE_COUNTRIES_DENY ?? []),
    },
    sharedCaps: { perNumber: config.MYPHONE_SENDS_PER_NUMBER, perAddress: config.MYPHONE_SENDS_PER_IP },
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
  const windows = [...caps.perNumber, ...caps.perAddress].map((cap: SendCap) => cap.windowMs);
  const retentionMs = Math.max(DEFAULT_RETENTION_MS, ...windows);
  switch (config.MYPHONE_STORE) {
    case "memory":
      return new MemorySendLimiter();
    case "sqlite":
      return SqliteSendLimiter.open(join(config.dataDir, SQLITE_FILE), { retentionMs });
    case "postgres": {
      const url = config.MYPHONE_DATABASE_URL;
      if (!url) throw new Error("MYPHONE_DATABASE_URL: required when MYPHONE_STORE=postgres");
      try {
        return await PostgresSendLimiter.open({ connectionString: url, retentionMs, onBackgroundError: options.onBackgroundError });
      } catch (error) {
        const reason = error instanceof Error ? error.message : String(error);
        throw new Error(`cannot open the send limiter at ${redactDatabaseUrl(url)} (MYPHONE_DATABASE_URL): ${reason}`, { cause: error });
      }
    }
    default:
      throw new Error(`no send limiter for store ${config.MYPHONE_STORE}`);
  }
}
