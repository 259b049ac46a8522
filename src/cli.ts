import { existsSync } from "node:fs";
import { join } from "node:path";
import { Command, InvalidArgumentError } from "commander";
import { loadConfig, ConfigError, MAX_DEV_TOKEN_TTL_MS, type Config } from "./config.js";
import { DevTokenIssuer } from "./auth/dev-token-issuer.js";
import { loadCodeCipher } from "./commands/code-keys.js";
import { UserCommands } from "./commands/user-commands.js";
import { defaultOrgId, newId } from "./commands/user-ids.js";
import { DomainError } from "./domain/errors.js";
import { openEventStore } from "./eventstore/open-event-store.js";
import { SQLITE_FILE } from "./storage/sqlite-file.js";
import { backupSqlite } from "./eventstore/sqlite/sqlite-backup.js";
import { policiesOf, startMyphone } from "./server/myphone-server.js";
import { abuseLimitsOf, openSmsScopeStore } from "./abuse/open-send-limiter.js";
import type { SmsScopeStatus, SmsScopeStore } from "./abuse/sms-scope-store.js";
import { kindOfScope } from "./abuse/sms-scopes.js";

/** The `myphone` command line; every command reads the same environment as the server. */

/** A refusal of the command as given (exit 1 with the message, no stack). */
class UsageError extends Error {}

function config(): Config {
  return loadConfig(process.env);
}

function parseTtl(value: string): number {
  const ms = (() => {
    try {
      return loadConfig({ MYPHONE_AUTH_DEV_TOKEN_TTL: value }).MYPHONE_AUTH_DEV_TOKEN_TTL;
    } catch {
      return NaN;
    }
  })();
  // The schema of MYPHONE_AUTH_DEV_TOKEN_TTL bounds it (1s to 24h): development tokens are short-lived.
  if (!Number.isFinite(ms)) throw new InvalidArgumentError("expected a duration from 1s to 24h, like 15m or 1h");
  return ms;
}

async function serve(): Promise<void> {
  const server = await startMyphone(config());
  let signals = 0;
  const stop = (signal: NodeJS.Signals) => {
    if (++signals > 1) process.exit(1); // a second signal means "now"
    server.logger.info({ signal }, "shutting down");
    server.close().then(
      () => process.exit(0),
      (error: unknown) => {
        server.logger.error({ err: error }, "shutdown failed");
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}

async function addUser(options: {
  username: string;
  org?: string;
  machine?: boolean;
  language?: string;
  displayName?: string;
}) {
  const cfg = config();
  if (cfg.MYPHONE_STORE === "memory")
    throw new ConfigError("MYPHONE_STORE: users add needs a persistent store (sqlite or postgres)");
  const store = await openEventStore(cfg);
  try {
    const cipher = loadCodeCipher(cfg.MYPHONE_CODE_KEYS, cfg.dataDir);
    const commands = new UserCommands(store, { env: () => ({ now: new Date(), cipher, ...policiesOf(cfg) }) });
    const userId = newId();
    const orgId = options.org ?? defaultOrgId(cfg.dataDir);
    const command = options.machine
      ? ({ type: "AddMachineUser", userName: options.username } as const)
      : ({
          type: "AddHumanUser",
          userName: options.username,
          preferredLanguage: options.language,
          displayName: options.displayName,
        } as const);
    await commands.execute(userId, command, orgId);
    process.stdout.write(`${JSON.stringify({ userId, orgId })}\n`);
  } finally {
    await store.close();
  }
}

async function mintToken(options: { user: string; ttl?: number; role?: string[] }) {
  const cfg = config();
  const issuer = await DevTokenIssuer.open(cfg.dataDir, {
    rolesClaim: cfg.MYPHONE_AUTH_ROLES_CLAIM,
    maxTtlMs: MAX_DEV_TOKEN_TTL_MS,
  });
  const ttlMs = options.ttl ?? cfg.MYPHONE_AUTH_DEV_TOKEN_TTL;
  process.stdout.write(`${await issuer.mint(options.user, Math.round(ttlMs / 1000), { roles: options.role })}\n`);
}

/**
 * `myphone sms failed`: one JSON line per dead SMS job with its last error (codes redacted). Dead jobs are never
 * swept: each stays listed until an operator deletes its outbox row.
 */
async function listFailedSms() {
  const cfg = config();
  if (cfg.MYPHONE_STORE === "memory")
    throw new ConfigError("MYPHONE_STORE: sms failed needs a persistent store (sqlite or postgres)");
  const store = await openEventStore(cfg);
  try {
    for (const job of await store.outbox.list("dead")) {
      const { codeSequence } = job.payload as { codeSequence?: number };
      // The store counts retried attempts; the attempt that killed the job is one more.
      const line = {
        job: job.id,
        idempotencyKey: job.idempotencyKey,
        userId: job.aggregateId,
        codeSequence,
        attempts: job.attempts + 1,
        createdAt: job.createdAt.toISOString(),
        deadAt: job.settledAt?.toISOString(),
        lastError: job.lastError ?? undefined,
      };
      process.stdout.write(`${JSON.stringify(line)}\n`);
    }
  } finally {
    await store.close();
  }
}

/** `myphone backup --to FILE`: a consistent copy of the SQLite store while the server runs (see sqlite-backup.ts). */
async function backup(options: { to: string }) {
  const cfg = config();
  if (cfg.MYPHONE_STORE === "postgres") {
    throw new UsageError(
      "backup copies the SQLite store; with MYPHONE_STORE=postgres use pg_dump on MYPHONE_DATABASE_URL (schema myphone)",
    );
  }
  if (cfg.MYPHONE_STORE !== "sqlite")
    throw new UsageError("backup needs MYPHONE_STORE=sqlite (the memory store keeps nothing)");
  const source = join(cfg.dataDir, SQLITE_FILE);
  if (!existsSync(source)) throw new UsageError(`no store at ${source} (MYPHONE_DATA_DIR)`);
  if (existsSync(options.to)) throw new UsageError(`${options.to} exists; a backup never overwrites a file`);
  let result;
  try {
    result = backupSqlite(source, options.to);
  } catch (error) {
    // An unwritable destination, a full disk, a store that is not a database: one line, no stack.
    throw new UsageError(`backup failed: ${error instanceof Error ? error.message : String(error)}`);
  }
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

/** The SMS budget and breaker store of the configured database (refused when there is nothing to read). */
async function scopeStoreOf(cfg: Config): Promise<SmsScopeStore> {
  if (cfg.MYPHONE_STORE === "memory")
    throw new ConfigError("MYPHONE_STORE: abuse commands need a persistent store (sqlite or postgres)");
  const abuse = abuseLimitsOf(cfg);
  if (!abuse.enabled)
    throw new UsageError("abuse limits are off (MYPHONE_ABUSE_LIMITS=off): there are no budgets or breakers");
  const store = await openSmsScopeStore(cfg, abuse.scopeRules);
  if (!store)
    throw new UsageError(
      "no SMS budget and no breaker is configured (MYPHONE_SMS_BUDGET*, MYPHONE_SMS_BREAKER_MIN_CONVERSION)",
    );
  return store;
}

/** `myphone abuse status`: budget use, breakers not closed, and the busiest number ranges, as text or JSON. */
async function abuseStatus(options: { top: number; json?: boolean }) {
  const cfg = config();
  const store = await scopeStoreOf(cfg);
  try {
    const status = await store.status(new Date(), { topPrefixes: options.top });
    process.stdout.write(options.json ? `${JSON.stringify(status, null, 2)}\n` : statusText(status, cfg));
  } finally {
    await store.close();
  }
}

/** The status as an operator reads it. */
function statusText(status: SmsScopeStatus, cfg: Config): string {
  const percent = (share: number) => `${(share * 100).toFixed(1)}%`;
  const window = (ms: number) =>
    ms % 86_400_000 === 0
      ? `${ms / 86_400_000}d`
      : ms % 3_600_000 === 0
        ? `${ms / 3_600_000}h`
        : `${Math.round(ms / 60_000)}m`;
  const lines = ["budgets (the most used scope of each):"];
  for (const use of status.budgets) {
    lines.push(
      [
        `  ${use.kind.padEnd(8)} per ${window(use.windowMs).padEnd(4)}`,
        `${use.used} / ${use.max}`.padEnd(16),
        `${percent(use.used / use.max).padStart(6)} `,
        use.scope ?? "",
      ]
        .join(" ")
        .trimEnd(),
    );
  }
  if (status.budgets.length === 0) lines.push("  none");
  lines.push("breakers not closed:");
  for (const breaker of status.breakers) {
    const state =
      breaker.phase === "open"
        ? `open until ${breaker.until!.toISOString()}`
        : `half-open since ${breaker.since.toISOString()}, ${breaker.trialsSent} trial codes sent, ${breaker.trialsVerified} verified`;
    lines.push(
      `  ${breaker.scope.padEnd(22)} ${state}${breaker.reopens > 0 ? ` (tripped again ${breaker.reopens}x)` : ""}`,
    );
  }
  if (status.breakers.length === 0) lines.push("  none");
  const grace =
    cfg.MYPHONE_SMS_BREAKER_MIN_CONVERSION > 0
      ? `, conversion of codes older than ${window(cfg.MYPHONE_SMS_BREAKER_GRACE)}`
      : "";
  lines.push(`top number ranges by codes sent (last ${window(cfg.MYPHONE_SMS_BREAKER_WINDOW)}${grace}):`);
  for (const range of status.topPrefixes) {
    const conversion = range.conversion === null ? "-" : percent(range.conversion);
    lines.push(
      [
        `  ${range.scope.padEnd(22)} sent ${String(range.sends).padStart(6)}`,
        `judged ${String(range.judgedSends).padStart(6)}`,
        `verified ${String(range.verified).padStart(6)}`,
        `conversion ${conversion.padStart(6)}`,
      ].join("  "),
    );
  }
  if (status.topPrefixes.length === 0) lines.push("  none");
  return `${lines.join("\n")}\n`;
}

/** `myphone abuse reset --scope SCOPE`: closes a breaker (or every one with `all`); prints the scopes closed. */
async function abuseReset(options: { scope: string }) {
  const cfg = config();
  const store = await scopeStoreOf(cfg);
  try {
    const scopes = options.scope === "all" ? undefined : [options.scope];
    const closed = await store.resetBreakers(new Date(), scopes);
    if (scopes && closed.length === 0)
      throw new UsageError(`no breaker is open for ${options.scope} (myphone abuse status lists them)`);
    process.stdout.write(`${JSON.stringify({ closed })}\n`);
  } finally {
    await store.close();
  }
}

/** A scope as `--scope` takes it: `country:CH`, `prefix:+41791234` (spaces ignored) or `all`. */
function parseScope(value: string): string {
  const trimmed = value.trim();
  if (trimmed.toLowerCase() === "all") return "all";
  const [kind = "", name = ""] = trimmed.split(/:(.*)/s);
  const scope =
    kind.toLowerCase() === "country"
      ? `country:${name.trim().toUpperCase()}`
      : `${kind.toLowerCase()}:${name.replace(/\s+/g, "")}`;
  const parsed = kindOfScope(scope);
  if (parsed !== "country" && parsed !== "prefix")
    throw new InvalidArgumentError(
      "expected country:<region> (like country:CH or country:001), prefix:+<digits> (like prefix:+41791234) or all",
    );
  return scope;
}

const nonEmpty = (what: string) => (value: string) => {
  if (value.trim() === "") throw new InvalidArgumentError(`${what} must not be empty`);
  return value.trim();
};

const program = new Command()
  .name("myphone")
  .description("ZITADEL-compatible phone number verification service")
  .showHelpAfterError();

program.command("serve").description("run the server (gRPC, gRPC-Web, Connect and REST on one port)").action(serve);

program
  .command("users")
  .description("manage users")
  .command("add")
  .description('create a user; prints {"userId":...,"orgId":...}')
  .requiredOption("--username <name>", "login name", nonEmpty("--username"))
  .option("--org <orgId>", "organisation id (default: this data directory's default organisation)", nonEmpty("--org"))
  .option("--machine", "create a machine user (cannot have a phone)")
  .option("--language <tag>", "preferred language, e.g. de")
  .option("--display-name <name>", "display name")
  .action(addUser);

program
  .command("token")
  .description("print a development access token for a user (MYPHONE_AUTH_MODE=dev)")
  .requiredOption("--user <userId>", "the user id (token subject)", nonEmpty("--user"))
  .option("--ttl <duration>", "lifetime, e.g. 15m or 1h, at most 24h (default MYPHONE_AUTH_DEV_TOKEN_TTL)", parseTtl)
  .option(
    "--role <role>",
    "a role for the token's MYPHONE_AUTH_ROLES_CLAIM, e.g. the MYPHONE_AUTH_USER_WRITE_ROLE (repeatable)",
    (value: string, roles: string[] = []) => [...roles, nonEmpty("--role")(value)],
  )
  .action(mintToken);

program
  .command("sms")
  .description("inspect SMS delivery")
  .command("failed")
  .description("list dead SMS jobs, one JSON line each, with the error that killed the job")
  .action(listFailedSms);

program
  .command("backup")
  .description('copy the SQLite store to a new file while the server runs; prints {"file","bytes","events","tookMs"}')
  .requiredOption("--to <file>", "the backup file to create (never overwritten)", nonEmpty("--to"))
  .action(backup);

const abuse = program.command("abuse").description("see and act on the SMS budgets and conversion breakers");
abuse
  .command("status")
  .description("print budget use, breakers that are not closed, and the number ranges with the most codes")
  .option(
    "--top <n>",
    "how many number ranges to list",
    (value) => {
      if (!/^\d+$/.test(value.trim())) throw new InvalidArgumentError("expected a whole number");
      return Number(value);
    },
    10,
  )
  .option("--json", "print JSON instead of text")
  .action(abuseStatus);
abuse
  .command("reset")
  .description("close a tripped breaker at once; its earlier codes are not judged again")
  .requiredOption(
    "--scope <scope>",
    "country:<region>, prefix:+<digits> (as abuse status prints them) or all",
    parseScope,
  )
  .action(abuseReset);

program.parseAsync(process.argv).catch((error: unknown) => {
  if (error instanceof ConfigError || error instanceof DomainError || error instanceof UsageError) {
    process.stderr.write(`myphone: ${error.message}\n`);
  } else {
    process.stderr.write(`myphone: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  }
  process.exit(1);
});
