import { createHash } from "node:crypto";
import { Pool, type PoolClient } from "pg";
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
import { MIGRATION_LOCK } from "../eventstore/postgres-event-store.js";

/**
 * Send counts in PostgreSQL, shared by every process on the database. A reservation is one transaction that
 * first takes a transaction-scoped advisory lock per key (in a fixed order, so two reservations cannot
 * deadlock), then counts and inserts: under READ COMMITTED each statement after the lock sees every
 * reservation committed by the lock's previous holder, so no two processes can both take the last slot.
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

/** First half of every per-key advisory lock ("myPh"); two-int keys never collide with single-bigint ones. */
const LOCK_NAMESPACE = 0x6d795068;
/** The second half of a key's advisory lock: 32 bits of its SHA-256 (a collision only serialises two keys). */
function lockOf(key: string): number {
  return createHash("sha256").update(key).digest().readInt32BE(0);
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

export class PostgresSendLimiter implements SendLimiter {
  private lastForgotMs = 0;

  private constructor(
    private readonly pool: Pool,
    private readonly ownsPool: boolean,
    private readonly retentionMs: number,
  ) {}

  /** Connects and creates the table if needed (under the migration lock: concurrent CREATE IF NOT EXISTS can fail). */
  static async open(options: PostgresSendLimiterOptions): Promise<PostgresSendLimiter> {
    const pool = options.pool ?? new Pool({ connectionString: options.connectionString, max: 4 });
    // Without a listener, an idle connection dropped by the server would crash the process.
    if (!options.pool) pool.on("error", (error) => options.onBackgroundError?.(error));
    const limiter = new PostgresSendLimiter(pool, options.pool === undefined, options.retentionMs ?? DEFAULT_RETENTION_MS);
    try {
      await limiter.inTransaction(async (client) => {
        await client.query("SELECT pg_advisory_xact_lock($1)", [MIGRATION_LOCK.toString()]);
        await client.query(SCHEMA);
      });
    } catch (error) {
      if (limiter.ownsPool) await pool.end();
      throw error;
    }
    return limiter;
  }

  async reserve(keys: readonly LimitedKey[], now: Date): Promise<Reservation> {
    const nowMs = now.getTime();
    const horizon = nowMs - longestWindowMs(keys);
    const counted = countedKeys(keys);
    const result = await this.inTransaction(async (client) => {
      await this.lock(client, counted);
      const { rows } = await client.query<{ limit_key: string; sent_at: string }>(
        `SELECT limit_key, sent_at FROM ${TABLE} WHERE limit_key = ANY($1) AND sent_at > $2`,
        [counted, horizon],
      );
      const sentAt = new Map<string, number[]>();
      for (const row of rows) sentAt.set(row.limit_key, [...(sentAt.get(row.limit_key) ?? []), Number(row.sent_at)]);
      const refusal = refusalOf(keys, (key) => sentAt.get(key) ?? [], nowMs);
      if (refusal) return refusal;
      const id = newReservationId();
      await client.query(
        `INSERT INTO ${TABLE} (limit_key, sent_at, reservation) SELECT k, $2, $3 FROM unnest($1::text[]) AS k`,
        [counted, nowMs, id],
      );
      return { allowed: true as const, id };
    });
    await this.forgetOldSends(nowMs - Math.max(this.retentionMs, longestWindowMs(keys)));
    return result;
  }

  async release(id: string): Promise<void> {
    await this.inTransaction(async (client) => {
      const { rows } = await client.query<{ limit_key: string }>(`SELECT DISTINCT limit_key FROM ${TABLE} WHERE reservation = $1`, [id]);
      // The same locks as reserve, so a release never interleaves with a count of the same key.
      await this.lock(client, rows.map((row) => row.limit_key));
      await client.query(`DELETE FROM ${TABLE} WHERE reservation = $1`, [id]);
    });
  }

  async close(): Promise<void> {
    if (this.ownsPool) await this.pool.end();
  }

  /** Takes the advisory locks of `keys` in ascending order (a global order rules out deadlocks). */
  private async lock(client: PoolClient, keys: readonly string[]): Promise<void> {
    const locks = [...new Set(keys.map(lockOf))].sort((a, b) => a - b);
    for (const lock of locks) await client.query("SELECT pg_advisory_xact_lock($1, $2)", [LOCK_NAMESPACE, lock]);
  }

  /** Deletes sends older than any window, now and then, outside the reservation (its row locks could otherwise meet). */
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

  private async inTransaction<T>(work: (client: PoolClient) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    try {
      await client.query("BEGIN");
      const result = await work(client);
      await client.query("COMMIT");
      return result;
    } catch (error) {
      await client.query("ROLLBACK").catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }
}
