import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DevTokenIssuer } from "../../src/auth/dev-token-issuer.js";
import { USER_AGGREGATE, UserEventType } from "../../src/domain/user-events.js";
import type { RecordedEvent } from "../../src/eventstore/event-store.js";
import { PostgresEventStore } from "../../src/eventstore/postgres/postgres-event-store.js";
import { sharedNodeEnv, startCliServer, type CliServer } from "../support/cli-process.js";
import { jobKey, startFakeWebhook, type FakeSmsServer } from "../support/fake-sms-servers.js";
import { describeWithPostgres, usePostgresDatabase } from "../support/postgres.js";
import { addUsersToStore } from "../support/store-users.js";

/**
 * Issue 3, acceptance 2: three `myphone serve` processes on one PostgreSQL database behave like one service.
 * Writes for every user go through all three nodes (in turn, and at once for a few "hot" users); every
 * acknowledged write is stored, every user's stream is gapless, and the (fake, loopback) SMS webhook receives
 * every code exactly once although all three nodes' workers claim from the same outbox.
 */

const USERS = 150;
const HOT_USERS = 10;
const swissMobile = (round: number, i: number) => `+4179${round}${String(i).padStart(6, "0")}`;

interface Ack {
  readonly userId: string;
  readonly phone: string;
  readonly sequence: number;
  readonly node: number;
}

describeWithPostgres()("three myphone serve processes on one PostgreSQL database", () => {
  const database = usePostgresDatabase("scale_out");
  let dataDir: string;
  let webhook: FakeSmsServer;
  const nodes: CliServer[] = [];

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), "myphone-scale-out-"));
    webhook = await startFakeWebhook();
  });
  afterAll(async () => {
    for (const node of nodes) {
      node.child.kill("SIGTERM");
      await node.exited;
    }
    await webhook?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  test("every acknowledged SetMyPhone is stored, every stream is gapless, every code reaches the webhook exactly once", async () => {
    // Nodes share what a deployment shares: the database, the code keys and (dev auth) the token signing key.
    const codeKeys = `k1:${randomBytes(32).toString("base64")}`;
    const issuer = await DevTokenIssuer.open(dataDir);
    const env = {
      ...sharedNodeEnv({ databaseUrl: database.url, dataDir, codeKeys, webhookUrl: webhook.url }),
      MYPHONE_SMS_POLL_INTERVAL: "500ms",
      MYPHONE_DATABASE_POOL_SIZE: "8",
    };
    // All three start at once on an empty database: their schema migrations race and must take turns.
    nodes.push(...(await Promise.all([0, 1, 2].map(() => startCliServer(env)))));

    const store = await PostgresEventStore.open(database.url);
    try {
      const userIds = Array.from({ length: USERS }, (_, i) => `40000000000000${String(i).padStart(4, "0")}`);
      await addUsersToStore(store, userIds, "org-scale-out", { dataDir, codeKeys });
      const tokens = new Map(await Promise.all(userIds.map(async (id) => [id, await issuer.mint(id, 600)] as const)));

      const acks: Ack[] = [];
      const setPhone = async (userId: string, phone: string, node: number) => {
        const response = await fetch(`${nodes[node]!.url}/auth/v1/users/me/phone`, {
          method: "PUT",
          headers: { authorization: `Bearer ${tokens.get(userId)}`, "content-type": "application/json" },
          body: JSON.stringify({ phone }),
          signal: AbortSignal.timeout(20_000),
        });
        const body = (await response.json()) as { details?: { sequence: string } };
        expect({ status: response.status, body }).toMatchObject({ status: 200 });
        acks.push({ userId, phone, sequence: Number(body.details!.sequence), node });
      };
      const allDelivered = async () => {
        const deadline = Date.now() + 30_000;
        while ((await store.outbox.list("pending")).length > 0) {
          if (Date.now() > deadline) throw new Error("SMS jobs still pending after 30 s");
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      };
      /** Runs `work` for every item with `limit` calls in flight. */
      const inParallel = async <T>(
        items: readonly T[],
        limit: number,
        work: (item: T, index: number) => Promise<void>,
      ) => {
        let next = 0;
        await Promise.all(
          Array.from({ length: limit }, async () => {
            while (next < items.length) {
              const index = next++;
              await work(items[index]!, index);
            }
          }),
        );
      };

      // Rounds 1 and 2: every user once per round, through node i, then node i + 1. Each round's codes are
      // delivered before the next round supersedes them, so each of them must arrive exactly once.
      await inParallel(userIds, 12, (userId, i) => setPhone(userId, swissMobile(1, i), i % 3));
      await allDelivered();
      await inParallel(userIds, 12, (userId, i) => setPhone(userId, swissMobile(2, i), (i + 1) % 3));
      await allDelivered();
      const roundAcks = [...acks];

      // Round 3: a few hot users written through all three nodes at the same moment (cross-process races).
      const hot = userIds.slice(0, HOT_USERS);
      await Promise.all(
        hot.flatMap((userId, h) => [0, 1, 2].map((node) => setPhone(userId, swissMobile(3 + node, h), node))),
      );
      await allDelivered();

      expect(acks).toHaveLength(USERS * 2 + HOT_USERS * 3);
      expect(new Set(acks.map((ack) => ack.node))).toEqual(new Set([0, 1, 2]));

      const streams = new Map<string, RecordedEvent[]>();
      for (const userId of userIds) streams.set(userId, await store.readStream(USER_AGGREGATE, userId));

      // Every acknowledged write is there, with the number it was acknowledged for.
      for (const ack of acks) {
        const stream = streams.get(ack.userId)!;
        expect(stream[ack.sequence - 1]?.type).toBe(UserEventType.phoneCodeAdded);
        expect(stream[ack.sequence - 2]?.data).toEqual({ phone: ack.phone });
      }
      // Per user: sequences 1..n without gaps, although three processes (and their SMS workers) appended.
      for (const stream of streams.values())
        expect(stream.map((e) => e.sequence)).toEqual(stream.map((_, index) => index + 1));

      // Delivery: one webhook request per idempotency key at most, and exactly one for every code that was still
      // current when a worker picked it up: all of rounds 1 and 2, and each hot user's last code.
      const deliveries = new Map<string, number>();
      for (const request of webhook.requests) deliveries.set(request.id, (deliveries.get(request.id) ?? 0) + 1);
      expect([...deliveries.values()].filter((count) => count > 1)).toEqual([]);
      for (const ack of roundAcks)
        expect({
          key: jobKey(ack.userId, ack.sequence),
          count: deliveries.get(jobKey(ack.userId, ack.sequence)) ?? 0,
        }).toEqual({ key: jobKey(ack.userId, ack.sequence), count: 1 });
      for (const userId of hot) {
        const lastCode = streams
          .get(userId)!
          .filter((e) => e.type === UserEventType.phoneCodeAdded)
          .at(-1)!;
        expect(deliveries.get(jobKey(userId, lastCode.sequence))).toBe(1);
      }
      // Nothing was delivered that no committed code asked for, and every job was settled.
      const codeKeysInStreams = new Set(
        [...streams.entries()].flatMap(([userId, stream]) =>
          stream.filter((e) => e.type === UserEventType.phoneCodeAdded).map((e) => jobKey(userId, e.sequence)),
        ),
      );
      for (const key of deliveries.keys()) expect(codeKeysInStreams.has(key)).toBe(true);
      expect(await store.outbox.list("dead")).toEqual([]);
      expect((await store.outbox.list("done")).map((job) => job.idempotencyKey).sort()).toEqual(
        [...codeKeysInStreams].sort(),
      );

      // Which node's worker sent what is up to the race for leases; shown for the record, not asserted.
      const sentByNode = nodes.map((node) => node.lines.filter((line) => line.msg === "sms sent").length);
      console.log(
        `scale-out: ${acks.length} acknowledged SetMyPhone calls, ${webhook.requests.length} SMS; sent per node: ${sentByNode.join(" / ")}`,
      );
    } finally {
      await store.close();
    }
  });
});
