import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { SqliteWriteBatcher } from "../../src/storage/sqlite-write-batcher.js";

/**
 * Group commit without savepoints: writes queued in one event-loop turn share a transaction; a refusal (thrown
 * before writing) drops only its own write; any other failure must not let a half-done write commit, nor take
 * the other writes of its batch down.
 */

class Refusal extends Error {}

let dir: string;
let db: Database.Database;
let observer: Database.Database;
let batcher: SqliteWriteBatcher;
let insert: Database.Statement<[string]>;
const rows = () => db.prepare("SELECT value FROM t ORDER BY rowid").pluck().all() as string[];
/** What a second connection sees committed: the batch's own writes stay invisible to it until the COMMIT. */
let committed: () => string[];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "myphone-batcher-"));
  db = new Database(join(dir, "db.sqlite"));
  db.pragma("journal_mode = WAL");
  db.exec("CREATE TABLE t (value TEXT NOT NULL UNIQUE)");
  insert = db.prepare("INSERT INTO t (value) VALUES (?)");
  batcher = new SqliteWriteBatcher(db, (error) => error instanceof Refusal);
  observer = new Database(join(dir, "db.sqlite"), { readonly: true });
  const read = observer.prepare("SELECT value FROM t ORDER BY rowid").pluck();
  committed = () => read.all() as string[];
});

afterEach(() => {
  observer.close();
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

test("writes queued in one turn commit together, in queue order, and resolve with their values", async () => {
  const seenByOthers: string[][] = [];
  const results = await Promise.all(
    ["a", "b", "c"].map((value) =>
      batcher.run(() => {
        seenByOthers.push(committed());
        return insert.run(value).changes;
      }),
    ),
  );
  expect(results).toEqual([1, 1, 1]);
  expect(rows()).toEqual(["a", "b", "c"]);
  // One transaction: while it ran, no other connection saw any of its writes.
  expect(seenByOthers).toEqual([[], [], []]);
  expect(committed()).toEqual(["a", "b", "c"]);
});

test("a refusal rejects its own write and the rest of the batch commits", async () => {
  const outcomes = await Promise.allSettled([
    batcher.run(() => insert.run("a")),
    batcher.run(() => {
      throw new Refusal("expected sequence 3, found 4");
    }),
    batcher.run(() => insert.run("c")),
  ]);
  expect(outcomes.map((o) => o.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
  expect((outcomes[1] as PromiseRejectedResult).reason).toBeInstanceOf(Refusal);
  expect(rows()).toEqual(["a", "c"]);
});

test("a write failing halfway never commits its first half; the other writes of its batch still commit", async () => {
  const outcomes = await Promise.allSettled([
    batcher.run(() => insert.run("a")),
    batcher.run(() => {
      insert.run("half");
      insert.run("a"); // UNIQUE violation after a write: no refusal
    }),
    batcher.run(() => insert.run("c")),
  ]);
  expect(outcomes.map((o) => o.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
  expect(String((outcomes[1] as PromiseRejectedResult).reason)).toMatch(/UNIQUE/);
  expect(rows()).toEqual(["a", "c"]);
});

test("a lone write failing halfway is rolled back and rejected with its own error", async () => {
  await expect(
    batcher.run(() => {
      insert.run("half");
      throw new Error("disk on fire");
    }),
  ).rejects.toThrow("disk on fire");
  expect(rows()).toEqual([]);
});

test("a write is committed when its promise resolves; writes of later turns form later batches", async () => {
  await batcher.run(() => insert.run("a"));
  expect(committed()).toEqual(["a"]);
  let seenByOthers: string[] = [];
  await batcher.run(() => {
    seenByOthers = committed();
    insert.run("b");
  });
  expect(seenByOthers).toEqual(["a"]);
  expect(committed()).toEqual(["a", "b"]);
});
