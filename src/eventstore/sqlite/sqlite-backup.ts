import fs from "node:fs";
import path from "node:path";
import Database from "better-sqlite3";
import { createPrivateSqliteFile } from "../../storage/sqlite-file.js";

/** What `myphone backup` wrote. */
export interface SqliteBackup {
  readonly file: string;
  readonly bytes: number;
  /** Events in the copy: a quick way to compare it with what the service has answered. */
  readonly events: number;
  readonly tookMs: number;
}

/**
 * Copies the SQLite store at `source` to the new file `destination` while servers keep writing. `VACUUM INTO` reads
 * one snapshot (WAL readers never block writers; the backup API would restart on every write of another connection).
 * The copy is compact, self-contained (rollback journal), 0600 and checked; an existing file is never overwritten
 * and a failed copy is removed.
 */
export function backupSqlite(source: string, destination: string): SqliteBackup {
  const started = Date.now();
  const file = path.resolve(destination);
  // An empty new file: VACUUM INTO accepts one, and it gets the store's private mode.
  createPrivateSqliteFile(file, { mustBeNew: true });
  try {
    const db = new Database(source, { fileMustExist: true });
    try {
      db.pragma("busy_timeout = 5000");
      db.prepare("VACUUM INTO ?").run(file);
    } finally {
      db.close();
    }
    const copy = new Database(file, { readonly: true, fileMustExist: true });
    try {
      const check = copy.pragma("quick_check", { simple: true });
      if (check !== "ok") throw new Error(`the copy failed SQLite's quick_check: ${String(check)}`);
      const events = copy.prepare("SELECT count(*) FROM events").pluck().get() as number;
      return { file, bytes: fs.statSync(file).size, events, tookMs: Date.now() - started };
    } finally {
      copy.close();
    }
  } catch (error) {
    fs.rmSync(file, { force: true });
    throw error;
  }
}
