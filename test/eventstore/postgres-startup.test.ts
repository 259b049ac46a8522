import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { USER_AGGREGATE, UserEventType } from "../../src/domain/user-events.js";
import { PostgresEventStore } from "../../src/eventstore/postgres/postgres-event-store.js";
import { CLI, runCli } from "../support/cli-process.js";
import { describeWithPostgres, usePostgresDatabase } from "../support/postgres.js";

/** `MYPHONE_STORE=postgres` as an operator meets it: start-up checks, secrets in errors, the CLI on PostgreSQL. */

const run = promisify(execFile);

/** Runs `myphone serve` expecting it to stop at start-up; resolves with its exit code and stderr. */
async function failedStart(env: Record<string, string>): Promise<{ code: number; stderr: string; stdout: string }> {
  const dataDir = mkdtempSync(join(tmpdir(), "myphone-pg-start-"));
  try {
    await run(process.execPath, [CLI, "serve"], {
      env: { ...process.env, MYPHONE_HOST: "127.0.0.1", MYPHONE_PORT: "0", MYPHONE_DATA_DIR: dataDir, ...env },
      timeout: 30_000,
    });
    throw new Error("myphone serve started although it should not have");
  } catch (error) {
    const { code, stderr, stdout } = error as { code?: number; stderr?: string; stdout?: string };
    if (typeof code !== "number") throw error;
    return { code, stderr: stderr ?? "", stdout: stdout ?? "" };
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

describe("MYPHONE_STORE=postgres start-up checks", () => {
  test("without MYPHONE_DATABASE_URL start-up stops and names the variable", async () => {
    const { code, stderr } = await failedStart({ MYPHONE_STORE: "postgres", MYPHONE_DATABASE_URL: "" });

    expect(code).toBe(1);
    expect(stderr).toContain("MYPHONE_DATABASE_URL: required when MYPHONE_STORE=postgres");
  });

  test("a URL that is not a PostgreSQL URL is refused without echoing it", async () => {
    const { code, stderr } = await failedStart({
      MYPHONE_STORE: "postgres",
      MYPHONE_DATABASE_URL: "mysql://root:hunter2@db/x",
    });

    expect(code).toBe(1);
    expect(stderr).toContain("MYPHONE_DATABASE_URL: must be a postgres:// or postgresql:// URL");
    expect(stderr).not.toContain("hunter2");
  });

  test("an unreachable database stops start-up naming the variable and the host, never the password", async () => {
    // Port 1 on loopback: nothing listens there, the connection is refused at once.
    const url = "postgres://myphone:s3cret-pw@127.0.0.1:1/myphone?sslmode=disable&password=other-s3cret";
    const { code, stderr, stdout } = await failedStart({ MYPHONE_STORE: "postgres", MYPHONE_DATABASE_URL: url });

    expect(code).toBe(1);
    expect(stderr).toContain("postgres://myphone@127.0.0.1:1/myphone (MYPHONE_DATABASE_URL)");
    expect(`${stderr}${stdout}`).not.toContain("s3cret");
  });
});

describeWithPostgres()("the CLI on PostgreSQL", () => {
  const database = usePostgresDatabase("cli");

  test("`myphone users add` creates the user in the PostgreSQL store, migrating an empty database first", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "myphone-pg-cli-"));
    try {
      const env = { MYPHONE_STORE: "postgres", MYPHONE_DATABASE_URL: database.url, MYPHONE_DATA_DIR: dataDir };
      const { userId, orgId } = JSON.parse(await runCli(["users", "add", "--username", "alice"], env)) as {
        userId: string;
        orgId: string;
      };

      const store = await PostgresEventStore.open(database.url);
      try {
        const stream = await store.readStream(USER_AGGREGATE, userId);
        expect(stream.map((e) => ({ type: e.type, owner: e.owner, sequence: e.sequence }))).toEqual([
          { type: UserEventType.humanAdded, owner: orgId, sequence: 1 },
        ]);
        expect(await store.ownerExists(orgId)).toBe(true);
      } finally {
        await store.close();
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
