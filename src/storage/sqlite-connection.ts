import Database from "better-sqlite3";
import { createPrivateSqliteFile } from "./sqlite-file.js";

export interface SqliteConnectionOptions {
  /** FULL fsyncs every commit; NORMAL leaves that to a later FULL commit on the same WAL (sqlite-send-limiter.ts). */
  readonly synchronous: "FULL" | "NORMAL";
  /** Creates or upgrades this connection's tables; runs in one BEGIN IMMEDIATE transaction. */
  readonly setUp: (db: Database.Database) => void;
}

/**
 * Opens `file` (created private when missing) as every myphone connection must: WAL, so readers never block the
 * writer, and a wait for the single write lock (busy_timeout) instead of failing at once. Closes it if set-up fails.
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
