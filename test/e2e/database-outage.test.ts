import Database from "better-sqlite3";
import { join } from "node:path";
import { SQLITE_FILE } from "../../src/storage/sqlite-file.js";
import { USER_AGGREGATE, UserEventType } from "../../src/domain/user-events.js";
import { closeGrpcClients, grpcCall, restRefusal, setPhone } from "../abuse/wire.js";
import { describeWithPostgres, postgresSource, startPostgres, type PostgresServer } from "../support/postgres.js";
import { startTestServer, type TestServer, type TestUser } from "../support/test-server.js";

/**
 * Issue 22, item 13: PostgreSQL killed (SIGKILL, every process of it) under a bounded load of SetMyPhone calls over
 * REST and gRPC, then started again. While it is down, calls answer Unavailable with MYPHONE-DbUna and a RetryInfo
 * (what clients and gRPC retry policies retry), never Internal; /readyz answers 503; the outage is logged once when
 * it starts and once when it ends, with no stack trace per call; after the restart everything works again and no
 * acknowledged write is lost.
 */

const LOOPS = 6;
const PAUSE_MS = 25;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Where the test is when an answer arrives: "before" answers arrived before the kill began. */
type Phase = "before" | "killing" | "down" | "after";

/** What one call got: the acknowledged write, or the refusal's code and id. */
type Outcome =
  | { readonly ok: true; readonly userId: string; readonly phone: string; readonly sequence: number }
  | {
      readonly ok: false;
      readonly protocol: "rest" | "grpc";
      readonly code: number;
      readonly id?: string;
      readonly retrySeconds?: number;
    };

// A throwaway server is needed: one given by MYPHONE_TEST_DATABASE_URL cannot be killed by the test.
const describeKillable = postgresSource().kind === "binaries" ? describeWithPostgres() : describe.skip;

describeKillable("PostgreSQL killed and restarted under load", () => {
  let postgres: PostgresServer;
  let server: TestServer;

  beforeAll(async () => {
    // Durable settings: a SIGKILLed PostgreSQL with synchronous_commit=off loses commits it acknowledged.
    postgres = await startPostgres({ durable: true });
    const url = await postgres.createDatabase("outage");
    server = await startTestServer({
      MYPHONE_STORE: "postgres",
      MYPHONE_DATABASE_URL: url,
      // The limiter and the budgets live in the same database: they go down with it.
      MYPHONE_ABUSE_LIMITS: "on",
      MYPHONE_RESEND_COOLDOWN: "0",
      MYPHONE_SENDS_PER_USER: "off",
      MYPHONE_SENDS_PER_IP: "off",
      // Budgets on, but far above what the load sends (its numbers share one range).
      MYPHONE_SMS_BUDGET: "100000/1h",
      MYPHONE_SMS_BUDGET_PER_COUNTRY: "100000/1h",
      MYPHONE_SMS_BUDGET_PER_PREFIX: "100000/1h",
      MYPHONE_SMS_PROVIDER: "none",
    });
  }, 90_000);

  afterAll(async () => {
    closeGrpcClients();
    await server?.stop();
    await postgres?.stop();
  }, 60_000);

  test("calls answer Unavailable MYPHONE-DbUna with RetryInfo, /readyz 503, one log line each way, nothing acknowledged lost", async () => {
    const users: TestUser[] = [];
    for (let i = 0; i < LOOPS * 2; i++) users.push(await server.addUser());
    let phase = "before" as Phase;
    const outcomes: { phase: Phase; outcome: Outcome }[] = [];
    const readiness: { phase: Phase; status: number }[] = [];
    let running = true;
    let counter = 0;

    const call = async (user: TestUser, useGrpc: boolean): Promise<Outcome> => {
      const phone = `+4178${String(1_000_000 + ++counter).padStart(7, "0")}`;
      if (useGrpc) {
        const answer = await grpcCall(server.url, "SetMyPhone", user.token, { phone });
        if (answer.ok)
          return { ok: true, userId: user.userId, phone, sequence: Number(answer.response.details.sequence) };
        return {
          ok: false,
          protocol: "grpc",
          code: answer.code,
          id: answer.errorDetail?.id,
          retrySeconds: answer.retryDelaySeconds,
        };
      }
      const answer = await setPhone(server.url, user.token, phone);
      if (answer.status === 200)
        return { ok: true, userId: user.userId, phone, sequence: Number(answer.json.details.sequence) };
      const refusal = restRefusal(answer);
      return {
        ok: false,
        protocol: "rest",
        code: answer.status,
        id: refusal.id,
        retrySeconds: refusal.retryDelay ? Number.parseInt(refusal.retryDelay, 10) : undefined,
      };
    };
    const loops = Array.from({ length: LOOPS }, async (_, loop) => {
      for (let round = 0; running; round++) {
        const user = users[loop * 2 + (round % 2)]!;
        const outcome = await call(user, (loop + round) % 2 === 1);
        // The phase when the answer came: a call answered "before" was answered before the kill began.
        outcomes.push({ phase, outcome });
        await sleep(PAUSE_MS);
      }
    });
    const probe = (async () => {
      while (running) {
        const response = await fetch(`${server.url}/readyz`, { signal: AbortSignal.timeout(5000) });
        readiness.push({ phase, status: response.status });
        await sleep(50);
      }
    })();

    await sleep(1000);
    const logMark = server.logs.length;
    phase = "killing";
    await postgres.crash!();
    phase = "down";
    await sleep(2000);
    await postgres.restart!();
    phase = "after";
    // Every user gets a write through again (bounded: the pool reconnects on its next checkout).
    for (let waited = 0; ; waited += 100) {
      const recovered = users.every((user) =>
        outcomes.some(({ phase: at, outcome }) => at === "after" && outcome.ok && outcome.userId === user.userId),
      );
      if (recovered && waited >= 1000) break;
      if (waited > 20_000) throw new Error("calls did not recover within 20 s of the restart");
      await sleep(100);
    }
    running = false;
    await Promise.all([...loops, probe]);
    // The end is logged once the database answers and calls have stopped failing for a second.
    for (let waited = 0; !server.logs.some((line) => line.msg === "database available again"); waited += 100) {
      if (waited > 10_000) throw new Error("the end of the outage was not logged within 10 s");
      await sleep(100);
    }

    // While down: Unavailable with the id and a RetryInfo, on both protocols; never Internal, whatever the phase.
    const failures = outcomes
      .filter(({ outcome }) => !outcome.ok)
      .map(({ phase: at, outcome }) => ({ at, ...(outcome as Extract<Outcome, { ok: false }>) }));
    const downFailures = failures.filter((failure) => failure.at === "down");
    expect(downFailures.length).toBeGreaterThan(10);
    expect(new Set(downFailures.map((failure) => failure.protocol))).toEqual(new Set(["rest", "grpc"]));
    const unexpected = failures.filter(
      (failure) =>
        failure.id !== "MYPHONE-DbUna" ||
        failure.retrySeconds !== 1 ||
        failure.code !== (failure.protocol === "rest" ? 503 : 14),
    );
    expect(unexpected).toEqual([]);
    expect(failures.some((failure) => failure.at === "before")).toBe(false);

    // Readiness: 503 while down, 200 before and at the end.
    expect(readiness.filter((probe) => probe.phase === "down").some((probe) => probe.status === 503)).toBe(true);
    expect(readiness.filter((probe) => probe.phase === "before").every((probe) => probe.status === 200)).toBe(true);
    expect(readiness.at(-1)?.status).toBe(200);

    // One line when it started, one when it ended; no per-call reports or stack traces.
    const lines = server.logs.slice(logMark);
    expect(
      lines.filter(
        (line) =>
          line.msg ===
          "database unavailable: calls answer Unavailable (MYPHONE-DbUna) and /readyz 503 until it answers again",
      ),
    ).toHaveLength(1);
    expect(lines.filter((line) => line.msg === "database available again")).toHaveLength(1);
    expect(lines.filter((line) => line.err !== undefined).map((line) => line.msg)).toEqual([]);
    expect(lines.filter((line) => line.level !== undefined && (line.level as number) >= 50)).toHaveLength(1);

    // Nothing acknowledged is lost: each acknowledged SetMyPhone's events are in the user's stream.
    const acknowledged = outcomes
      .map(({ outcome }) => outcome)
      .filter((outcome): outcome is Extract<Outcome, { ok: true }> => outcome.ok);
    expect(acknowledged.length).toBeGreaterThan(LOOPS * 4);
    const lost: unknown[] = [];
    for (const user of users) {
      const stream = await server.store.readStream(USER_AGGREGATE, user.userId);
      for (const ack of acknowledged.filter((outcome) => outcome.userId === user.userId)) {
        const changed = stream.find((event) => event.sequence === ack.sequence - 1);
        const code = stream.find((event) => event.sequence === ack.sequence);
        const intact =
          changed?.type === UserEventType.phoneChanged &&
          changed.data?.phone === ack.phone &&
          code?.type === UserEventType.phoneCodeAdded;
        if (!intact) lost.push(ack);
      }
    }
    expect(lost).toEqual([]);
  }, 90_000);
});

describe("SQLite: the write lock held past busy_timeout", () => {
  let server: TestServer;

  beforeAll(async () => {
    // The server runs in this process, and a write waiting for the lock blocks the event loop (better-sqlite3 is
    // synchronous): no SMS worker polls (each claim is a write) that would keep it blocked.
    server = await startTestServer({ MYPHONE_SMS_PROVIDER: "none", MYPHONE_SMS_POLL_INTERVAL: "1h" });
  }, 30_000);

  afterAll(async () => {
    await server?.stop();
  });

  test("answers Unavailable MYPHONE-DbUna with RetryInfo (not Internal), logs the outage once each way, and works once the lock is free", async () => {
    const user = await server.addUser();
    expect((await setPhone(server.url, user.token, "+41795550100")).status).toBe(200);
    // Its SMS job settled first: the worker's claim would be one more write waiting 5 s for the lock.
    for (let waited = 0; (await server.store.outbox.countByState(["pending"])).pending > 0; waited += 20) {
      if (waited > 10_000) throw new Error("the SMS job was not settled within 10 s");
      await sleep(20);
    }
    // Another process's connection (here: this test's) takes the write lock and keeps it past the 5 s busy_timeout.
    const holder = new Database(join(server.dataDir, SQLITE_FILE));
    const logMark = server.logs.length;
    holder.exec("BEGIN IMMEDIATE");
    let refused;
    try {
      refused = await setPhone(server.url, user.token, "+41795550101");
    } finally {
      holder.exec("ROLLBACK");
      holder.close();
    }
    expect({ status: refused.status, retryAfter: refused.retryAfter, ...restRefusal(refused) }).toEqual({
      status: 503,
      retryAfter: "1",
      code: 14,
      id: "MYPHONE-DbUna",
      retryDelay: "1s",
    });
    expect((await setPhone(server.url, user.token, "+41795550102")).status).toBe(200);
    for (let waited = 0; !server.logs.some((line) => line.msg === "database available again"); waited += 100) {
      if (waited > 10_000) throw new Error("the end of the outage was not logged within 10 s");
      await sleep(100);
    }
    const lines = server.logs.slice(logMark);
    expect(lines.filter((line) => typeof line.msg === "string" && line.msg.startsWith("database unavailable"))).toEqual(
      [expect.objectContaining({ level: 50, reason: expect.stringContaining("SQLITE_BUSY") })],
    );
    expect(lines.filter((line) => line.err !== undefined)).toEqual([]);
  }, 30_000);
});
