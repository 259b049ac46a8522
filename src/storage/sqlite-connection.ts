import Database from "better-sqlite3";
import { createPrivateSqliteFile } from "./sqlite-file.js";

export interface SqliteConnectionOptions {
  /**
   * FULL fsyncs every commit before it is acknowledged; NORMAL leaves that to a later FULL commit on the same WAL
   * (what the send limiter relies on, see sqlite-send-limiter.ts).
   */
  readonly synchronous: "FULL" | "NORMAL";
  /** Creates or upgrades this connection's tables; runs in one BEGIN IMMEDIATE transaction. */
  readonly setUp: (db: Database.Database) => void;
}

/**
 * Opens a connection on the SQLite file at `file` (created for this user only when missing) the way every myphone
 * connection on it must be: WAL, so readers never block the writer, and a wait of up to 5 s for the single write
 * lock instead of failing at once when another connection or process holds it. Closes it again when set-up fails.
 */
export function openSqliteConnection(file: string, options: SqliteConnectionOptions): Database.Database {
  createPrivateSqliteFile(file);
  const db = new Database(file);
  try {
    db.pragma("busy_timeout = 5000");
    db.pragma("journal_mode = WAL");
    db.pragma(`synchronous = ${options.synchronous}`);
    db.transaction(() => options.setUp(db)).immediate();
    return db;
  } catch (error) {
    db.close();
    throw error;
  }
}
