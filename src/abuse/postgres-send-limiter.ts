import pg, { type Pool, escapeLiteral, type PoolClient } from "pg";
import {
  DEFAULT_RETENTION_MS,
  FORGET_INTERVAL_MS,
  countedKeys,
  longestWindowMs,
  newReservationId,
  refusalOf,
  type LimitedKey,
  type Reservation,
  type SendLimiter,
} from "./send-limiter.js";
import { createPostgresPool } from "../storage/postgres-connection.js";
import {
  advisoryLockOf,
  inTransaction,
  migrateUnderLock,
  onPooledConnection,
} from "../storage/postgres-transactions.js";

/**
 * Send counts in PostgreSQL, shared by every process on the database. Reservations arriving while a batch is in
 * flight share the next transaction (group commit), in two round trips:
 * 1. `BEGIN`, an advisory lock per key (ascending: no deadlocks), then the count of every key's recent sends, as
 *    separate statements: under READ COMMITTED the count's snapshot follows the locks and sees what their previous
 *    holders committed (one statement's snapshot would predate its lock), so no two processes take the last slot.
 * 2. Decisions here in arrival order, each seeing the batch's earlier sends; one INSERT of the allowed ones; COMMIT.
 * The simple protocol carries no parameters: numbers are checked integers, text goes through pg's `escapeLiteral`.
 */

/** The table lives in the event store's schema ("myphone"), so myphone can share a database with other applications. */
const TABLE = "myphone.send_limit_hits";

const SCHEMA = `
CREATE SCHEMA IF NOT EXISTS myphone;
CREATE TABLE IF NOT EXISTS ${TABLE} (
  limit_key   text   NOT NULL,
  sent_at     bigint NOT NULL,
  reservation text   NOT NULL
);
CREATE INDEX IF NOT EXISTS send_limit_hits_by_key ON ${TABLE} (limit_key, sent_at);
CREATE INDEX IF NOT EXISTS send_limit_hits_by_time ON ${TABLE} (sent_at);
CREATE INDEX IF NOT EXISTS send_limit_hits_by_reservation ON ${TABLE} (reservation);
`;

/** First half of every per-key advisory lock ("myPh"). */
const LOCK_NAMESPACE = 0x6d795068;

/** The advisory locks of `keys`, distinct and ascending; keys sharing the text before a `|` (a number) share one. */
function locksOf(keys: readonly string[]): number[] {
  return [...new Set(keys.map((key) => advisoryLockOf(key.split("|", 1)[0]!)))].sort((a, b) => a - b);
}

/** Reservations per transaction: their advisory locks stay near max_locks_per_transaction (64), their SQL small. */
const MAX_BATCH = 64;

interface PendingReservation {
  readonly keys: readonly LimitedKey[];
  readonly nowMs: number;
  readonly resolve: (reservation: Reservation) => void;
  readonly reject: (error: unknown) => void;
}

export interface PostgresSendLimiterOptions {
  /** A pool to share (not closed by `close`); otherwise one is made from `connectionString`. */
  readonly pool?: Pool;
  readonly connectionString?: string;
  /** Sends older than this are forgotten; at least the longest window of any cap in use. */
  readonly retentionMs?: number;
  /** Where errors of idle pooled connections go (e.g. the server restarted); the pool reconnects by itself. */
  readonly onBackgroundError?: (error: unknown) => void;
}

/** The SendLimiter on PostgreSQL (see the top of this file). */
export class PostgresSendLimiter implements SendLimiter {
  private lastForgotMs = 0;
  private queue: PendingReservation[] = [];
  /** A flush is scheduled or running: reservations queued meanwhile are taken by its loop. */
  private flushing = false;
  /** The running flush loop, which `close` lets finish before it ends the pool. */
  private flushed: Promise<void> = Promise.resolve();

  private constructor(
    private readonly pool: Pool,
    private readonly ownsPool: boolean,
    private readonly retentionMs: number,
  ) {}

  /** Connects and creates the table if needed (under the migration lock: concurrent CREATE IF NOT EXISTS can fail). */
  static async open(options: PostgresSendLimiterOptions): Promise<PostgresSendLimiter> {
    const pool =
      options.pool ??
      createPostgresPool({ connectionString: options.connectionString, max: 4 }, (error) =>
        options.onBackgroundError?.(error),
      );
    const limiter = new PostgresSendLimiter(
      pool,
      options.pool === undefined,
      options.retentionMs ?? DEFAULT_RETENTION_MS,
    );
    try {
      await migrateUnderLock(pool, async (client) => {
        await client.query(SCHEMA);
      });
    } catch (error) {
      if (limiter.ownsPool) await pool.end();
      throw error;
    }
    return limiter;
  }

  reserve(keys: readonly LimitedKey[], now: Date): Promise<Reservation> {
    const nowMs = now.getTime();
    // Checked here, not in the batch: a key PostgreSQL cannot store would fail every reservation sharing its batch.
    if (!Number.isSafeInteger(nowMs)) return Promise.reject(new Error(`send limiter: not a time: ${String(now)}`));
    for (const { key } of keys) {
      if (key.includes("\0"))
        return Promise.reject(new Error("send limiter: a key holds a NUL character, which PostgreSQL text cannot"));
    }
    return new Promise((resolve, reject) => {
      this.queue.push({ keys, nowMs, resolve, reject });
      if (!this.flushing) {
        this.flushing = true;
        // setImmediate: every reservation asked for in this turn of the event loop joins the first batch.
        this.flushed = new Promise((done) => setImmediate(() => void this.flush().then(done)));
      }
    });
  }

  async release(id: string): Promise<void> {
    await inTransaction(this.pool, async (client) => {
      const { rows } = await client.query<{ limit_key: string }>(
        `SELECT DISTINCT limit_key FROM ${TABLE} WHERE reservation = $1`,
        [id],
      );
      // The same locks as reserve, so a release never interleaves with a count of the same key.
      await this.lock(
        client,
        rows.map((row) => row.limit_key),
      );
      await client.query(`DELETE FROM ${TABLE} WHERE reservation = $1`, [id]);
    });
  }

  async close(): Promise<void> {
    await this.flushed;
    if (this.ownsPool) await this.pool.end();
  }

  /** Takes the advisory locks of `keys` in ascending order (a global order rules out deadlocks). */
  private async lock(client: PoolClient, keys: readonly string[]): Promise<void> {
    for (const lock of locksOf(keys))
      await client.query("SELECT pg_advisory_xact_lock($1, $2)", [LOCK_NAMESPACE, lock]);
  }

  /** Runs batches until no reservation waits; one batch at a time, so the next one gathers during its commit. */
  private async flush(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, MAX_BATCH);
      try {
        const outcomes = await this.reserveBatch(batch);
        batch.forEach((pending, index) => pending.resolve(outcomes[index]!));
      } catch (error) {
        // An ambiguous COMMIT (connection lost) at worst counts sends that never happen: it errs towards fewer SMS.
        for (const pending of batch) pending.reject(error);
      }
      const newest = Math.max(...batch.map((pending) => pending.nowMs));
      // Not awaited: a large DELETE once a minute should not hold up the next batch (it catches its own errors).
      void this.forgetOldSends(
        newest - Math.max(this.retentionMs, ...batch.map((pending) => longestWindowMs(pending.keys))),
      );
    }
    this.flushing = false;
  }

  /** One transaction for `batch`, in two round trips (see the top of this file); outcomes in the batch's order. */
  private async reserveBatch(batch: readonly PendingReservation[]): Promise<Reservation[]> {
    const counted = [...new Set(batch.flatMap((pending) => countedKeys(pending.keys)))];
    if (counted.length === 0) return batch.map(() => ({ allowed: true, id: newReservationId() }));
    const horizon = Math.min(...batch.map((pending) => pending.nowMs - longestWindowMs(pending.keys)));
    const keyList = counted.map((key) => escapeLiteral(key)).join(", ");
    const lockList = locksOf(counted).join(", ");
    // The transaction begins in the message that takes the locks; a failure rolls back whatever it began.
    return onPooledConnection(this.pool, async (client) => {
      const results = (await client.query(
        `BEGIN; DO $$DECLARE lock integer; BEGIN FOREACH lock IN ARRAY ARRAY[${lockList}]::integer[] LOOP ` +
          `PERFORM pg_advisory_xact_lock(${LOCK_NAMESPACE}, lock); END LOOP; END$$; ` +
          `SELECT limit_key, sent_at FROM ${TABLE} WHERE limit_key = ANY(ARRAY[${keyList}]::text[]) AND sent_at > ${horizon}`,
      )) as unknown as pg.QueryResult<{ limit_key: string; sent_at: string }>[];
      const sentAt = new Map<string, number[]>();
      const countSend = (key: string, at: number) => {
        const times = sentAt.get(key);
        if (times) times.push(at);
        else sentAt.set(key, [at]);
      };
      for (const row of results[results.length - 1]!.rows) countSend(row.limit_key, Number(row.sent_at));
      const rows: string[] = [];
      const outcomes = batch.map(({ keys, nowMs }): Reservation => {
        const refusal = refusalOf(keys, (key) => sentAt.get(key) ?? [], nowMs);
        if (refusal) return refusal;
        const id = newReservationId();
        for (const key of countedKeys(keys)) {
          countSend(key, nowMs);
          rows.push(`(${escapeLiteral(key)}, ${nowMs}, ${escapeLiteral(id)})`);
        }
        return { allowed: true, id };
      });
      // A failed INSERT skips the COMMIT after it (the rest of a simple-protocol message is not run).
      await client.query(
        rows.length > 0
          ? `INSERT INTO ${TABLE} (limit_key, sent_at, reservation) VALUES ${rows.join(", ")}; COMMIT`
          : "COMMIT",
      );
      return outcomes;
    });
  }

  /** Deletes sends older than any window, now and then, outside the reservations (whose row locks it could meet). */
  private async forgetOldSends(horizon: number): Promise<void> {
    const nowMs = Date.now();
    if (nowMs - this.lastForgotMs < FORGET_INTERVAL_MS) return;
    this.lastForgotMs = nowMs;
    try {
      await this.pool.query(`DELETE FROM ${TABLE} WHERE sent_at <= $1`, [horizon]);
    } catch {
      // Two processes forgetting the same rows may deadlock; PostgreSQL aborts one, and the next round retries.
    }
  }
}
