import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AuthService } from "../../gen/zitadel/auth_pb.js";
import { USER_AGGREGATE, UserEventType } from "../../src/domain/user-events.js";
import { SQLITE_FILE } from "../../src/storage/sqlite-file.js";
import { SqliteEventStore } from "../../src/eventstore/sqlite/sqlite-event-store.js";
import { setPhoneAcknowledged, startCliServer } from "../support/cli-process.js";
import { DevTokenIssuer } from "../../src/auth/dev-token-issuer.js";
import { startTestServer } from "../support/test-server.js";
import { addUsersToStore } from "../support/store-users.js";

/** Concurrency and crash safety of acknowledged writes (issue 2, acceptance 5). */

const swissMobile = (i: number) => `+41792${String(i).padStart(6, "0")}`;

test("100 concurrent SetMyPhone calls for one user: all answered, distinct sequences, gapless stream, last write wins; a restart keeps it all", async () => {
  const dataDir = mkdtempSync(join(tmpdir(), "myphone-concurrency-"));
  let server = await startTestServer({ MYPHONE_DATA_DIR: dataDir, MYPHONE_ABUSE_LIMITS: "off" });
  try {
    const user = await server.addUser();
    const transport = createConnectTransport({ baseUrl: server.url, httpVersion: "2" });
    const client = createClient(AuthService, transport);
    const headers = { authorization: `Bearer ${user.token}` };

    const answers = await Promise.all(
      Array.from({ length: 100 }, (_, i) =>
        client
          .setMyPhone({ phone: swissMobile(i) }, { headers, timeoutMs: 30_000 })
          .then((r) => ({ i, sequence: Number(r.details!.sequence) })),
      ),
    );
    const sequences = answers.map((a) => a.sequence);
    expect(new Set(sequences).size).toBe(100);

    const stream = await server.store.readStream(USER_AGGREGATE, user.userId);
    expect(stream.map((e) => e.sequence)).toEqual(stream.map((_, index) => index + 1));
    // Every answer points at the code.added event right after its own phone.changed.
    for (const { i, sequence } of answers) {
      expect(stream[sequence - 1]!.type).toBe(UserEventType.phoneCodeAdded);
      expect(stream[sequence - 2]!.data).toEqual({ phone: swissMobile(i) });
    }
    const last = answers.reduce((a, b) => (b.sequence > a.sequence ? b : a));
    const got = await client.getMyPhone({}, { headers });
    expect(got.phone?.phone).toBe(swissMobile(last.i));

    await server.stop({ keepData: true });
    server = await startTestServer({ MYPHONE_DATA_DIR: dataDir });
    const after = await server.store.readStream(USER_AGGREGATE, user.userId);
    expect(after.slice(0, stream.length)).toEqual(stream);
    const client2 = createClient(AuthService, createConnectTransport({ baseUrl: server.url, httpVersion: "1.1" }));
    expect((await client2.getMyPhone({}, { headers })).phone?.phone).toBe(swissMobile(last.i));
  } finally {
    await server.stop({ keepData: true });
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test("SIGKILL during load loses no acknowledged SetMyPhone, and every committed code is still delivered", async () => {
  const dataDir = mkdtempSync(join(tmpdir(), "myphone-crash-"));
  // A short lease, so jobs the killed process had claimed become due again within the test.
  const env = { MYPHONE_DATA_DIR: dataDir, MYPHONE_SMS_POLL_INTERVAL: "100ms", MYPHONE_SMS_LEASE: "2s" };
  try {
    // Users are created the way `myphone users add` creates them, straight in the store, before the server starts.
    const seed = SqliteEventStore.open(join(dataDir, SQLITE_FILE));
    const userIds = Array.from({ length: 400 }, (_, i) => `30000000000000${String(i).padStart(4, "0")}`);
    await addUsersToStore(seed, userIds, "org-crash", { dataDir });
    await seed.close();

    const server = await startCliServer(env);
    // Same key file the CLI's `myphone token` uses; minted in-process because 400 CLI runs would take minutes.
    const issuer = await DevTokenIssuer.open(dataDir);
    const tokens = await Promise.all(userIds.map((userId) => issuer.mint(userId, 600)));
    const acknowledged: { userId: string; phone: string; sequence: number }[] = [];
    let next = 0;
    let killed = false;
    const worker = async () => {
      while (!killed && next < userIds.length) {
        const index = next++;
        const phone = swissMobile(index);
        const sequence = await setPhoneAcknowledged(server.url, tokens[index]!, phone);
        if (sequence !== undefined) acknowledged.push({ userId: userIds[index]!, phone, sequence });
        if (acknowledged.length >= 60 && !killed) {
          killed = true;
          server.child.kill("SIGKILL");
        }
      }
    };
    await Promise.all(Array.from({ length: 8 }, worker));
    expect(await server.exited).toBe("SIGKILL");
    expect(acknowledged.length).toBeGreaterThanOrEqual(60);

    const restarted = await startCliServer(env);
    try {
      const store = SqliteEventStore.open(join(dataDir, SQLITE_FILE));
      try {
        for (const ack of acknowledged) {
          const stream = await store.readStream(USER_AGGREGATE, ack.userId);
          expect(stream[ack.sequence - 1]?.type).toBe(UserEventType.phoneCodeAdded);
          expect(stream[ack.sequence - 2]?.data).toEqual({ phone: ack.phone });
        }
        // Every committed code (acknowledged or not) gets its SMS after the restart: wait for all outbox jobs to settle.
        const deadline = Date.now() + 20_000;
        while ((await store.outbox.list("pending")).length > 0 && Date.now() < deadline)
          await new Promise((r) => setTimeout(r, 100));
        expect(await store.outbox.list("pending")).toEqual([]);
        expect(await store.outbox.list("dead")).toEqual([]);
        for (const ack of acknowledged) {
          const types = (await store.readStream(USER_AGGREGATE, ack.userId)).map((e) => e.type);
          expect(types).toContain(UserEventType.phoneCodeSent);
        }
      } finally {
        await store.close();
      }
    } finally {
      restarted.child.kill("SIGTERM");
      expect(await restarted.exited).toBe(0);
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});
