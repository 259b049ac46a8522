import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DevTokenIssuer } from "../../src/auth/dev-token-issuer.js";
import { openEventStore } from "../../src/eventstore/open-event-store.js";
import { startCliServer, type CliServer } from "../support/cli-process.js";
import { describeWithPostgres, usePostgresDatabase } from "../support/postgres.js";
import { resend, restRefusal, setPhone } from "./wire.js";
import { addUsersToStore } from "../support/store-users.js";

/**
 * Limits hold across server processes on one database (issue 5, acceptance 1): two `myphone serve` processes
 * share a SQLite data directory, or a PostgreSQL database, and a user, a number or an address gets no more
 * codes than the caps allow, whichever process each request reaches, also when requests race.
 */

interface Backend {
  /** Environment naming the store; `dataDir` holds the development token key (and the SQLite file). */
  env(dataDir: string): Record<string, string>;
}

const USERS = 24;

function sharedLimitsSuite(backend: () => Backend): void {
  let dataDir: string;
  let servers: CliServer[] = [];
  let tokens: string[] = [];

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), "myphone-shared-limits-"));
    const storeEnv = backend().env(dataDir);
    // Users are created the way `myphone users add` creates them, straight in the store, before the servers start.
    const store = await openEventStore({
      MYPHONE_STORE: storeEnv.MYPHONE_STORE as "sqlite",
      dataDir,
      MYPHONE_DATABASE_URL: storeEnv.MYPHONE_DATABASE_URL,
    });
    const userIds = Array.from({ length: USERS }, (_, i) => `40000000000000${String(i).padStart(4, "0")}`);
    await addUsersToStore(store, userIds, "org-shared", { dataDir });
    await store.close();
    const issuer = await DevTokenIssuer.open(dataDir);
    tokens = await Promise.all(userIds.map((userId) => issuer.mint(userId, 600)));

    const env = {
      ...storeEnv,
      MYPHONE_DATA_DIR: dataDir,
      MYPHONE_SMS_PROVIDER: "none",
      MYPHONE_ABUSE_LIMITS: "on",
      MYPHONE_SENDS_PER_NUMBER: "3/1h",
      MYPHONE_SENDS_PER_IP: "8/1h",
    };
    servers = await Promise.all([startCliServer(env), startCliServer(env)]);
  }, 60_000);

  afterAll(async () => {
    for (const server of servers) server.child.kill("SIGTERM");
    await Promise.all(servers.map((server) => server.exited));
    rmSync(dataDir, { recursive: true, force: true });
  });

  const url = (i: number) => servers[i % 2]!.url;
  /** The refusal lines for `limit` of both processes, once `count` have arrived (stdout lags the HTTP answer). */
  const refusalsLogged = async (limit: string, count: number) => {
    const lines = () =>
      servers
        .flatMap((server) => server.lines)
        .filter((line) => line.msg === "abuse limit refused a request" && line.limit === limit);
    for (const deadline = Date.now() + 10_000; lines().length < count && Date.now() < deadline;)
      await new Promise((r) => setTimeout(r, 20));
    return lines();
  };

  test("the resend cooldown set by one process holds on the other", async () => {
    expect((await setPhone(url(0), tokens[0]!, "+41797000001")).status).toBe(200);
    const refused = await resend(url(1), tokens[0]!);
    expect({ status: refused.status, id: restRefusal(refused).id }).toEqual({ status: 429, id: "MYPHONE-SnCdn" });
    expect(Number(refused.retryAfter)).toBeGreaterThan(0);
    expect(Number(refused.retryAfter)).toBeLessThanOrEqual(60);
    await servers[1]!.waitForLine((line) => line.limit === "resend_cooldown");
  });

  test("ten users racing for one number on both processes: exactly its cap of 3 get a code", async () => {
    const racers = Array.from({ length: 10 }, (_, i) => i + 1);
    const answers = await Promise.all(racers.map((i) => setPhone(url(i), tokens[i]!, "+41797000002")));
    const statuses = answers.map((answer) => answer.status).sort();
    expect(statuses).toEqual([200, 200, 200, 429, 429, 429, 429, 429, 429, 429]);
    for (const answer of answers.filter((a) => a.status === 429)) expect(restRefusal(answer).id).toBe("MYPHONE-SnNum");
    expect(await refusalsLogged("sends_per_number", 7)).toHaveLength(7);
  });

  test("the per-address cap counts the sends of both processes (4 so far, 8 allowed)", async () => {
    for (let i = 11; i < 15; i++)
      expect((await setPhone(url(i), tokens[i]!, `+4179700${String(i).padStart(4, "0")}`)).status).toBe(200);
    const ninth = await setPhone(url(15), tokens[15]!, "+41797000015");
    expect({ status: ninth.status, id: restRefusal(ninth).id }).toEqual({ status: 429, id: "MYPHONE-SnAdr" });
    const again = await setPhone(url(16), tokens[16]!, "+41797000016");
    expect({ status: again.status, id: restRefusal(again).id }).toEqual({ status: 429, id: "MYPHONE-SnAdr" });
    expect(await refusalsLogged("sends_per_address", 2)).toHaveLength(2);
  });
}

describe("two myphone serve processes on one SQLite data directory", () => {
  sharedLimitsSuite(() => ({ env: () => ({ MYPHONE_STORE: "sqlite" }) }));
});

describeWithPostgres()("PostgreSQL", () => {
  const database = usePostgresDatabase("shared_limits");
  // Nested, so the servers stop (this block's afterAll) before PostgreSQL does (the outer one's).
  describe("two myphone serve processes on one PostgreSQL database", () => {
    sharedLimitsSuite(() => ({ env: () => ({ MYPHONE_STORE: "postgres", MYPHONE_DATABASE_URL: database.url }) }));
  });
});
