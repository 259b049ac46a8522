/**
 * Event store append throughput and latency, SQLite and PostgreSQL, 1, 8 and 32 concurrent appenders, in one run.
 *
 *   node bench/build-bench.mjs && node dist/bench/eventstore-append.js
 *
 * (build-bench.mjs bundles bench/*.ts with esbuild; `npx esbuild bench/eventstore-append.ts --bundle
 * --platform=node --packages=external --outfile=dist/bench/eventstore-append.js` does the same for this file.)
 *
 * Each append has the shape of a SetMyPhone: two events (phone.changed, code.added with an encrypted-code
 * payload) and one outbox job, on the appender's own user stream with the exact expected sequence, so the
 * numbers show the store, not optimistic-concurrency retries. Appenders run closed-loop in this process for a
 * fixed time per level (after a short warm-up); latency is append() call to resolve, i.e. until the commit is
 * durable. Both stores keep their durability settings as shipped: SQLite WAL with synchronous=FULL (one fsync
 * per commit; appends of one event-loop turn share a commit), PostgreSQL with fsync and synchronous_commit on
 * (a throwaway server from test/support/postgres.ts, or BENCH_DATABASE_URL). Prints a table and saves
 * bench/results/eventstore-append-<date>.json.
 * Environment: BENCH_APPEND_SECONDS (5 per level), BENCH_APPEND_CONCURRENCY ("1,8,32"),
 * BENCH_APPEND_STORES ("sqlite,postgres"), BENCH_DATABASE_URL (an existing database to use instead).
 */

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import type { AppendRequest, EventStore } from "../src/eventstore/event-store.js";
import { PostgresEventStore } from "../src/eventstore/postgres/postgres-event-store.js";
import { SqliteEventStore } from "../src/eventstore/sqlite/sqlite-event-store.js";
import { postgresSource, startPostgres, type PostgresServer } from "../test/support/postgres.js";
import { percentile } from "./stats.js";

const ROOT = join(__dirname, "..", "..");
const SECONDS = Number(process.env.BENCH_APPEND_SECONDS ?? 5);
const WARM_UP_MS = 500;
const LEVELS = (process.env.BENCH_APPEND_CONCURRENCY ?? "1,8,32").split(",").map(Number);
const STORES = (process.env.BENCH_APPEND_STORES ?? "sqlite,postgres").split(",").map((store) => store.trim());
/** PostgreSQL connections: enough that 32 appenders never wait for the pool, so the table shows the database. */
const POSTGRES_POOL = Math.max(...LEVELS, 10);

interface Row {
  readonly store: string;
  readonly appenders: number;
  readonly appends: number;
  readonly appendsPerSecond: number;
  readonly eventsPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
}

const round = (value: number) => Math.round(value * 100) / 100;

/** A SetMyPhone-shaped append for one user: phone.changed + code.added and its SMS job. */
function setMyPhoneAppend(userId: string, last: number, n: number): AppendRequest {
  const codeSequence = last + 2;
  return {
    aggregateType: "user",
    aggregateId: userId,
    owner: "200000000000000001",
    expectedSequence: last === 0 ? "no_stream" : last,
    events: [
      { type: "user.human.phone.changed", data: { phone: `+41792${String(n % 1_000_000).padStart(6, "0")}` } },
      {
        type: "user.human.phone.code.added",
        data: {
          code: {
            keyId: "k1",
            iv: "2c5XbKo1xZ0Zp9Ld",
            ciphertext: "Yq3vN5rj0m1d+8w=",
            tag: "m0X1G0uI7kq4cXQ1QbT5xA==",
          },
          expiry: 3_600_000_000_000,
          codeReturned: false,
        },
      },
    ],
    outbox: [
      {
        kind: "sms.phone_code",
        idempotencyKey: `phone-code:${userId}:${codeSequence}`,
        payload: { userId, codeSequence },
      },
    ],
  };
}

/** Runs `appenders` closed-loop appenders for `ms`; returns every append's latency in milliseconds. */
async function drive(
  store: EventStore,
  label: string,
  appenders: number,
  ms: number,
): Promise<{ latencies: number[]; seconds: number }> {
  const latencies: number[] = [];
  const started = performance.now();
  const deadline = started + ms;
  let n = 0;
  await Promise.all(
    Array.from({ length: appenders }, async (_, appender) => {
      const userId = `${label}-${appender}`;
      let last = 0;
      while (performance.now() < deadline) {
        const request = setMyPhoneAppend(userId, last, n++);
        const before = performance.now();
        const recorded = await store.append(request);
        latencies.push(performance.now() - before);
        last = recorded.at(-1)!.sequence;
      }
    }),
  );
  return { latencies, seconds: (performance.now() - started) / 1000 };
}

async function measure(name: string, store: EventStore): Promise<Row[]> {
  const rows: Row[] = [];
  for (const appenders of LEVELS) {
    await drive(store, `warm-${appenders}`, appenders, WARM_UP_MS);
    const { latencies, seconds } = await drive(store, `run-${appenders}`, appenders, SECONDS * 1000);
    latencies.sort((a, b) => a - b);
    rows.push({
      store: name,
      appenders,
      appends: latencies.length,
      appendsPerSecond: Math.round(latencies.length / seconds),
      eventsPerSecond: Math.round((2 * latencies.length) / seconds),
      p50Ms: round(percentile(latencies, 50)),
      p99Ms: round(percentile(latencies, 99)),
      maxMs: round(latencies.at(-1) ?? NaN),
    });
    process.stderr.write(`${name} ${appenders}: ${rows.at(-1)!.appendsPerSecond} appends/s\n`);
  }
  return rows;
}

async function measureSqlite(): Promise<Row[]> {
  const dir = mkdtempSync(join(tmpdir(), "myphone-bench-append-"));
  const store = SqliteEventStore.open(join(dir, "bench.sqlite"));
  try {
    return await measure("sqlite", store);
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function measurePostgres(url: string): Promise<Row[]> {
  const store = await PostgresEventStore.open(url, { poolSize: POSTGRES_POOL });
  try {
    return await measure("postgres", store);
  } finally {
    await store.close();
  }
}

async function main(): Promise<void> {
  const rows: Row[] = [];
  const skipped: string[] = [];
  for (const store of STORES) {
    if (store === "sqlite") rows.push(...(await measureSqlite()));
    else if (store === "postgres") {
      const external = process.env.BENCH_DATABASE_URL;
      if (external) {
        rows.push(...(await measurePostgres(external)));
        continue;
      }
      const source = postgresSource();
      if (source.kind === "missing") {
        skipped.push(`postgres: ${source.reason}`);
        continue;
      }
      let postgres: PostgresServer | undefined;
      try {
        postgres = await startPostgres({ durable: true });
        rows.push(...(await measurePostgres(await postgres.createDatabase("bench_append"))));
      } finally {
        await postgres?.stop();
      }
    } else throw new Error(`unknown store ${store} in BENCH_APPEND_STORES`);
  }

  const header = ["store", "appenders", "appends", "appends/s", "events/s", "p50 ms", "p99 ms", "max ms"];
  const table = rows.map((row) =>
    [
      row.store,
      row.appenders,
      row.appends,
      row.appendsPerSecond,
      row.eventsPerSecond,
      row.p50Ms,
      row.p99Ms,
      row.maxMs,
    ].map(String),
  );
  const widths = header.map((title, column) => Math.max(title.length, ...table.map((cells) => cells[column]!.length)));
  const line = (cells: string[]) => cells.map((cell, column) => cell.padStart(widths[column]!)).join("  ");
  process.stdout.write(
    `Event store appends (SetMyPhone shape: 2 events + 1 outbox job, durable commit), ${SECONDS} s per level\n${line(header)}\n`,
  );
  for (const cells of table) process.stdout.write(`${line(cells)}\n`);
  for (const reason of skipped) process.stdout.write(`skipped ${reason}\n`);

  const resultsDir = join(ROOT, "bench", "results");
  mkdirSync(resultsDir, { recursive: true });
  const file = join(resultsDir, `eventstore-append-${new Date().toISOString().replace(/[:.]/g, "-")}.json`);
  // The load average shows how busy the (shared) machine was; compare runs only at similar load.
  const machine = {
    node: process.version,
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model,
    loadavg: loadavg().map(round),
  };
  const settings = {
    secondsPerLevel: SECONDS,
    warmUpMs: WARM_UP_MS,
    postgresPool: POSTGRES_POOL,
    sqlite: "WAL, synchronous=FULL",
    postgres: "fsync=on, synchronous_commit=on",
  };
  writeFileSync(
    file,
    `${JSON.stringify({ benchmark: "eventstore-append", date: new Date().toISOString(), machine, settings, rows, skipped }, null, 2)}\n`,
  );
  process.stdout.write(`saved ${file}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
