import { chmodSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SqliteSendLimiter } from "../../src/abuse/sqlite-send-limiter.js";
import { SqliteEventStore } from "../../src/eventstore/sqlite/sqlite-event-store.js";

// The database holds phone numbers, user names and encrypted codes: a file myphone creates is for its user only.

const mode = (file: string) => statSync(file).mode & 0o777;
let root: string;

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), "myphone-sqlite-mode-"));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

/** Opens the event store at `file`, appends one event, runs `whileOpen` with the connection still open, closes it. */
async function writeOnce(file: string, whileOpen: () => void = () => undefined): Promise<void> {
  const store = SqliteEventStore.open(file);
  try {
    await store.append({
      aggregateType: "user",
      aggregateId: "1",
      owner: "o",
      expectedSequence: 0,
      events: [{ type: "t", data: null }],
    });
    whileOpen();
  } finally {
    await store.close();
  }
}

test("the event store creates its folder 0700 and the database, -wal and -shm 0600", async () => {
  const file = join(root, "new", "data", "myphone.sqlite");
  // Checked while the connection is open: the -wal and -shm files exist only then.
  await writeOnce(file, () => {
    expect([mode(join(root, "new")), mode(join(root, "new", "data"))]).toEqual([0o700, 0o700]);
    expect([mode(file), mode(`${file}-wal`), mode(`${file}-shm`)]).toEqual([0o600, 0o600, 0o600]);
  });
});

test("the send limiter, when it opens the file first, creates it 0600 too", async () => {
  const file = join(root, "myphone.sqlite");
  const limiter = SqliteSendLimiter.open(file);
  try {
    expect(mode(file)).toBe(0o600);
  } finally {
    await limiter.close();
  }
});

test("an existing database keeps the mode its operator gave it", async () => {
  const file = join(root, "myphone.sqlite");
  writeFileSync(file, "");
  chmodSync(file, 0o640);
  await writeOnce(file);
  expect(mode(file)).toBe(0o640);
});
