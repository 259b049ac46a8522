import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { EventStore } from "../src/eventstore/event-store.js";
import { PostgresEventStore } from "../src/eventstore/postgres/postgres-event-store.js";
import { SqliteEventStore } from "../src/eventstore/sqlite/sqlite-event-store.js";
import { postgresSource, startPostgres, type PostgresServer } from "../test/support/postgres.js";
import { envNumber, machine, markdownTable, saveResult } from "./harness.js";
import { median } from "./stats.js";

/**
 * What the SMS worker's claim costs while the outbox holds a backlog of jobs waiting for a retry, as during an SMS
 * provider outage: the worker claims after every commit that adds a job, so a claim whose cost grows with the
 * backlog turns an outage into a busy server. For each backlog size, a fresh store (SQLite; PostgreSQL too when
 * its server binaries are installed, durable, sharing the machine) gets that many jobs given back for a retry an
 * hour later; then, CLAIMS times, one new job is appended and claimed, and an empty claim follows (what the
 * worker's loop does). Reported: the median time of one claim; backlog 0 is the baseline of the same run.
 * Run pinned: `taskset -c 0 node dist/bench/outbox-backlog.js`.
 * Environment: BACKLOG_SIZES (0,1000,10000,50000), BACKLOG_CLAIMS (300), BACKLOG_POSTGRES (1; 0 skips it).
 */

const SIZES = (process.env.BACKLOG_SIZES ?? "0,1000,10000,50000").split(",").map(Number);
const CLAIMS = envNumber("BACKLOG_CLAIMS", 300);
const WORKER = "bench-worker";

function appendJob(store: EventStore, key: string) {
  return store.append({
    aggregateType: "user",
    aggregateId: key,
    owner: "200000000000000001",
    expectedSequence: "any",
    events: [{ type: "bench.job_added", data: null }],
    outbox: [{ kind: "sms.phone_verification", idempotencyKey: key, payload: {} }],
  });
}

interface Row {
  readonly store: string;
  readonly backlog: number;
  readonly claimMsMedian: number;
  readonly claimMsP90: number;
}

async function measure(name: string, store: EventStore, backlog: number): Promise<Row> {
  try {
    const retryAt = new Date(Date.now() + 3_600_000);
    for (let i = 0; i < backlog; i += 500) {
      const keys = Array.from({ length: Math.min(500, backlog - i) }, (_, k) => `waiting-${i + k}`);
      await Promise.all(keys.map((key) => appendJob(store, key)));
      const jobs = await store.outbox.claim({ workerId: WORKER, leaseMs: 30_000, limit: keys.length });
      await Promise.all(
        jobs.map((job) => store.outbox.settle(job.id, WORKER, { state: "retry", retryAt, error: "provider down" })),
      );
    }
    const times: number[] = [];
    for (let i = 0; i < CLAIMS; i++) {
      await appendJob(store, `new-${i}`);
      let started = performance.now();
      const [job, ...more] = await store.outbox.claim({ workerId: WORKER, leaseMs: 30_000, limit: 16 });
      times.push(performance.now() - started);
      started = performance.now();
      const none = await store.outbox.claim({ workerId: WORKER, leaseMs: 30_000, limit: 16 });
      times.push(performance.now() - started);
      if (!job || more.length > 0 || none.length > 0) throw new Error("the claim returned other jobs than the new one");
      await store.outbox.settle(job.id, WORKER, { state: "done" });
    }
    times.sort((a, b) => a - b);
    return { store: name, backlog, claimMsMedian: median(times), claimMsP90: times[Math.floor(times.length * 0.9)]! };
  } finally {
    await store.close();
  }
}

async function onSqlite(backlog: number): Promise<Row> {
  const dir = mkdtempSync(join(tmpdir(), "myphone-backlog-"));
  try {
    return await measure("sqlite", SqliteEventStore.open(join(dir, "myphone.sqlite")), backlog);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const rows: Row[] = [];
  const skipped: string[] = [];
  for (const size of SIZES) rows.push(await onSqlite(size));
  const source = postgresSource();
  if (process.env.BACKLOG_POSTGRES === "0") skipped.push("PostgreSQL: BACKLOG_POSTGRES=0");
  else if (source.kind === "missing") skipped.push(`PostgreSQL: ${source.reason}`);
  else {
    let server: PostgresServer | undefined;
    try {
      server = await startPostgres({ durable: true });
      for (const size of SIZES)
        rows.push(
          await measure(
            "postgres",
            await PostgresEventStore.open(await server.createDatabase(`backlog_${size}`)),
            size,
          ),
        );
    } finally {
      await server?.stop();
    }
  }
  const baseline = (store: string) => rows.find((row) => row.store === store && row.backlog === 0)?.claimMsMedian;
  const table = markdownTable(
    ["store", "jobs waiting for a retry", "claim, median ms", "claim, p90 ms", "vs no backlog"],
    rows.map((row) => [
      row.store,
      String(row.backlog),
      row.claimMsMedian.toFixed(3),
      row.claimMsP90.toFixed(3),
      baseline(row.store) ? `${(row.claimMsMedian / baseline(row.store)!).toFixed(1)}×` : "",
    ]),
  );
  process.stdout.write(`${table}\n`);
  for (const reason of skipped) process.stdout.write(`SKIPPED ${reason}\n`);
  const file = saveResult("outbox-backlog", {
    date: new Date().toISOString(),
    ...machine(),
    claims: CLAIMS,
    rows,
    skipped,
  });
  process.stdout.write(`saved ${file}\n`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
