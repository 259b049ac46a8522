import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { Registry } from "prom-client";
import { loadConfig } from "../../src/config.js";
import { loadCodeCipher } from "../../src/commands/code-keys.js";
import { UserCommands } from "../../src/commands/user-commands.js";
import type { EventStoreAdapter } from "../../src/eventstore/event-store.js";
import { MemoryEventStore } from "../../src/eventstore/memory-event-store.js";
import { createLogger } from "../../src/logger.js";
import { OutboxNotifier } from "../../src/notify/outbox-notifier.js";
import { SmsMetrics } from "../../src/notify/sms-metrics.js";
import { createSmsDelivery } from "../../src/server/sms-provider-factory.js";
import { policiesOf } from "../../src/server/myphone-server.js";
import { jobKey, status } from "../support/fake-sms-servers.js";
import { startTestServer } from "../support/test-server.js";
import { FAST_RETRIES, addUser, outboxSettled, setPhone, swissMobile, webhookUnderTest } from "./notify-kit.js";

/**
 * Done SMS jobs are deleted once MYPHONE_SMS_RETENTION has passed (the outbox stops growing); dead ones stay for
 * operators, pending ones until they settle. The store's own rules (cutoff, batches, several nodes) are in the
 * event store contract; here: the notifier's sweep and the server's wiring of the setting.
 */

/** Polls `condition` every 20 ms for up to 10 s. */
async function eventually(condition: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`not within 10 s: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** `name` (without labels) as the server's `/metrics` shows it; undefined when absent. */
async function metric(server: { adminUrl?: string }, line: string): Promise<number | undefined> {
  const text = await (await fetch(`${server.adminUrl}/metrics`, { signal: AbortSignal.timeout(10_000) })).text();
  const found = text.split("\n").find((entry) => entry.startsWith(`${line} `));
  return found === undefined ? undefined : Number(found.split(" ").at(-1));
}

test("a restarted server with MYPHONE_SMS_RETENTION=0 sweeps the done job at start and keeps the dead one", async () => {
  const dataDir = mkdtempSync(join(tmpdir(), "myphone-sms-retention-"));
  const provider = await webhookUnderTest();
  let server = await startTestServer({ ...FAST_RETRIES, ...provider.env, MYPHONE_DATA_DIR: dataDir });
  try {
    const delivered = await addUser(server);
    const deliveredKey = jobKey(delivered.userId, await setPhone(server, delivered.token, swissMobile(1)));
    await outboxSettled(server.store);
    provider.fake.answer(status(404));
    const refused = await addUser(server);
    const refusedKey = jobKey(refused.userId, await setPhone(server, refused.token, swissMobile(2)));
    await outboxSettled(server.store);

    // The default retention (7 days) keeps both; the gauge counts the dead one without listing rows.
    expect((await server.store.outbox.list("done")).map((job) => job.idempotencyKey)).toEqual([deliveredKey]);
    expect(await metric(server, 'myphone_sms_jobs{state="dead"}')).toBe(1);
    expect(await metric(server, 'myphone_sms_jobs{state="pending"}')).toBe(0);
    await server.stop();

    server = await startTestServer({
      ...FAST_RETRIES,
      ...provider.env,
      MYPHONE_DATA_DIR: dataDir,
      MYPHONE_SMS_RETENTION: "0",
    });
    await eventually(async () => (await server.store.outbox.list("done")).length === 0, "the done job is swept");

    expect((await server.store.outbox.list("dead")).map((job) => job.idempotencyKey)).toEqual([refusedKey]);
    expect(await metric(server, "myphone_sms_jobs_swept_total")).toBe(1);
    expect(server.logs).toContainEqual(
      expect.objectContaining({ msg: "sms outbox swept: done jobs past retention deleted", swept: 1, retentionMs: 0 }),
    );
  } finally {
    await server.stop();
    await provider.fake.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
});

describe("the notifier's sweep", () => {
  let dataDir: string;
  let store: EventStoreAdapter;
  let notifier: OutboxNotifier | undefined;
  const logs: Record<string, unknown>[] = [];
  const registry = new Registry();

  /** A notifier over `store` with real parts (commands, cipher, the `none` provider); only the sweep matters here. */
  function startNotifier(options: {
    retentionMs: number;
    sweepIntervalMs: number;
    sweepBatchSize: number;
  }): OutboxNotifier {
    const config = loadConfig({ MYPHONE_DATA_DIR: dataDir, MYPHONE_SMS_PROVIDER: "none" });
    const sink = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        for (const line of chunk.toString("utf8").split("\n"))
          if (line.trim()) logs.push(JSON.parse(line) as Record<string, unknown>);
        callback();
      },
    });
    const logger = createLogger("info", sink);
    const cipher = loadCodeCipher(undefined, config.dataDir);
    const { provider, templates } = createSmsDelivery(config, logger);
    notifier = new OutboxNotifier({
      store,
      wakeups: store,
      commands: new UserCommands(store, { env: () => ({ now: new Date(), cipher, ...policiesOf(config) }) }),
      cipher,
      provider,
      templates,
      logger,
      pollIntervalMs: 1000,
      maxAttempts: 3,
      metrics: new SmsMetrics(registry),
      ...options,
    });
    notifier.start();
    return notifier;
  }

  /**
   * Jobs settled by another worker (as on another node), before the notifier starts (it would claim due jobs):
   * `done` of them done, one dead, one retrying in an hour, one leased for an hour.
   */
  async function settledElsewhere(done: number, prefix: string): Promise<void> {
    const keys = Array.from({ length: done }, (_, i) => `${prefix}-done-${i}`);
    const all = [...keys, `${prefix}-dead`, `${prefix}-retrying`, `${prefix}-leased`];
    await store.append({
      aggregateType: "user",
      aggregateId: prefix,
      owner: "org",
      expectedSequence: "any",
      events: [{ type: "test.jobs", data: null }],
      outbox: all.map((idempotencyKey) => ({ kind: "test.job", idempotencyKey, payload: {} })),
    });
    const claimed = await store.outbox.claim({ workerId: "elsewhere", leaseMs: 3_600_000, limit: all.length });
    for (const job of claimed) {
      if (job.idempotencyKey.endsWith("-dead"))
        await store.outbox.settle(job.id, "elsewhere", { state: "dead", error: "refused" });
      else if (job.idempotencyKey.endsWith("-retrying")) {
        await store.outbox.settle(job.id, "elsewhere", {
          state: "retry",
          retryAt: new Date(Date.now() + 3_600_000),
          error: "timeout",
        });
      } else if (!job.idempotencyKey.endsWith("-leased"))
        await store.outbox.settle(job.id, "elsewhere", { state: "done" });
    }
  }

  async function swept(): Promise<number> {
    const counter = (await registry.getSingleMetric("myphone_sms_jobs_swept_total")?.get())?.values[0]?.value;
    return counter ?? 0;
  }

  beforeEach(() => {
    dataDir = mkdtempSync(join(tmpdir(), "myphone-sweep-"));
    store = new MemoryEventStore();
    logs.length = 0;
    registry.clear();
  });
  afterEach(async () => {
    await notifier?.stop();
    notifier = undefined;
    await store.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  test("runs at start and on its interval, in batches, deleting only done jobs past the retention", async () => {
    await settledElsewhere(5, "a");
    const lastSettled = Math.max(...(await store.outbox.list("done")).map((job) => job.settledAt!.getTime()));
    // The clock must have moved past the settlements for a zero retention to expire them all at the start sweep.
    await eventually(async () => Date.now() > lastSettled, "the clock ticks");
    const batches: { limit: number; deleted: number }[] = [];
    const purgeDone = store.outbox.purgeDone.bind(store.outbox);
    store.outbox.purgeDone = async (request) => {
      const deleted = await purgeDone(request);
      batches.push({ limit: request.limit, deleted });
      return deleted;
    };
    startNotifier({ retentionMs: 0, sweepIntervalMs: 50, sweepBatchSize: 2 });

    await eventually(async () => (await store.outbox.list("done")).length === 0, "the done jobs are swept");
    expect(await swept()).toBe(5);
    // One sweep, batch after batch until a batch comes back short.
    expect(batches.slice(0, 3)).toEqual([
      { limit: 2, deleted: 2 },
      { limit: 2, deleted: 2 },
      { limit: 2, deleted: 1 },
    ]);
    expect((await store.outbox.list("dead")).map((job) => job.idempotencyKey)).toEqual(["a-dead"]);
    const pending = await store.outbox.list("pending");
    expect(pending.map((job) => job.idempotencyKey)).toEqual(["a-retrying", "a-leased"]);

    // The leased job is delivered elsewhere later; a later sweep takes it.
    await store.outbox.settle(pending[1]!.id, "elsewhere", { state: "done" });
    await eventually(
      async () => (await store.outbox.list("done")).length === 0,
      "a later sweep deletes the job done since",
    );
    expect(await swept()).toBe(6);
    expect(await store.outbox.countByState(["pending", "dead"])).toEqual({ pending: 1, dead: 1 });
    const logged = logs
      .filter((line) => line.msg === "sms outbox swept: done jobs past retention deleted")
      .map((line) => line.swept);
    expect(logged).toEqual([5, 1]);
  });

  test("keeps done jobs younger than the retention", async () => {
    await settledElsewhere(2, "a");
    const sweeper = startNotifier({ retentionMs: 60_000, sweepIntervalMs: 60_000, sweepBatchSize: 1000 });

    expect(await sweeper.sweep()).toBe(0);
    expect(await store.outbox.list("done")).toHaveLength(2);
    expect(await swept()).toBe(0);
  });

  test("logs a failed sweep and keeps running", async () => {
    const sweeper = startNotifier({ retentionMs: 0, sweepIntervalMs: 60_000, sweepBatchSize: 1000 });
    await sweeper.sweep();
    await store.close();

    expect(await sweeper.sweep()).toBe(0);
    expect(logs).toContainEqual(
      expect.objectContaining({ msg: "sms outbox sweep failed; will retry on the next sweep", level: 40 }),
    );
  });
});
