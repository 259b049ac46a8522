import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DevTokenIssuer } from "../../src/auth/dev-token-issuer.js";
import { USER_AGGREGATE, UserEventType } from "../../src/domain/user-events.js";
import type { EventStore, RecordedEvent } from "../../src/eventstore/event-store.js";
import { SQLITE_FILE } from "../../src/storage/sqlite-file.js";
import { PostgresEventStore } from "../../src/eventstore/postgres/postgres-event-store.js";
import { SqliteEventStore } from "../../src/eventstore/sqlite/sqlite-event-store.js";
import { setPhoneAcknowledged, startCliServer } from "../support/cli-process.js";
import { jobKey, startFakeWebhook } from "../support/fake-sms-servers.js";
import { describeWithPostgres, usePostgresDatabase } from "../support/postgres.js";
import { addUsersToStore } from "../support/store-users.js";

/**
 * Issue 3, acceptance 3: `myphone serve` is killed with SIGKILL in the middle of a SetMyPhone load, then started
 * again. On SQLite and on PostgreSQL alike: every acknowledged write is stored; every code that was committed
 * (acknowledged or not) reaches the SMS webhook; a code reaches it twice only when the killed process had
 * already handed it to the provider but not yet recorded that, and such duplicates are counted. The kill lands
 * while the webhook is accepting an SMS, so that window is always exercised.
 */

const USERS = 400;
const KILL_AFTER_ACKS = 60;
const swissMobile = (i: number) => `+41793${String(i).padStart(6, "0")}`;

interface CrashCase {
  /** Store settings for the server processes. */
  readonly env: Record<string, string>;
  /** Opens the same store in the test process (to seed users and to inspect the result). */
  open(dataDir: string): Promise<EventStore>;
}

/** Runs the whole scenario for one store and prints how many codes were delivered twice. */
async function killDuringLoadAndRestart(crashCase: CrashCase): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), "myphone-crash-"));
  const webhook = await startFakeWebhook();
  const codeKeys = `k1:${randomBytes(32).toString("base64")}`;
  const env = {
    ...crashCase.env,
    MYPHONE_DATA_DIR: dataDir,
    MYPHONE_CODE_KEYS: codeKeys,
    MYPHONE_SMS_PROVIDER: "webhook",
    MYPHONE_SMS_WEBHOOK_URL: `${webhook.url}/sms`,
    MYPHONE_SMS_POLL_INTERVAL: "100ms",
    // A short lease, so the jobs the killed process had claimed become due again within the test.
    MYPHONE_SMS_LEASE: "2s",
    MYPHONE_SMS_TIMEOUT: "1s",
  };
  try {
    // Users are created straight in the store, the way `myphone users add` does, before the server starts.
    const seed = await crashCase.open(dataDir);
    const userIds = Array.from({ length: USERS }, (_, i) => `50000000000000${String(i).padStart(4, "0")}`);
    try {
      await addUsersToStore(seed, userIds, "org-crash", { dataDir, codeKeys });
    } finally {
      await seed.close();
    }
    const issuer = await DevTokenIssuer.open(dataDir);
    const tokens = await Promise.all(userIds.map((userId) => issuer.mint(userId, 600)));

    const victim = await startCliServer(env);
    const acknowledged: { userId: string; phone: string; sequence: number }[] = [];
    let next = 0;
    let killed = false;
    let inFlightAtKill: string | undefined;
    const kill = () => {
      killed = true;
      victim.child.kill("SIGKILL");
    };
    // Once enough writes are acknowledged, the kill comes as the provider accepts an SMS and before the killed
    // process hears so: that code was handed over but its delivery was never recorded.
    webhook.onDelivery((request) => {
      if (killed || acknowledged.length < KILL_AFTER_ACKS) return;
      inFlightAtKill = request.id;
      kill();
    });
    const worker = async () => {
      while (!killed && next < userIds.length) {
        const index = next++;
        const phone = swissMobile(index);
        const sequence = await setPhoneAcknowledged(victim.url, tokens[index]!, phone);
        if (sequence !== undefined) acknowledged.push({ userId: userIds[index]!, phone, sequence });
      }
    };
    await Promise.all(Array.from({ length: 8 }, worker));
    if (!killed) kill(); // every user was written before an SMS went out after the threshold: kill now
    expect(await victim.exited).toBe("SIGKILL");
    expect(acknowledged.length).toBeGreaterThanOrEqual(KILL_AFTER_ACKS);

    const restarted = await startCliServer(env);
    const store = await crashCase.open(dataDir);
    try {
      const deadline = Date.now() + 20_000;
      while ((await store.outbox.list("pending")).length > 0 && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 100));
      expect(await store.outbox.list("pending")).toEqual([]);
      expect(await store.outbox.list("dead")).toEqual([]);

      const streams = new Map<string, RecordedEvent[]>();
      for (const userId of userIds) streams.set(userId, await store.readStream(USER_AGGREGATE, userId));
      for (const ack of acknowledged) {
        const stream = streams.get(ack.userId)!;
        expect(stream[ack.sequence - 1]?.type).toBe(UserEventType.phoneCodeAdded);
        expect(stream[ack.sequence - 2]?.data).toEqual({ phone: ack.phone });
      }
      for (const stream of streams.values())
        expect(stream.map((e) => e.sequence)).toEqual(stream.map((_, index) => index + 1));

      // Every committed code, acknowledged or cut off by the kill, was delivered: each user got one code only,
      // so none was superseded and skipped.
      const committedCodes = [...streams.entries()].flatMap(([userId, stream]) =>
        stream
          .filter((e) => e.type === UserEventType.phoneCodeAdded)
          .map((e) => ({ key: jobKey(userId, e.sequence), stream })),
      );
      expect(committedCodes.length).toBeGreaterThanOrEqual(acknowledged.length);
      const deliveries = new Map<string, number>();
      for (const request of webhook.delivered) deliveries.set(request.id, (deliveries.get(request.id) ?? 0) + 1);
      const undelivered = committedCodes.filter(({ key }) => !deliveries.has(key)).map(({ key }) => key);
      expect(undelivered).toEqual([]);
      const committedKeys = new Set(committedCodes.map(({ key }) => key));
      expect([...deliveries.keys()].filter((key) => !committedKeys.has(key))).toEqual([]);

      // Duplicates: only codes the killed process had already handed to the provider, each sent once more by the
      // restarted one. The restarted process logs every SMS it sends; it sent no job twice, so the other delivery
      // of a duplicate came from the killed process.
      const jobIds = new Map((await store.outbox.list("done")).map((job) => [job.idempotencyKey, job.id]));
      const sentAfterRestart = new Map<string, number>();
      for (const line of restarted.lines.filter((l) => l.msg === "sms sent")) {
        sentAfterRestart.set(String(line.job), (sentAfterRestart.get(String(line.job)) ?? 0) + 1);
      }
      expect([...sentAfterRestart.values()].filter((count) => count > 1)).toEqual([]);
      const duplicates = [...deliveries.entries()].filter(([, count]) => count > 1);
      for (const [key, count] of duplicates) {
        expect({ key, deliveries: count, resentAfterRestart: sentAfterRestart.get(jobIds.get(key)!) ?? 0 }).toEqual({
          key,
          deliveries: 2,
          resentAfterRestart: 1,
        });
      }
      // How far the killed process got with each duplicate: one code.sent means it died between the provider's
      // acceptance and recording code.sent; two mean it died after recording it but before settling the job.
      const sentEvents = (key: string) => {
        const code = committedCodes.find((c) => c.key === key)!;
        const sequence = Number(key.split(":").at(-1));
        return code.stream.filter((e) => e.type === UserEventType.phoneCodeSent && e.sequence > sequence).length;
      };
      const lateDuplicates = duplicates.filter(([key]) => sentEvents(key) > 1).length;
      if (inFlightAtKill) expect(duplicates.map(([key]) => key)).toContain(inFlightAtKill);
      console.log(
        `${crashCase.env.MYPHONE_STORE}: ${acknowledged.length} acknowledged, ${committedCodes.length} codes committed, ` +
          `${webhook.delivered.length} SMS, ${duplicates.length} delivered twice (${lateDuplicates} of them after code.sent was recorded)`,
      );
    } finally {
      await store.close();
      restarted.child.kill("SIGTERM");
      expect(await restarted.exited).toBe(0);
    }
  } finally {
    await webhook.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

describe("SIGKILL during load, SQLite", () => {
  test("after restart every acknowledged SetMyPhone is stored and every committed code delivered", () =>
    killDuringLoadAndRestart({
      env: { MYPHONE_STORE: "sqlite" },
      open: async (dataDir) => SqliteEventStore.open(join(dataDir, SQLITE_FILE)),
    }));
});

describeWithPostgres()("SIGKILL during load, PostgreSQL", () => {
  const database = usePostgresDatabase("crash");
  test("after restart every acknowledged SetMyPhone is stored and every committed code delivered", () =>
    killDuringLoadAndRestart({
      env: { MYPHONE_STORE: "postgres", MYPHONE_DATABASE_URL: database.url },
      open: () => PostgresEventStore.open(database.url),
    }));
});
