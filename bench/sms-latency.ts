/**
 * SMS latency: time from the SetMyPhone response (as the client sees it) to the webhook receiving the SMS, on
 * SQLite and on PostgreSQL (when PostgreSQL is available, see test/support/postgres.ts), in one run.
 *
 *   npm run build --silent && node bench/build-bench.mjs && node dist/bench/sms-latency.js
 *
 * Each store gets a fresh `myphone serve` process (MYPHONE_SMS_PROVIDER=webhook, signed with a Standard Webhooks
 * secret) and a fake webhook on loopback in this process, so both instants come from one monotonic clock. Codes
 * are created over REST at each concurrency level, one new user per code. A negative value means the SMS
 * arrived before the client had read the response (the worker starts right after the commit, before the answer
 * is written). Prints a table and saves bench/results/sms-latency-<date>.json.
 * Environment: BENCH_SMS_CODES (300 per level), BENCH_SMS_CONCURRENCY ("1,16"), BENCH_SMS_STORES ("sqlite,postgres").
 */

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { loadCodeCipher } from "../src/commands/code-keys.js";
import { UserCommands } from "../src/commands/user-commands.js";
import { DevTokenIssuer } from "../src/auth/dev-token-issuer.js";
import { loadConfig } from "../src/config.js";
import { openEventStore } from "../src/eventstore/open-event-store.js";
import { policiesOf } from "../src/server/myphone-server.js";
import { startCliServer } from "../test/support/cli-process.js";
import { newWebhookSecret, startFakeWebhook } from "../test/support/fake-sms-servers.js";
import { postgresSource, startPostgres, type PostgresServer } from "../test/support/postgres.js";
import { percentile } from "./stats.js";

const ROOT = join(__dirname, "..", "..");
const CODES = Number(process.env.BENCH_SMS_CODES ?? 300);
const LEVELS = (process.env.BENCH_SMS_CONCURRENCY ?? "1,16").split(",").map(Number);
const STORES = (process.env.BENCH_SMS_STORES ?? "sqlite,postgres").split(",").map((store) => store.trim());

interface Row {
  readonly store: string;
  readonly concurrency: number;
  readonly codes: number;
  /** Response → webhook, milliseconds (min < 0: some SMS arrived before the client read its response). */
  readonly minMs: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  /** SetMyPhone round trip as the client saw it, for scale. */
  readonly setMyPhoneP50Ms: number;
  readonly errors: number;
}

const round = (ms: number) => Math.round(ms * 100) / 100;
const phoneOf = (i: number) => `+41792${String(i).padStart(6, "0")}`;

/** Runs every level against one store; resolves with one row per level. */
async function measureStore(store: string, databaseUrl: string | undefined): Promise<Row[]> {
  const dataDir = mkdtempSync(join(tmpdir(), `myphone-bench-sms-${store}-`));
  const secret = newWebhookSecret();
  const webhook = await startFakeWebhook({ signing: { scheme: "standard-webhooks", secret } });
  const storeEnv = {
    MYPHONE_STORE: store,
    MYPHONE_DATA_DIR: dataDir,
    ...(databaseUrl ? { MYPHONE_DATABASE_URL: databaseUrl } : {}),
  };
  try {
    const total = CODES * LEVELS.length;
    const userIds = Array.from({ length: total }, (_, i) => `50000000000${String(i).padStart(7, "0")}`);
    // Users are created the way `myphone users add` creates them.
    const config = loadConfig(storeEnv);
    const seed = await openEventStore(config);
    const cipher = loadCodeCipher(undefined, dataDir);
    const commands = new UserCommands(seed, { env: () => ({ now: new Date(), cipher, ...policiesOf(config) }) });
    for (const userId of userIds)
      await commands.execute(userId, { type: "AddHumanUser", userName: userId }, "200000000000000001");
    await seed.close();

    const server = await startCliServer({
      ...storeEnv,
      MYPHONE_SMS_PROVIDER: "webhook",
      MYPHONE_SMS_WEBHOOK_URL: `${webhook.url}/sms`,
      MYPHONE_SMS_WEBHOOK_SECRET: secret,
      MYPHONE_SMS_WEBHOOK_SIGNING: "standard-webhooks",
      MYPHONE_ABUSE_LIMITS: "off",
    });
    const issuer = await DevTokenIssuer.open(dataDir);
    const tokens = await Promise.all(userIds.map((userId) => issuer.mint(userId, 3600)));

    const received = new Map<string, number>();
    const waiting = new Map<string, () => void>();
    webhook.onDelivery((sms) => {
      received.set(sms.to, sms.receivedAt);
      waiting.get(sms.to)?.();
    });
    const delivered = (phone: string) =>
      new Promise<void>((resolve, reject) => {
        if (received.has(phone)) return resolve();
        const timer = setTimeout(() => reject(new Error(`no SMS to ${phone} within 30 s`)), 30_000);
        waiting.set(phone, () => {
          clearTimeout(timer);
          resolve();
        });
      });

    const rows: Row[] = [];
    try {
      for (const [level, concurrency] of LEVELS.entries()) {
        const latencies: number[] = [];
        const roundTrips: number[] = [];
        let errors = 0;
        let next = level * CODES;
        const end = next + CODES;
        const worker = async () => {
          while (next < end) {
            const i = next++;
            const phone = phoneOf(i);
            const sent = performance.now();
            const response = await fetch(`${server.url}/auth/v1/users/me/phone`, {
              method: "PUT",
              headers: { authorization: `Bearer ${tokens[i]}`, "content-type": "application/json" },
              body: JSON.stringify({ phone }),
              signal: AbortSignal.timeout(30_000),
            });
            const answered = performance.now();
            await response.arrayBuffer();
            if (response.status !== 200) {
              errors++;
              continue;
            }
            roundTrips.push(answered - sent);
            await delivered(phone);
            latencies.push(received.get(phone)! - answered);
          }
        };
        await Promise.all(Array.from({ length: concurrency }, worker));
        latencies.sort((a, b) => a - b);
        roundTrips.sort((a, b) => a - b);
        rows.push({
          store,
          concurrency,
          codes: latencies.length,
          minMs: round(latencies[0] ?? NaN),
          p50Ms: round(percentile(latencies, 50)),
          p99Ms: round(percentile(latencies, 99)),
          maxMs: round(latencies.at(-1) ?? NaN),
          setMyPhoneP50Ms: round(percentile(roundTrips, 50)),
          errors,
        });
      }
      if (webhook.rejected.length > 0) throw new Error(`the webhook rejected requests: ${webhook.rejected[0]!.reason}`);
    } finally {
      server.child.kill("SIGTERM");
      await server.exited;
    }
    return rows;
  } finally {
    await webhook.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const rows: Row[] = [];
  const skipped: string[] = [];
  for (const store of STORES) {
    if (store === "sqlite") rows.push(...(await measureStore("sqlite", undefined)));
    else if (store === "postgres") {
      const source = postgresSource();
      if (source.kind === "missing") {
        skipped.push(`postgres: ${source.reason}`);
        continue;
      }
      // Durable settings as shipped: the latency includes PostgreSQL's commit flush, like in production.
      let postgres: PostgresServer | undefined;
      try {
        postgres = await startPostgres({ durable: true });
        rows.push(...(await measureStore("postgres", await postgres.createDatabase("bench_sms"))));
      } finally {
        await postgres?.stop();
      }
    } else throw new Error(`unknown store ${store} in BENCH_SMS_STORES`);
  }

  const header = ["store", "in flight", "codes", "min ms", "p50 ms", "p99 ms", "max ms", "SetMyPhone p50 ms", "errors"];
  const table = rows.map((row) =>
    [
      row.store,
      row.concurrency,
      row.codes,
      row.minMs,
      row.p50Ms,
      row.p99Ms,
      row.maxMs,
      row.setMyPhoneP50Ms,
      row.errors,
    ].map(String),
  );
  const widths = header.map((title, column) => Math.max(title.length, ...table.map((cells) => cells[column]!.length)));
  const line = (cells: string[]) => cells.map((cell, column) => cell.padStart(widths[column]!)).join("  ");
  process.stdout.write(
    `SMS latency: SetMyPhone response → webhook received (webhook provider, signed)\n${line(header)}\n`,
  );
  for (const cells of table) process.stdout.write(`${line(cells)}\n`);
  for (const reason of skipped) process.stdout.write(`skipped ${reason}\n`);

  const resultsDir = join(ROOT, "bench", "results");
  mkdirSync(resultsDir, { recursive: true });
  const file = join(resultsDir, `sms-latency-${new Date().toISOString().replace(/[:.]/g, "-")}.json`);
  const machine = { node: process.version, cpus: cpus().length, cpuModel: cpus()[0]?.model };
  writeFileSync(
    file,
    `${JSON.stringify({ benchmark: "sms-latency", date: new Date().toISOString(), machine, codesPerLevel: CODES, rows, skipped }, null, 2)}\n`,
  );
  process.stdout.write(`saved ${file}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
