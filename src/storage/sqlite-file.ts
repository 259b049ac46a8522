import fs from "node:fs";
import path from "node:path";

/** The SQLite file inside the data directory: the events, the outbox and the send limiter's counts. */
export const SQLITE_FILE = "myphone.sqlite";

/**
 * Creates a missing SQLite database file, and its folder, for this user only (0600, folder 0700): the file holds
 * phone numbers, user names and encrypted codes. SQLite creates the `-wal` and `-shm` files beside it with the
 * database file's mode. An existing file or folder keeps its mode: the operator may have chosen one on purpose.
 * With `mustBeNew` an existing file is refused instead (EEXIST), atomically: a backup never overwrites one.
 */
export function createPrivateSqliteFile(file: string, options: { mustBeNew?: boolean } = {}): void {
  if (file === ":memory:") return;
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true, mode: 0o700 });
  fs.closeSync(fs.openSync(file, options.mustBeNew ? "wx" : "a", 0o600));
}
