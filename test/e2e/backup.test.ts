import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { DevTokenIssuer } from "../../src/auth/dev-token-issuer.js";
import { USER_AGGREGATE } from "../../src/domain/user-events.js";
import { SQLITE_FILE } from "../../src/storage/sqlite-file.js";
import { SqliteEventStore } from "../../src/eventstore/sqlite/sqlite-event-store.js";
import { runCli, setPhoneAcknowledged, startCliServer } from "../support/cli-process.js";
import { addUsersToStore } from "../support/store-users.js";

/** `myphone backup`: a consistent copy of a store that a running server keeps writing to, and a restore from it. */

const USERS = 40;
const swissMobile = (i: number) => `+41795${String(i).padStart(6, "0")}`;
let root: string;

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), "myphone-backup-"));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

/** USERS users in a new SQLite store in `dataDir`; returns their ids. */
async function seedUsers(dataDir: string): Promise<string[]> {
  const store = SqliteEventStore.open(join(dataDir, SQLITE_FILE));
  const userIds = Array.from({ length: USERS }, (_, i) => `31000000000000${String(i).padStart(4, "0")}`);
  try {
    await addUsersToStore(store, userIds, "org-backup", { dataDir });
  } finally {
    await store.close();
  }
  return userIds;
}

test("a backup taken under writes holds every write acknowledged before it began, and a restored store serves it", async () => {
  const dataDir = join(root, "data");
  const env = { MYPHONE_DATA_DIR: dataDir, MYPHONE_ABUSE_LIMITS: "off" };
  const userIds = await seedUsers(dataDir);
  const issuer = await DevTokenIssuer.open(dataDir);
  const tokens = await Promise.all(userIds.map((userId) => issuer.mint(userId, 600)));
  const server = await startCliServer(env);
  const backupFile = join(root, "backups", "myphone-1.sqlite");
  let before: (number | undefined)[] = [];
  try {
    // Round 1, acknowledged before the backup starts: each user's first number.
    before = await Promise.all(userIds.map((_, i) => setPhoneAcknowledged(server.url, tokens[i]!, swissMobile(i))));
    expect(before.every((sequence) => sequence !== undefined)).toBe(true);

    // Round 2 runs while the backup is taken (a bounded number of calls).
    let writing = true;
    const writer = (async () => {
      let n = 0;
      while (writing && n < 400) {
        const i = n % USERS;
        await setPhoneAcknowledged(server.url, tokens[i]!, swissMobile(1000 + n));
        n++;
      }
      return n;
    })();
    const printed = JSON.parse(await runCli(["backup", "--to", backupFile], env)) as {
      file: string;
      bytes: number;
      events: number;
      tookMs: number;
    };
    writing = false;
    expect(await writer).toBeGreaterThan(0);

    expect(printed.file).toBe(backupFile);
    expect(printed.bytes).toBe(statSync(backupFile).size);
    expect(statSync(backupFile).mode & 0o777).toBe(0o600);
    // One self-contained file: no -wal or -shm beside it.
    expect(readdirSync(join(root, "backups"))).toEqual(["myphone-1.sqlite"]);
    const copy = new Database(backupFile, { readonly: true });
    try {
      expect(copy.pragma("integrity_check", { simple: true })).toBe("ok");
      expect(copy.prepare("SELECT count(*) FROM events").pluck().get()).toBe(printed.events);
    } finally {
      copy.close();
    }
  } finally {
    server.child.kill("SIGTERM");
    await server.exited;
  }

  // Restore: a new data directory with the backup as its store and the same key files.
  const restored = join(root, "restored");
  mkdirSync(restored, { mode: 0o700 });
  copyFileSync(backupFile, join(restored, SQLITE_FILE));
  for (const name of ["code-keys.json", "dev-signing-key.json", "default-org-id"]) {
    if (existsSync(join(dataDir, name))) copyFileSync(join(dataDir, name), join(restored, name));
  }
  const store = SqliteEventStore.open(join(restored, SQLITE_FILE));
  try {
    for (const [i, userId] of userIds.entries()) {
      const stream = await store.readStream(USER_AGGREGATE, userId);
      // Gapless, and round 1's acknowledged write is in it: the code event it answered with, after its number.
      expect(stream.map((e) => e.sequence)).toEqual(stream.map((_, index) => index + 1));
      const acknowledged = before[i]!;
      expect(stream.length).toBeGreaterThanOrEqual(acknowledged);
      expect(stream[acknowledged - 2]!.data).toEqual({ phone: swissMobile(i) });
    }
  } finally {
    await store.close();
  }
  const second = await startCliServer({ MYPHONE_DATA_DIR: restored, MYPHONE_ABUSE_LIMITS: "off" });
  try {
    const response = await fetch(`${second.url}/auth/v1/users/me/phone`, {
      headers: { authorization: `Bearer ${tokens[0]}` },
      signal: AbortSignal.timeout(10_000),
    });
    expect(response.status).toBe(200);
    const body = (await response.json()) as { phone?: { phone: string } };
    expect(body.phone?.phone).toMatch(/^\+41795\d{6}$/);
  } finally {
    second.child.kill("SIGTERM");
    await second.exited;
  }
});

describe("refusals (exit 1, one line on stderr, nothing written)", () => {
  const refusal = (args: string[], env: Record<string, string>) =>
    runCli(args, env).then(
      () => {
        throw new Error("the command succeeded");
      },
      (error: { code?: number; stderr?: string }) => ({ code: error.code, stderr: error.stderr ?? "" }),
    );

  test("an existing destination is never overwritten", async () => {
    const dataDir = join(root, "data");
    await seedUsers(dataDir);
    const target = join(root, "taken.sqlite");
    writeFileSync(target, "mine");
    const { code, stderr } = await refusal(["backup", "--to", target], { MYPHONE_DATA_DIR: dataDir });
    expect(code).toBe(1);
    expect(stderr).toBe(`myphone: ${target} exists; a backup never overwrites a file\n`);
    expect(readdirSync(root).sort()).toEqual(["data", "taken.sqlite"]);
    expect(statSync(target).size).toBe(4);
  });

  test("a destination that cannot be created, and a store that is not a database", async () => {
    const dataDir = join(root, "data");
    await seedUsers(dataDir);
    writeFileSync(join(root, "a-file"), "");
    const blocked = await refusal(["backup", "--to", join(root, "a-file", "b.sqlite")], { MYPHONE_DATA_DIR: dataDir });
    expect(blocked.code).toBe(1);
    expect(blocked.stderr).toMatch(/^myphone: backup failed: E(NOTDIR|EXIST): [^\n]*\n$/);

    const junkDir = join(root, "junk");
    mkdirSync(junkDir);
    writeFileSync(
      join(junkDir, SQLITE_FILE),
      "this is not a database, just text that is long enough to look like a file header",
    );
    const target = join(root, "junk.sqlite");
    const junk = await refusal(["backup", "--to", target], { MYPHONE_DATA_DIR: junkDir });
    expect(junk.code).toBe(1);
    expect(junk.stderr).toBe("myphone: backup failed: file is not a database\n");
    // The empty file made for the copy is gone again.
    expect(existsSync(target)).toBe(false);
  });

  test("no store in the data directory", async () => {
    const dataDir = join(root, "empty");
    const { code, stderr } = await refusal(["backup", "--to", join(root, "b.sqlite")], { MYPHONE_DATA_DIR: dataDir });
    expect(code).toBe(1);
    expect(stderr).toBe(`myphone: no store at ${join(dataDir, SQLITE_FILE)} (MYPHONE_DATA_DIR)\n`);
    expect(existsSync(join(root, "b.sqlite"))).toBe(false);
  });

  test("PostgreSQL points to pg_dump, without connecting", async () => {
    const env = {
      MYPHONE_DATA_DIR: join(root, "data"),
      MYPHONE_STORE: "postgres",
      MYPHONE_DATABASE_URL: "postgres://127.0.0.1:1/none",
    };
    const { code, stderr } = await refusal(["backup", "--to", join(root, "b.sqlite")], env);
    expect(code).toBe(1);
    expect(stderr).toMatch(/^myphone: backup copies the SQLite store; with MYPHONE_STORE=postgres use pg_dump/);
  });
});
