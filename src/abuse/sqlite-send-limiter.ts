import Database from "better-sqlite3";
import { createPrivateSqliteFile } from "../eventstore/sqlite-file.js";
import {
  DEFAULT_RETENTION_MS,
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
 * One BEGIN IMMEDIATE transaction per reservation: SQLite's single write lock makes count-then-insert atomic
 * across connections and processes (others wait up to busy_timeout).
 *
 * Durability without an fsync of its own: this connection commits with synchronous=NORMAL, so a reservation
 * reaches the write-ahead log (and survives a crash of the process) but is not fsynced by itself. The send it
 * allows is acknowledged only after the code's events commit on the event store's connection, with
 * synchronous=FULL, to the same WAL file, later in it: that fsync makes every earlier frame durable as well, and
 * SQLite's recovery never keeps a commit without the frames before it (the frame checksums chain). So after a
 * power loss, a send that happened is still counted; only reservations whose send never committed can be lost,
 * which is what `release` would have done anyway. Before, each reservation paid one fsync outside the group
 * commit, which halved SetMyPhone's throughput with abuse limits on (docs/performance.md).
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
  private readonly reserveTransaction: (keys: readonly LimitedKey[], nowMs: number) => Reservation;
  private readonly releaseStatement: Database.Statement<[string]>;

  private constructor(
    private readonly db: Database.Database,
    retentionMs: number,
  ) {
    const forget = db.prepare<[number]>("DELETE FROM send_limit_hits WHERE sent_at <= ?");
    const sentAt = db.prepare<[string, number], { sent_at: number }>(
      "SELECT sent_at FROM send_limit_hits WHERE limit_key = ? AND sent_at > ? ORDER BY sent_at",
    );
    const insert = db.prepare<[string, number, string]>("INSERT INTO send_limit_hits (limit_key, sent_at, reservation) VALUES (?, ?, ?)");
    this.releaseStatement = db.prepare<[string]>("DELETE FROM send_limit_hits WHERE reservation = ?");
    const reserve = db.transaction((keys: readonly LimitedKey[], nowMs: number): Reservation => {
      forget.run(nowMs - Math.max(retentionMs, longestWindowMs(keys)));
      const horizon = nowMs - longestWindowMs(keys);
      const refusal = refusalOf(keys, (key) => sentAt.all(key, horizon).map((row) => row.sent_at), nowMs);
      if (refusal) return refusal;
      const id = newReservationId();
      for (const key of countedKeys(keys)) insert.run(key, nowMs, id);
      return { allowed: true, id };
    });
    this.reserveTransaction = (keys, nowMs) => reserve.immediate(keys, nowMs);
  }

  /**
   * Opens (and creates, if needed) the limiter's table in the SQLite file at `file`. Sends older than
   * `retentionMs` (at least the longest window of any cap in use) are forgotten.
   */
  static open(file: string, options: { retentionMs?: number } = {}): SqliteSendLimiter {
    createPrivateSqliteFile(file);
    const db = new Database(file);
    // Wait for other writers like the event store's connection; NORMAL, not FULL: see the class comment.
    db.pragma("busy_timeout = 5000");
    db.pragma("journal_mode = WAL");
    db.pragma("synchronous = NORMAL");
    db.transaction(() => db.exec(SCHEMA)).immediate();
    return new SqliteSendLimiter(db, options.retentionMs ?? DEFAULT_RETENTION_MS);
  }

  async reserve(keys: readonly LimitedKey[], now: Date): Promise<Reservation> {
    return this.reserveTransaction(keys, now.getTime());
  }

  async release(id: string): Promise<void> {
    this.releaseStatement.run(id);
  }

  async close(): Promise<void> {
    this.db.close();
  }
}
