import fs from "node:fs";
import path from "node:path";

/** The SQLite file inside the data directory: the events, the outbox and the send limiter's counts. */
export const SQLITE_FILE = "myphone.sqlite";

/**
 * Creates a missing SQLite file and its folder for this user only (0600/0700; `-wal` and `-shm` inherit the mode):
 * it holds phone numbers and codes. Existing modes are kept (the operator's choice). With `mustBeNew` an existing
 * file is refused atomically (EEXIST), so a backup never overwrites one.
 */
export function createPrivateSqliteFile(file: string, options: { mustBeNew?: boolean } = {}): void {
  if (file === ":memory:") return;
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true, mode: 0o700 });
  fs.closeSync(fs.openSync(file, options.mustBeNew ? "wx" : "a", 0o600));
}
