import type Database from "better-sqlite3";
import { openSqliteConnection } from "../storage/sqlite-connection.js";
import { SqliteWriteBatcher } from "../storage/sqlite-write-batcher.js";
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

const SCHEMA = `
CREATE TABLE IF NOT EXISTS send_limit_hits (
  limit_key   TEXT    NOT NULL,
  sent_at     INTEGER NOT NULL,
  reservation TEXT    NOT NULL
);
CREATE INDEX IF NOT EXISTS send_limit_hits_by_key ON send_limit_hits (limit_key, sent_at);
CREATE INDEX IF NOT EXISTS send_limit_hits_by_time ON send_limit_hits (sent_at);
CREATE INDEX IF NOT EXISTS send_limit_hits_by_reservation ON send_limit_hits (reservation);
`;

/**
 * Send counts in the events' SQLite file. Count-then-insert runs in a BEGIN IMMEDIATE transaction (SQLite's single
 * write lock makes it atomic across processes), shared by one turn's reservations (SqliteWriteBatcher).
 * synchronous=NORMAL, no fsync of its own: the send a reservation allows is acknowledged only after the code's events
 * commit with FULL later in the same WAL, whose fsync makes the earlier frames durable too (SQLite's recovery never
 * keeps a commit without the frames before it). A power loss can only drop reservations whose send never committed.
 */
export class SqliteSendLimiter implements SendLimiter {
  private readonly writes: SqliteWriteBatcher;
  private readonly reserveNow: (keys: readonly LimitedKey[], nowMs: number) => Reservation;
  private readonly releaseStatement: Database.Statement<[string]>;
  private lastForgotMs = -Infinity;

  private constructor(
    private readonly db: Database.Database,
    retentionMs: number,
  ) {
    // Nothing the limiter writes refuses by throwing (a refusal is returned), so any error fails its batch.
    this.writes = new SqliteWriteBatcher(db, () => false);
    const forget = db.prepare<[number]>("DELETE FROM send_limit_hits WHERE sent_at <= ?");
    const sentAt = db
      .prepare<[string, number], number>(
        "SELECT sent_at FROM send_limit_hits WHERE limit_key = ? AND sent_at > ? ORDER BY sent_at",
      )
      .pluck();
    const insert = db.prepare<[string, number, string]>(
      "INSERT INTO send_limit_hits (limit_key, sent_at, reservation) VALUES (?, ?, ?)",
    );
    this.releaseStatement = db.prepare<[string]>("DELETE FROM send_limit_hits WHERE reservation = ?");
    // Runs inside the batch's write transaction.
    this.reserveNow = (keys, nowMs) => {
      const window = longestWindowMs(keys);
      if (nowMs - this.lastForgotMs >= FORGET_INTERVAL_MS) {
        forget.run(nowMs - Math.max(retentionMs, window));
        this.lastForgotMs = nowMs;
      }
      const horizon = nowMs - window;
      const refusal = refusalOf(keys, (key) => sentAt.all(key, horizon), nowMs);
      if (refusal) return refusal;
      const id = newReservationId();
      for (const key of countedKeys(keys)) insert.run(key, nowMs, id);
      return { allowed: true, id };
    };
  }

  /** Opens (creating if needed) the limiter's table in `file`; sends older than `retentionMs` are forgotten. */
  static open(file: string, options: { retentionMs?: number } = {}): SqliteSendLimiter {
    // NORMAL, not FULL: see the class comment.
    const db = openSqliteConnection(file, { synchronous: "NORMAL", setUp: (connection) => connection.exec(SCHEMA) });
    try {
      return new SqliteSendLimiter(db, options.retentionMs ?? DEFAULT_RETENTION_MS);
    } catch (error) {
      db.close();
      throw error;
    }
  }

  reserve(keys: readonly LimitedKey[], now: Date): Promise<Reservation> {
    const nowMs = now.getTime();
    return this.writes.run(() => this.reserveNow(keys, nowMs));
  }

  async release(id: string): Promise<void> {
    await this.writes.run(() => this.releaseStatement.run(id));
  }

  async close(): Promise<void> {
    this.db.close();
  }
}
