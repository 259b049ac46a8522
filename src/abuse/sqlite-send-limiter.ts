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

/**
 * Send counts in a table of the events' SQLite file, so every process serving that data directory shares them.
 * A reservation counts and inserts inside one BEGIN IMMEDIATE transaction: SQLite's single write lock makes
 * count-then-insert atomic across connections and processes (others wait up to busy_timeout). Reservations that
 * arrive in the same turn of the event loop share that transaction and its commit (group commit,
 * SqliteWriteBatcher), each seeing the ones before it; a commit per reservation cost more than the events' whole
 * append did (docs/performance.md).
 *
 * Durability without an fsync of its own: this connection commits with synchronous=NORMAL, so a reservation
 * reaches the write-ahead log (and survives a crash of the process) but is not fsynced by itself. The send it
 * allows is acknowledged only after the code's events commit on the event store's connection, with
 * synchronous=FULL, to the same WAL file, later in it: that fsync makes every earlier frame durable as well, and
 * SQLite's recovery never keeps a commit without the frames before it (the frame checksums chain). So after a
 * power loss, a send that happened is still counted; only reservations whose send never committed can be lost,
 * which is what `release` would have done anyway.
 */

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
      .prepare<[string, number], number>("SELECT sent_at FROM send_limit_hits WHERE limit_key = ? AND sent_at > ? ORDER BY sent_at")
      .pluck();
    const insert = db.prepare<[string, number, string]>("INSERT INTO send_limit_hits (limit_key, sent_at, reservation) VALUES (?, ?, ?)");
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

  /**
   * Opens (and creates, if needed) the limiter's table in the SQLite file at `file`. Sends older than
   * `retentionMs` (at least the longest window of any cap in use) are forgotten.
   */
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
