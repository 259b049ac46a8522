import { execFile } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { transformFileSync } from "@swc/core";
import Database from "better-sqlite3";
import pg from "pg";
import {
  ConcurrencyError,
  START,
  comparePositions,
  type AppendRequest,
  type EventStore,
  type EventStoreAdapter,
  type ExpectedSequence,
  type NewEvent,
  type NewOutboxJob,
  type RecordedEvent,
} from "../../src/eventstore/event-store.js";
import { MemoryEventStore } from "../../src/eventstore/memory-event-store.js";
import {
  PostgresEventStore,
  type PostgresEventStoreOptions,
} from "../../src/eventstore/postgres/postgres-event-store.js";
import { POSTGRES_SCHEMA_VERSION } from "../../src/eventstore/postgres/postgres-schema.js";
import { SqliteEventStore } from "../../src/eventstore/sqlite/sqlite-event-store.js";
import { SQLITE_SCHEMA_VERSION } from "../../src/eventstore/sqlite/sqlite-schema.js";
import { describeWithPostgres, usePostgresDatabase } from "../support/postgres.js";

const TYPE = "user";
const OWNER = "org-1";
const ROOT = path.resolve(__dirname, "../..");

/** A store opened for one test plus whatever must be cleaned up after it. */
interface TestStore {
  readonly store: EventStoreAdapter;
  dispose(): Promise<void>;
  /**
   * Only for stores whose writers run at the same time (PostgreSQL): SQLite and memory serialise every append,
   * so a later-started writer can never commit before an earlier one there and these hooks cannot exist.
   */
  readonly overlapping?: OverlappingWriters;
}

interface OverlappingWriters {
  /** Another handle on the same data whose appends await `beforeCommit` after writing, before they commit. */
  openWriter(beforeCommit: () => Promise<void>): Promise<EventStore>;
  /** The naive reader of the control: "rows whose allocated number is above my cursor", no fence. */
  naiveReadAll(after: bigint, limit: number): Promise<{ cursor: bigint; aggregateId: string }[]>;
}

/** Runs the whole port contract against one adapter; every adapter must pass it unchanged. */
function describeEventStoreContract(name: string, openStore: () => TestStore | Promise<TestStore>): void {
  describe(`${name} event store contract`, () => {
    let subject: TestStore;
    let store: EventStoreAdapter;

    beforeEach(async () => {
      subject = await openStore();
      store = subject.store;
    });
    afterEach(() => subject.dispose());

    describe("append and readStream", () => {
      it("round-trips types, data (including null), owner and sequences 1..n", async () => {
        const before = Date.now();
        const events: NewEvent[] = [
          { type: "user.human.phone.changed", data: { phone: "+41791234567", nested: { list: [1, "two", true] } } },
          { type: "user.human.phone.verified", data: null },
          { type: "user.human.phone.code.added", data: { expiry: 3600 } },
        ];
        const appended = await append(store, "u1", "no_stream", events);
        const after = Date.now();

        expect(appended.map(({ type, data }) => ({ type, data }))).toEqual(events);
        expect(appended.map((e) => e.sequence)).toEqual([1, 2, 3]);
        for (const event of appended) {
          expect(event).toMatchObject({ aggregateType: TYPE, aggregateId: "u1", owner: OWNER });
        }
        expectStrictlyIncreasing(appended);
        const createdAt = appended[0]!.createdAt.getTime();
        expect(appended.map((e) => e.createdAt.getTime())).toEqual([createdAt, createdAt, createdAt]);
        expect(createdAt).toBeGreaterThanOrEqual(before);
        expect(createdAt).toBeLessThanOrEqual(after);

        expect(await store.readStream(TYPE, "u1")).toEqual(appended);
      });

      it("knows which owners (organisations) exist", async () => {
        expect(await store.ownerExists(OWNER)).toBe(false);
        await append(store, "u1", "no_stream", [event("a")]);
        expect(await store.ownerExists(OWNER)).toBe(true);
        expect(await store.ownerExists("someone-else")).toBe(false);
      });

      it("reads a stream's tail after a given sequence", async () => {
        const appended = await append(store, "u1", "no_stream", [event("a"), event("b"), event("c")]);
        expect(await store.readStream(TYPE, "u1", 1)).toEqual(appended.slice(1));
        expect(await store.readStream(TYPE, "u1", 3)).toEqual([]);
        expect(await store.readStream(TYPE, "u1", 0)).toEqual(appended);
        expect(await store.readStream(TYPE, "nobody", 2)).toEqual([]);
      });

      it("continues the sequence and the global position on later appends", async () => {
        const first = await append(store, "u1", "no_stream", [event("a"), event("b")]);
        const second = await append(store, "u1", 2, [event("c")]);

        expect(second[0]!.sequence).toBe(3);
        expect(comparePositions(second[0]!.position, first[1]!.position)).toBe(1);
        expect(second[0]!.createdAt.getTime()).toBeGreaterThanOrEqual(first[0]!.createdAt.getTime());
        expect((await store.readStream(TYPE, "u1")).map((e) => e.type)).toEqual(["a", "b", "c"]);
      });

      it("keeps streams apart by aggregate type and id, and returns [] for unknown streams", async () => {
        await append(store, "u1", "no_stream", [event("a")]);
        const otherType = await store.append({ ...request("u1", "no_stream", [event("b")]), aggregateType: "org" });
        const otherId = await append(store, "u2", "no_stream", [event("c")]);

        expect(otherType[0]!.sequence).toBe(1);
        expect(otherId[0]!.sequence).toBe(1);
        expect((await store.readStream(TYPE, "u1")).map((e) => e.type)).toEqual(["a"]);
        expect((await store.readStream("org", "u1")).map((e) => e.type)).toEqual(["b"]);
        expect(await store.readStream(TYPE, "nobody")).toEqual([]);
      });

      it("hands out copies, so mutating a result cannot change the stored event", async () => {
        const [appended] = await append(store, "u1", "no_stream", [event("a", { phone: "+41790000000" })]);
        (appended!.data as Record<string, unknown>).phone = "tampered";
        const [read] = await store.readStream(TYPE, "u1");
        (read!.data as Record<string, unknown>).phone = "tampered again";

        expect((await store.readStream(TYPE, "u1"))[0]!.data).toEqual({ phone: "+41790000000" });
      });
    });

    describe("expected sequence", () => {
      beforeEach(async () => {
        await append(store, "u1", "no_stream", [event("a"), event("b")]);
      });

      it("accepts no_stream on an empty stream and rejects it on an existing one", async () => {
        await expect(append(store, "u2", "no_stream", [event("x")])).resolves.toHaveLength(1);
        const failure = append(store, "u1", "no_stream", [event("x")]);

        await expect(failure).rejects.toBeInstanceOf(ConcurrencyError);
        await expect(failure).rejects.toMatchObject({ aggregateId: "u1", expected: "no_stream", actual: 2 });
        expect(await store.readStream(TYPE, "u1")).toHaveLength(2);
      });

      it("accepts the exact last sequence", async () => {
        const appended = await append(store, "u1", 2, [event("c")]);
        expect(appended.map((e) => e.sequence)).toEqual([3]);
      });

      it("rejects a stale or future sequence and writes neither events nor outbox jobs", async () => {
        const jobs = [job("stale-job")];
        const stale = store.append({ ...request("u1", 1, [event("c")]), outbox: jobs });
        await expect(stale).rejects.toBeInstanceOf(ConcurrencyError);
        await expect(stale).rejects.toMatchObject({ expected: 1, actual: 2 });
        await expect(store.append({ ...request("u1", 3, [event("c")]), outbox: jobs })).rejects.toBeInstanceOf(
          ConcurrencyError,
        );

        expect((await store.readStream(TYPE, "u1")).map((e) => e.type)).toEqual(["a", "b"]);
        expect(await store.readAll(START, 100)).toHaveLength(2);
        expect(await store.outbox.list("pending")).toEqual([]);
        expect(await store.outbox.claim({ workerId: "w1", leaseMs: 1000, limit: 10 })).toEqual([]);
      });

      it("skips the check for any, on new and existing streams", async () => {
        expect((await append(store, "u1", "any", [event("c")]))[0]!.sequence).toBe(3);
        expect((await append(store, "u3", "any", [event("c")]))[0]!.sequence).toBe(1);
      });
    });

    it("lets 50 concurrent read-then-append writers each succeed exactly once, gap-free", async () => {
      const writers = Array.from({ length: 50 }, (_, writer) => writer);
      const conflicts = await Promise.all(writers.map((writer) => appendWithRetry(store, "shared", writer)));

      const stream = await store.readStream(TYPE, "shared");
      expect(stream.map((e) => e.sequence)).toEqual(writers.map((w) => w + 1));
      expect(stream.map((e) => (e.data as { writer: number }).writer).sort((a, b) => a - b)).toEqual(writers);
      // Proves the writers really raced; without conflicts the test would not exercise the check.
      expect(sum(conflicts)).toBeGreaterThan(0);
    });

    it("pages through readAll returning every event exactly once in position order", async () => {
      const appended: RecordedEvent[] = [];
      for (let round = 0; round < 6; round++) {
        for (const id of ["a", "b", "c"]) {
          const batch = Array.from({ length: (round % 3) + 1 }, (_, i) => event(`r${round}.${i}`, { round, i }));
          appended.push(...(await append(store, id, "any", batch)));
        }
      }

      const paged: RecordedEvent[] = [];
      let after = START;
      for (;;) {
        const page = await store.readAll(after, 5);
        expect(page.length).toBeLessThanOrEqual(5);
        if (page.length === 0) break;
        paged.push(...page);
        after = page[page.length - 1]!.position;
      }

      expect(paged).toHaveLength(36);
      expect(paged).toEqual(appended);
      expectStrictlyIncreasing(paged);
      expect(await store.readAll(paged[9]!.position, 3)).toEqual(paged.slice(10, 13));
      expect(await store.readAll(START, 0)).toEqual([]);
    });

    it("lets a follower polling readAll during concurrent appends see every event once, in position and stream order", async () => {
      const random = seededRandom(7);
      // Where writers can overlap, half of them hold their transaction open for a random moment before
      // committing, so commits land out of position order while the follower reads.
      const slow = subject.overlapping
        ? await subject.overlapping.openWriter(
            () => new Promise((resolve) => setTimeout(resolve, Math.floor(random() * 15))),
          )
        : store;
      const appended: RecordedEvent[] = [];
      let writing = true;
      const writers = Array.from({ length: 6 }, async (_, writer) => {
        for (let i = 0; i < 12; i++) {
          const target = writer % 2 === 0 ? slow : store;
          const batch = Array.from({ length: (i % 2) + 1 }, (_, k) => event(`w${writer}.${i}.${k}`, { writer, i, k }));
          appended.push(...(await append(target, `stream-${(writer + i) % 4}`, "any", batch)));
        }
      });
      const seen: RecordedEvent[] = [];
      const follower = (async () => {
        let cursor = START;
        const deadline = Date.now() + 15_000;
        while (writing || seen.length < appended.length) {
          if (Date.now() > deadline) throw new Error(`follower saw ${seen.length} of ${appended.length} events`);
          const page = await store.readAll(cursor, 7);
          seen.push(...page);
          if (page.length > 0) cursor = page[page.length - 1]!.position;
          else await new Promise((resolve) => setTimeout(resolve, 2));
        }
      })();
      await Promise.all(writers);
      writing = false;
      await follower;

      expect(seen).toHaveLength(appended.length);
      expectStrictlyIncreasing(seen);
      const byPosition = (a: RecordedEvent, b: RecordedEvent) => comparePositions(a.position, b.position);
      expect(seen).toEqual([...appended].sort(byPosition));
      for (let stream = 0; stream < 4; stream++) {
        const sequences = seen.filter((e) => e.aggregateId === `stream-${stream}`).map((e) => e.sequence);
        expect(sequences).toEqual(sequences.map((_, index) => index + 1));
      }
    });

    it("does not let a reader pass a writer that commits after a later one; a naive reader would skip it", async () => {
      const overlapping = subject.overlapping;
      if (!overlapping) {
        // Serialised writers commit in position order by construction: an append started later waits.
        const first = await append(store, "A", "no_stream", [event("a")]);
        const second = await append(store, "B", "no_stream", [event("b")]);
        expect(await store.readAll(START, 10)).toEqual([...first, ...second]);
        return;
      }
      const [baseline] = await append(store, "before", "no_stream", [event("baseline")]);
      let cursor = baseline!.position;
      let naiveCursor = (await overlapping.naiveReadAll(0n, 10)).at(-1)!.cursor;
      const fenced: RecordedEvent[] = [];
      const naive: string[] = [];
      /** One poll of each reader, each continuing from its own cursor. */
      const poll = async () => {
        const page = await store.readAll(cursor, 10);
        fenced.push(...page);
        if (page.length > 0) cursor = page.at(-1)!.position;
        const naivePage = await overlapping.naiveReadAll(naiveCursor, 10);
        naive.push(...naivePage.map((row) => row.aggregateId));
        if (naivePage.length > 0) naiveCursor = naivePage.at(-1)!.cursor;
      };

      let release!: () => void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      let written!: () => void;
      const holding = new Promise<void>((resolve) => (written = resolve));
      const slow = await overlapping.openWriter(() => {
        written();
        return gate;
      });
      const early = append(slow, "A", "no_stream", [event("early")]);
      let late: RecordedEvent | undefined;
      try {
        await holding; // A has written (and got its position) but not committed
        [late] = await append(store, "B", "no_stream", [event("late")]);
        await poll(); // B is committed, A is not
        expect(fenced).toEqual([]);
        expect(naive).toEqual(["B"]);
      } finally {
        // Whatever failed above, A must not stay open: it would block every later test's cleanup.
        release();
      }
      const [committedEarly] = await early;
      expect(comparePositions(committedEarly!.position, late!.position)).toBe(-1);
      await poll(); // both committed

      expect(fenced.map((e) => e.aggregateId)).toEqual(["A", "B"]);
      expect(fenced).toEqual([committedEarly, late]);
      // The control: ordered by allocation, the naive cursor had already passed A when A committed.
      expect(naive).toEqual(["B"]);
    });

    describe("outbox", () => {
      it("makes jobs committed with events claimable, oldest first, with their details", async () => {
        const [recorded] = await store.append({
          ...request("u1", "no_stream", [event("a")]),
          outbox: [job("k1", { to: "+41791234567" }), job("k2")],
        });
        const now = new Date();

        const claimed = await store.outbox.claim({ workerId: "w1", leaseMs: 30_000, limit: 10, now });

        expect(claimed).toHaveLength(2);
        expect(claimed[0]).toMatchObject({
          kind: "sms.phone_verification",
          idempotencyKey: "k1",
          aggregateId: "u1",
          payload: { to: "+41791234567" },
          attempts: 0,
          createdAt: recorded!.createdAt,
          leaseUntil: new Date(now.getTime() + 30_000),
        });
        expect(claimed[1]!.idempotencyKey).toBe("k2");
        expect(claimed[0]!.id).not.toBe(claimed[1]!.id);
      });

      it("leaves jobs needing a code key a worker lacks to workers that hold it, until they are old enough for anyone", async () => {
        await store.append({
          ...request("u1", "no_stream", [event("a")]),
          outbox: [{ ...job("old-key"), keyId: "k1" }, { ...job("new-key"), keyId: "k2" }, job("no-key")],
        });
        const now = new Date();
        // Each claim settles what it took, so only the jobs left over are claimable later.
        const claim = async (workerId: string, keyIds: string[] | undefined, at = now) => {
          const jobs = await store.outbox.claim({
            workerId,
            leaseMs: 1000,
            limit: 10,
            now: at,
            keyIds,
            otherKeysAfterMs: 60_000,
          });
          for (const claimed of jobs) await store.outbox.settle(claimed.id, workerId, { state: "done" });
          return jobs.map((j) => j.idempotencyKey);
        };

        expect(await claim("w-k1", ["k1"])).toEqual(["old-key", "no-key"]);
        expect(await claim("w-k3", ["k3"], new Date(now.getTime() + 30_000))).toEqual([]);
        expect(await claim("w-k2", ["k2", "k1"])).toEqual(["new-key"]);
        // Past otherKeysAfterMs (its code has expired) any worker may take it; without keyIds a claim takes anything.
        await store.append({
          ...request("u2", "no_stream", [event("a")]),
          outbox: [
            { ...job("late"), keyId: "k9" },
            { ...job("any"), keyId: "k8" },
          ],
        });
        expect(await claim("w-k1", ["k1"], new Date(Date.now() + 61_000))).toEqual(["late", "any"]);
        await store.append({
          ...request("u3", "no_stream", [event("a")]),
          outbox: [{ ...job("unfiltered"), keyId: "k7" }],
        });
        expect(await claim("w-all", undefined, new Date(Date.now() + 1000))).toEqual(["unfiltered"]);
      });

      it("records code keys: the first check value of an id stays, the active key is marked, every key is answered", async () => {
        const t1 = new Date("2026-01-01T00:00:00.000Z");
        const t2 = new Date("2026-01-01T01:00:00.000Z");
        expect(await store.registerCodeKeys([{ keyId: "k1", check: { v: 1 } }], "k1", t1)).toEqual([
          { keyId: "k1", check: { v: 1 }, activeAt: t1 },
        ]);
        const both = await store.registerCodeKeys(
          [
            { keyId: "k2", check: { v: 2 } },
            { keyId: "k1", check: { v: "other" } },
          ],
          "k2",
          t2,
        );
        expect(both).toEqual([
          { keyId: "k1", check: { v: 1 }, activeAt: t1 },
          { keyId: "k2", check: { v: 2 }, activeAt: t2 },
        ]);
      });

      it("claims at most limit jobs and leaves the rest to other workers", async () => {
        await appendJobs(store, "u1", ["k1", "k2", "k3"]);
        const now = new Date();

        const first = await store.outbox.claim({ workerId: "w1", leaseMs: 1000, limit: 2, now });
        const second = await store.outbox.claim({ workerId: "w2", leaseMs: 1000, limit: 2, now });

        expect(first.map((j) => j.idempotencyKey)).toEqual(["k1", "k2"]);
        expect(second.map((j) => j.idempotencyKey)).toEqual(["k3"]);
      });

      it("does not hand a leased job to another worker until the lease has expired", async () => {
        await appendJobs(store, "u1", ["k1"]);
        const base = new Date();
        const [leased] = await store.outbox.claim({ workerId: "w1", leaseMs: 1000, limit: 10, now: base });
        expect(leased).toBeDefined();

        expect(await store.outbox.claim({ workerId: "w2", leaseMs: 1000, limit: 10, now: at(base, 500) })).toEqual([]);
        // The lease still holds at its last instant.
        expect(await store.outbox.claim({ workerId: "w2", leaseMs: 1000, limit: 10, now: at(base, 1000) })).toEqual([]);
        const taken = await store.outbox.claim({ workerId: "w2", leaseMs: 1000, limit: 10, now: at(base, 1001) });

        expect(taken.map((j) => j.id)).toEqual([leased!.id]);
        expect(taken[0]!.leaseUntil).toEqual(at(base, 2001));
        expect(await store.outbox.settle(leased!.id, "w1", { state: "done" })).toBe(false);
        expect(await store.outbox.settle(leased!.id, "w2", { state: "done" })).toBe(true);
      });

      it("refuses settlement by a worker that does not hold the lease", async () => {
        await appendJobs(store, "u1", ["k1"]);
        const [claimed] = await store.outbox.claim({ workerId: "w1", leaseMs: 1000, limit: 10 });

        expect(await store.outbox.settle(claimed!.id, "w2", { state: "done" })).toBe(false);
        expect(await store.outbox.settle("999999", "w1", { state: "done" })).toBe(false);
        expect(await store.outbox.settle("not-an-id", "w1", { state: "done" })).toBe(false);
        expect(await store.outbox.list("done")).toEqual([]);
        expect((await store.outbox.list("pending")).map((j) => j.id)).toEqual([claimed!.id]);

        expect(await store.outbox.settle(claimed!.id, "w1", { state: "done" })).toBe(true);
        // A settled job is no longer pending, so even its former owner cannot settle it again.
        expect(await store.outbox.settle(claimed!.id, "w1", { state: "dead", error: "late" })).toBe(false);
        expect((await store.outbox.list("done")).map((j) => j.id)).toEqual([claimed!.id]);
      });

      it("retry gives the job back, due at retryAt with attempts + 1", async () => {
        await appendJobs(store, "u1", ["k1"]);
        const base = new Date();
        const [claimed] = await store.outbox.claim({ workerId: "w1", leaseMs: 1000, limit: 10, now: base });
        const retryAt = at(base, 60_000);

        expect(
          await store.outbox.settle(claimed!.id, "w1", { state: "retry", retryAt, error: "gateway timeout" }),
        ).toBe(true);
        // The lease is released, so the old owner cannot settle the job a second time.
        expect(await store.outbox.settle(claimed!.id, "w1", { state: "done" })).toBe(false);
        expect(await store.outbox.claim({ workerId: "w2", leaseMs: 1000, limit: 10, now: at(base, 59_999) })).toEqual(
          [],
        );
        const again = await store.outbox.claim({ workerId: "w2", leaseMs: 1000, limit: 10, now: retryAt });

        expect(again).toHaveLength(1);
        expect(again[0]).toMatchObject({ id: claimed!.id, attempts: 1, leaseUntil: at(retryAt, 1000) });
      });

      it("claims the earliest due first: a job back from a retry waits behind jobs due before it", async () => {
        await appendJobs(store, "u1", ["k1"]);
        const [retried] = await store.outbox.claim({ workerId: "w1", leaseMs: 1000, limit: 1 });
        const retryAt = at(new Date(), 60_000);
        await store.outbox.settle(retried!.id, "w1", { state: "retry", retryAt, error: "gateway timeout" });
        await appendJobs(store, "u2", ["k2"]);

        const later = at(retryAt, 1);
        const first = await store.outbox.claim({ workerId: "w2", leaseMs: 1000, limit: 1, now: later });
        const second = await store.outbox.claim({ workerId: "w2", leaseMs: 1000, limit: 1, now: later });

        // k1 is the older job, but k2 was due a minute earlier.
        expect([...first, ...second].map((j) => j.idempotencyKey)).toEqual(["k2", "k1"]);
      });

      it("lists done and dead jobs by state and never claims them again", async () => {
        await appendJobs(store, "u1", ["k1", "k2", "k3"]);
        const [first, second] = await store.outbox.claim({ workerId: "w1", leaseMs: 1000, limit: 2 });

        expect(await store.outbox.settle(first!.id, "w1", { state: "done" })).toBe(true);
        expect(await store.outbox.settle(second!.id, "w1", { state: "dead", error: "invalid number" })).toBe(true);

        expect((await store.outbox.list("done")).map((j) => j.idempotencyKey)).toEqual(["k1"]);
        expect((await store.outbox.list("dead")).map((j) => j.idempotencyKey)).toEqual(["k2"]);
        expect((await store.outbox.list("pending")).map((j) => j.idempotencyKey)).toEqual(["k3"]);
        const later = at(new Date(), 24 * 60 * 60 * 1000);
        const reclaimed = await store.outbox.claim({ workerId: "w2", leaseMs: 1000, limit: 10, now: later });
        expect(reclaimed.map((j) => j.idempotencyKey)).toEqual(["k3"]);
      });

      it("adds a job only once per idempotency key, even after it was delivered", async () => {
        const duplicated = [job("same", { n: 1 }), job("same", { n: 2 })];
        await store.append({ ...request("u1", "no_stream", [event("a")]), outbox: duplicated });
        await store.append({
          ...request("u2", "no_stream", [event("a")]),
          outbox: [job("same", { n: 3 }), job("other")],
        });

        const pending = await store.outbox.list("pending");
        expect(pending.map((j) => [j.idempotencyKey, j.payload, j.aggregateId])).toEqual([
          ["same", { n: 1 }, "u1"],
          ["other", {}, "u2"],
        ]);

        const claimed = await store.outbox.claim({ workerId: "w1", leaseMs: 1000, limit: 10 });
        for (const j of claimed) await store.outbox.settle(j.id, "w1", { state: "done" });
        await appendJobs(store, "u3", ["same"]);
        expect(await store.outbox.list("pending")).toEqual([]);
      });

      it("keeps the last error and the settlement time of each job", async () => {
        await appendJobs(store, "u1", ["k1", "k2"]);
        const base = new Date();
        const [first, second] = await store.outbox.claim({ workerId: "w1", leaseMs: 1000, limit: 2, now: base });
        expect(first).toMatchObject({ lastError: null, settledAt: null });

        await store.outbox.settle(first!.id, "w1", {
          state: "retry",
          retryAt: base,
          error: "webhook answered HTTP 502",
        });
        const [retried] = await store.outbox.list("pending");
        expect(retried).toMatchObject({
          idempotencyKey: "k1",
          lastError: "webhook answered HTTP 502",
          settledAt: null,
        });

        const [again] = await store.outbox.claim({ workerId: "w1", leaseMs: 1000, limit: 1, now: at(base, 1) });
        expect(again).toMatchObject({ id: first!.id, lastError: "webhook answered HTTP 502" });
        const before = Date.now();
        await store.outbox.settle(again!.id, "w1", {
          state: "dead",
          error: "webhook refused the message (HTTP 404); not retried",
        });
        await store.outbox.settle(second!.id, "w1", { state: "done" });
        const after = Date.now();

        const [dead] = await store.outbox.list("dead");
        const [done] = await store.outbox.list("done");
        expect(dead).toMatchObject({
          idempotencyKey: "k1",
          attempts: 1,
          lastError: "webhook refused the message (HTTP 404); not retried",
        });
        expect(done).toMatchObject({ idempotencyKey: "k2", lastError: null });
        for (const job of [dead!, done!]) {
          expect(job.settledAt).toBeInstanceOf(Date);
          expect(job.settledAt!.getTime()).toBeGreaterThanOrEqual(before);
          expect(job.settledAt!.getTime()).toBeLessThanOrEqual(after);
        }
      });

      it("counts jobs per state, optionally of one kind, including states without jobs", async () => {
        expect(await store.outbox.countByState(["pending", "done", "dead"])).toEqual({ pending: 0, done: 0, dead: 0 });
        await appendJobs(store, "u1", ["k1", "k2", "k3", "k4", "k5"]);
        await store.append({
          ...request("u2", "any", [event("other.requested")]),
          outbox: [{ kind: "other.kind", idempotencyKey: "o1", payload: {} }],
        });
        const base = new Date();
        const [k1, k2, k3] = await store.outbox.claim({ workerId: "w1", leaseMs: 60_000, limit: 3, now: base });
        await store.outbox.settle(k1!.id, "w1", { state: "done" });
        await store.outbox.settle(k2!.id, "w1", { state: "dead", error: "refused" });
        await store.outbox.settle(k3!.id, "w1", { state: "retry", retryAt: at(base, 60_000), error: "timeout" });

        // Pending counts leased, waiting and retrying jobs alike.
        expect(await store.outbox.countByState(["pending", "done", "dead"])).toEqual({ pending: 4, done: 1, dead: 1 });
        expect(await store.outbox.countByState(["pending", "dead"], "sms.phone_verification")).toEqual({
          pending: 3,
          dead: 1,
        });
        expect(await store.outbox.countByState(["pending"], "other.kind")).toEqual({ pending: 1 });
        expect(await store.outbox.countByState(["dead"], "no.such.kind")).toEqual({ dead: 0 });
      });

      it("purges done jobs settled more than the retention ago, in bounded batches, and nothing else", async () => {
        await appendJobs(store, "u1", ["d1", "d2", "d3", "dead", "retrying", "leased"]);
        const base = new Date();
        const claimed = await store.outbox.claim({ workerId: "w1", leaseMs: 60_000, limit: 6, now: base });
        const byKey = new Map(claimed.map((j) => [j.idempotencyKey, j]));
        for (const key of ["d1", "d2", "d3"]) await store.outbox.settle(byKey.get(key)!.id, "w1", { state: "done" });
        await store.outbox.settle(byKey.get("dead")!.id, "w1", { state: "dead", error: "refused" });
        await store.outbox.settle(byKey.get("retrying")!.id, "w1", {
          state: "retry",
          retryAt: at(base, 3_600_000),
          error: "timeout",
        });
        await appendJobs(store, "u2", ["waiting"]);

        const settled = (await store.outbox.list("done")).map((j) => j.settledAt!.getTime());
        const [oldest, newest] = [Math.min(...settled), Math.max(...settled)];
        const retentionMs = 60_000;

        // Exactly the retention old is not yet expired.
        expect(await store.outbox.purgeDone({ retentionMs, limit: 10, now: new Date(oldest + retentionMs) })).toBe(0);
        expect(await store.outbox.purgeDone({ retentionMs, limit: 0, now: new Date(newest + retentionMs + 1) })).toBe(
          0,
        );
        const later = new Date(newest + retentionMs + 1);
        expect(await store.outbox.purgeDone({ retentionMs, limit: 2, now: later })).toBe(2);
        expect((await store.outbox.list("done")).map((j) => j.idempotencyKey)).toHaveLength(1);
        expect(await store.outbox.purgeDone({ retentionMs, limit: 2, now: later })).toBe(1);
        expect(await store.outbox.purgeDone({ retentionMs, limit: 2, now: later })).toBe(0);

        // A year on, nothing but done jobs ever goes: not dead ones, nor pending ones leased, retrying or waiting.
        expect(await store.outbox.purgeDone({ retentionMs: 0, limit: 1000, now: at(base, 365 * 86_400_000) })).toBe(0);
        expect(await store.outbox.list("done")).toEqual([]);
        expect((await store.outbox.list("dead")).map((j) => j.idempotencyKey)).toEqual(["dead"]);
        expect((await store.outbox.list("pending")).map((j) => j.idempotencyKey)).toEqual([
          "retrying",
          "leased",
          "waiting",
        ]);
        expect(await store.outbox.settle(byKey.get("leased")!.id, "w1", { state: "done" })).toBe(true);
        // A purged job's key is forgotten, so the same key can be queued again.
        await appendJobs(store, "u3", ["d1"]);
        expect((await store.outbox.list("pending")).map((j) => j.idempotencyKey)).toEqual([
          "retrying",
          "waiting",
          "d1",
        ]);
      });

      it("purges with the store's own clock when no instant is given", async () => {
        await appendJobs(store, "u1", ["k1"]);
        const [claimed] = await store.outbox.claim({ workerId: "w1", leaseMs: 1000, limit: 1 });
        await store.outbox.settle(claimed!.id, "w1", { state: "done" });

        expect(await store.outbox.purgeDone({ retentionMs: 3_600_000, limit: 10 })).toBe(0);
        // With no retention the job goes as soon as the store's clock has moved past its settlement.
        let purged = 0;
        for (const deadline = Date.now() + 2000; purged === 0 && Date.now() < deadline;) {
          purged = await store.outbox.purgeDone({ retentionMs: 0, limit: 10 });
          if (purged === 0) await settleMicrotasks();
        }
        expect(purged).toBe(1);
        expect(await store.outbox.list("done")).toEqual([]);
        await expect(store.outbox.purgeDone({ retentionMs: -1, limit: 10 })).rejects.toThrow(RangeError);
        await expect(store.outbox.purgeDone({ retentionMs: 0, limit: 1.5 })).rejects.toThrow(RangeError);
      });

      it("notifies onOutboxJobs listeners after an append that added jobs", async () => {
        let calls = 0;
        const unsubscribe = store.onOutboxJobs(() => calls++);

        await append(store, "u1", "no_stream", [event("a")]);
        await settleMicrotasks();
        expect(calls).toBe(0);

        await appendJobs(store, "u2", ["k1"]);
        await settleMicrotasks();
        expect(calls).toBe(1);

        unsubscribe();
        await appendJobs(store, "u3", ["k2"]);
        await settleMicrotasks();
        expect(calls).toBe(1);
      });
    });

    it("answers ping while open", async () => {
      await expect(store.ping()).resolves.toBeUndefined();
    });
  });
}

describeEventStoreContract("memory", () => {
  const store = new MemoryEventStore();
  return { store, dispose: () => store.close() };
});

describeEventStoreContract("sqlite", () => {
  const dir = makeTempDir();
  const store = SqliteEventStore.open(path.join(dir, "events.db"));
  return {
    store,
    dispose: async () => {
      await store.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
});

describeWithPostgres()("postgres", () => {
  const database = usePostgresDatabase("contract");

  /** A store on the test database, emptied first so every test starts from nothing. */
  async function openEmpty(options: PostgresEventStoreOptions = {}): Promise<PostgresEventStore> {
    const store = await PostgresEventStore.open(database.url, options);
    await database.query("TRUNCATE myphone.events, myphone.outbox RESTART IDENTITY");
    return store;
  }

  describeEventStoreContract("postgres", async () => {
    const store = await openEmpty();
    const writers: PostgresEventStore[] = [];
    return {
      store,
      overlapping: {
        async openWriter(beforeCommit) {
          const writer = await PostgresEventStore.open(database.url, { beforeCommit });
          writers.push(writer);
          return writer;
        },
        async naiveReadAll(after, limit) {
          const result = await database.query<{ global_seq: string; aggregate_id: string }>(
            "SELECT global_seq::text, aggregate_id FROM myphone.events WHERE global_seq > $1 ORDER BY global_seq LIMIT $2",
            [after.toString(), limit],
          );
          return result.rows.map((row) => ({ cursor: BigInt(row.global_seq), aggregateId: row.aggregate_id }));
        },
      },
      dispose: async () => {
        for (const writer of writers) await writer.close();
        await store.close();
      },
    };
  });

  describe("postgres event store across nodes", () => {
    const opened: PostgresEventStore[] = [];
    async function open(url = database.url): Promise<PostgresEventStore> {
      const store = await PostgresEventStore.open(url);
      opened.push(store);
      return store;
    }
    afterEach(async () => {
      for (const store of opened.splice(0)) await store.close();
    });

    it("migrates once when several nodes start at the same time on an empty database", async () => {
      const fresh = await database.server.createDatabase("migrate");
      const stores = await Promise.all(Array.from({ length: 6 }, () => open(fresh)));

      const appended = await Promise.all(stores.map((store, i) => append(store, `u${i}`, "no_stream", [event("a")])));
      expect(appended.map((events) => events[0]!.sequence)).toEqual([1, 1, 1, 1, 1, 1]);
      const client = new pg.Client({ connectionString: fresh });
      await client.connect();
      try {
        const versions = await client.query("SELECT version FROM myphone.schema_version");
        expect(versions.rows).toEqual([{ version: POSTGRES_SCHEMA_VERSION }]);
        // A database written by a newer release is refused rather than misread.
        await client.query("UPDATE myphone.schema_version SET version = version + 1");
        await expect(PostgresEventStore.open(fresh)).rejects.toThrow(/newer than supported/);
      } finally {
        await client.end();
      }
    });

    it("upgrades a version 1 database (no sweep or due index, no code keys) in place, keeping its jobs", async () => {
      const fresh = await database.server.createDatabase("upgrade");
      const old = await open(fresh);
      await appendJobs(old, "u1", ["k1", "k2"]);
      const client = new pg.Client({ connectionString: fresh });
      await client.connect();
      try {
        await client.query("DROP INDEX myphone.outbox_by_state_settled_at");
        await client.query("DROP INDEX myphone.outbox_by_state_due_at");
        await client.query("ALTER TABLE myphone.outbox DROP COLUMN key_id; DROP TABLE myphone.code_keys");
        await client.query("UPDATE myphone.schema_version SET version = 1");

        const upgraded = await open(fresh);
        const versions = await client.query("SELECT version FROM myphone.schema_version");
        expect(versions.rows).toEqual([{ version: POSTGRES_SCHEMA_VERSION }]);
        const indexes = await client.query(
          "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'myphone' AND indexname IN ('outbox_by_state_due_at', 'outbox_by_state_settled_at') ORDER BY indexname",
        );
        expect(indexes.rows).toEqual([
          { indexname: "outbox_by_state_due_at", indexdef: expect.stringContaining("(state, due_at, id)") },
          { indexname: "outbox_by_state_settled_at", indexdef: expect.stringContaining("(state, settled_at)") },
        ]);
        expect((await upgraded.outbox.list("pending")).map((j) => j.idempotencyKey)).toEqual(["k1", "k2"]);
        // Jobs written before version 4 name no key: any worker may claim them.
        expect(
          (
            await upgraded.outbox.claim({
              workerId: "w",
              leaseMs: 1000,
              limit: 5,
              keyIds: ["other"],
              otherKeysAfterMs: 3_600_000,
            })
          ).length,
        ).toBe(2);
      } finally {
        await client.end();
      }
    });

    it("lets several nodes sweep at once: each expired done job is deleted exactly once, nothing else", async () => {
      const nodes = [await openEmpty(), await open(), await open()];
      opened.push(nodes[0]!);
      for (let i = 0; i < 10; i++)
        await appendJobs(
          nodes[0]!,
          `u${i}`,
          Array.from({ length: 10 }, (_, k) => `k${i}-${k}`),
        );
      await appendJobs(nodes[0]!, "dead", ["dead"]);
      const claimed = await nodes[0]!.outbox.claim({ workerId: "w1", leaseMs: 60_000, limit: 101 });
      for (const j of claimed)
        await nodes[0]!.outbox.settle(
          j.id,
          "w1",
          j.idempotencyKey === "dead" ? { state: "dead", error: "refused" } : { state: "done" },
        );
      await appendJobs(nodes[0]!, "waiting", ["waiting"]);
      const now = at(new Date(), 120_000);

      const swept = await Promise.all(
        // Two sweepers per node; one that finds nothing unlocked stops, the holders of the locked rows delete them.
        nodes
          .flatMap((node) => [node, node])
          .map(async (node) => {
            let total = 0;
            for (;;) {
              const deleted = await node.outbox.purgeDone({ retentionMs: 60_000, limit: 7, now });
              if (deleted === 0) return total;
              total += deleted;
            }
          }),
      );

      expect(sum(swept)).toBe(100);
      expect(await nodes[1]!.outbox.countByState(["pending", "done", "dead"])).toEqual({
        pending: 1,
        done: 0,
        dead: 1,
      });
    });

    it("wakes other nodes' outbox listeners through LISTEN/NOTIFY when a node commits jobs", async () => {
      const [writer, other, third] = [await openEmpty(), await open(), await open()];
      opened.push(writer);
      const woken = [other, third].map((node) => new Promise<void>((resolve) => node.onOutboxJobs(resolve)));

      await appendJobs(writer, "u1", ["k1"]);

      await Promise.all(woken);
    });

    it("re-establishes LISTEN after its connection is killed, reports the loss, and is woken by commits again", async () => {
      const errors: unknown[] = [];
      const writer = await openEmpty({ onBackgroundError: (error) => errors.push(error) });
      opened.push(writer);
      const listener = await PostgresEventStore.open(database.url, {
        onBackgroundError: (error) => errors.push(error),
      });
      opened.push(listener);
      let wakes = 0;
      let onWake = () => {};
      listener.onOutboxJobs(() => {
        wakes++;
        onWake();
      });
      const nextWake = () => new Promise<void>((resolve) => (onWake = resolve));

      const reconnected = nextWake();
      const killed = await database.query(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'myphone-listen' AND datname = current_database()",
      );
      expect(killed.rowCount).toBeGreaterThanOrEqual(2);
      // A node that lost its LISTEN connection may have missed notifications: it wakes once after reconnecting.
      await reconnected;
      expect(errors.length).toBeGreaterThan(0);

      const woken = nextWake();
      await appendJobs(writer, "u1", ["after-reconnect"]);
      await woken;
      expect(wakes).toBe(2);
    });

    it("hands each job to exactly one of many claimers on several nodes (FOR UPDATE SKIP LOCKED)", async () => {
      const nodes = [await openEmpty(), await open(), await open()];
      opened.push(nodes[0]!);
      for (let i = 0; i < 12; i++)
        await appendJobs(nodes[i % 3]!, `u${i}`, [`k${i}.1`, `k${i}.2`, `k${i}.3`, `k${i}.4`, `k${i}.5`]);

      const claimers = Array.from({ length: 9 }, async (_, claimer) => {
        const node = nodes[claimer % 3]!;
        const mine: string[] = [];
        for (;;) {
          const jobs = await node.outbox.claim({ workerId: `w${claimer}`, leaseMs: 60_000, limit: 3 });
          if (jobs.length === 0) return mine;
          for (const job of jobs) {
            mine.push(job.idempotencyKey);
            expect(await node.outbox.settle(job.id, `w${claimer}`, { state: "done" })).toBe(true);
          }
        }
      });
      const claimed = (await Promise.all(claimers)).flat();

      expect(claimed).toHaveLength(60);
      expect(new Set(claimed).size).toBe(60);
      expect(await nodes[1]!.outbox.list("pending")).toEqual([]);
      expect(await nodes[2]!.outbox.list("done")).toHaveLength(60);
    });

    it("serialises racing `any` appends per stream (no retries) and keeps the stream gapless across nodes", async () => {
      const nodes = [await openEmpty(), await open()];
      opened.push(nodes[0]!);

      await Promise.all(Array.from({ length: 30 }, (_, i) => append(nodes[i % 2]!, "hot", "any", [event("x", { i })])));

      const stream = await nodes[1]!.readStream(TYPE, "hot");
      expect(stream.map((e) => e.sequence)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
      expect(stream.map((e) => (e.data as { i: number }).i).sort((a, b) => a - b)).toEqual(
        Array.from({ length: 30 }, (_, i) => i),
      );
    });
  });
});

describe("sqlite event store on disk", () => {
  let dir: string;
  let file: string;
  const opened: SqliteEventStore[] = [];

  /** Opens the test's file and remembers the store so it is closed even when the test fails. */
  function open(target = file): SqliteEventStore {
    const store = SqliteEventStore.open(target);
    opened.push(store);
    return store;
  }

  beforeEach(() => {
    dir = makeTempDir();
    file = path.join(dir, "events.db");
  });
  afterEach(async () => {
    for (const store of opened.splice(0)) await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("creates missing parent directories and a versioned WAL database", () => {
    const nested = path.join(dir, "a", "b", "events.db");
    open(nested);
    open(nested);

    const raw = new Database(nested, { readonly: true });
    try {
      expect(raw.pragma("journal_mode", { simple: true })).toBe("wal");
      expect(raw.pragma("user_version", { simple: true })).toBe(SQLITE_SCHEMA_VERSION);
    } finally {
      raw.close();
    }
  });

  it("upgrades a version 1 file (no sweep or due index) in place, keeping its jobs, and sweeps them", async () => {
    const first = open();
    await appendJobs(first, "u1", ["k1", "k2"]);
    const [done] = await first.outbox.claim({ workerId: "w1", leaseMs: 1000, limit: 1 });
    await first.outbox.settle(done!.id, "w1", { state: "done" });
    await first.close();
    const raw = new Database(file);
    raw.exec(
      "DROP INDEX outbox_by_state_settled_at; DROP INDEX outbox_by_state_due_at; ALTER TABLE outbox DROP COLUMN key_id; DROP TABLE code_keys",
    );
    raw.pragma("user_version = 1");
    raw.close();

    const upgraded = open();
    const check = new Database(file, { readonly: true });
    try {
      expect(check.pragma("user_version", { simple: true })).toBe(SQLITE_SCHEMA_VERSION);
      const plan = check
        .prepare(
          "EXPLAIN QUERY PLAN SELECT id FROM outbox WHERE state = 'done' AND settled_at < 1 ORDER BY settled_at LIMIT 10",
        )
        .all() as { detail: string }[];
      expect(plan.map((step) => step.detail).join("\n")).toContain("outbox_by_state_settled_at");
    } finally {
      check.close();
    }
    // The claim reads pending jobs through the due index, never the whole pending backlog.
    const claimPlan = new Database(file, { readonly: true });
    try {
      const plan = claimPlan
        .prepare(
          "EXPLAIN QUERY PLAN SELECT id FROM outbox WHERE state = 'pending' AND due_at <= 1 AND (lease_until IS NULL OR lease_until < 1) ORDER BY due_at, id LIMIT 16",
        )
        .all() as { detail: string }[];
      expect(plan.map((step) => step.detail).join("\n")).toMatch(
        /USING INDEX outbox_by_state_due_at \(state=\? AND due_at<\?\)/,
      );
    } finally {
      claimPlan.close();
    }
    const [kept] = await upgraded.outbox.list("done");
    expect(await upgraded.outbox.purgeDone({ retentionMs: 1000, limit: 10, now: at(kept!.settledAt!, 1001) })).toBe(1);
    expect((await upgraded.outbox.list("pending")).map((j) => j.idempotencyKey)).toEqual(["k2"]);
  });

  it("refuses a file written by a newer schema", async () => {
    await open().close();
    const raw = new Database(file);
    raw.pragma(`user_version = ${SQLITE_SCHEMA_VERSION + 1}`);
    raw.close();
    expect(() => SqliteEventStore.open(file)).toThrow(/newer than supported/);
  });

  it("keeps events and outbox jobs across close and reopen", async () => {
    const first = open();
    const appended = await first.append({
      ...request("u1", "no_stream", [event("a", { phone: "+41791234567" }), event("b", null)]),
      outbox: [job("k1")],
    });
    await first.close();

    const reopened = open();
    expect(await reopened.readStream(TYPE, "u1")).toEqual(appended);
    expect(await reopened.readAll(START, 10)).toEqual(appended);
    expect((await reopened.outbox.list("pending")).map((j) => j.idempotencyKey)).toEqual(["k1"]);
    const [next] = await append(reopened, "u1", 2, [event("c")]);
    expect(next!.sequence).toBe(3);
    expect(comparePositions(next!.position, appended[1]!.position)).toBe(1);
  });

  it("lets two store instances on one file append to one aggregate without gaps", async () => {
    const stores = [open(), open()];
    const writers = Array.from({ length: 40 }, (_, writer) => writer);

    const conflicts = await Promise.all(writers.map((w) => appendWithRetry(stores[w % 2]!, "shared", w)));

    for (const store of stores) {
      const stream = await store.readStream(TYPE, "shared");
      expect(stream.map((e) => e.sequence)).toEqual(writers.map((w) => w + 1));
      expect(stream.map((e) => (e.data as { writer: number }).writer).sort((a, b) => a - b)).toEqual(writers);
    }
    expect(sum(conflicts)).toBeGreaterThan(0);
  });

  it("lets separate OS processes append to one aggregate without gaps (real lock contention)", async () => {
    const script = writeChildAppender(dir);
    const processes = 3;
    const perProcess = 15;
    open(); // creates the schema up front so the children only race on appends

    await Promise.all(
      Array.from({ length: processes }, (_, child) =>
        promisify(execFile)(process.execPath, [script, file, String(child), String(perProcess)], {
          env: { ...process.env, NODE_PATH: path.join(ROOT, "node_modules") },
        }),
      ),
    );

    const stream = await open().readStream(TYPE, "shared");
    expect(stream.map((e) => e.sequence)).toEqual(Array.from({ length: processes * perProcess }, (_, i) => i + 1));
    const written = stream.map((e) => JSON.stringify(e.data)).sort();
    const expected = Array.from({ length: processes }, (_, child) =>
      Array.from({ length: perProcess }, (_, i) => JSON.stringify({ writer: child, i })),
    )
      .flat()
      .sort();
    expect(written).toEqual(expected);
  });
});

/** Builds an append request for the test aggregate type and owner. */
function request(aggregateId: string, expectedSequence: ExpectedSequence, events: NewEvent[]): AppendRequest {
  return { aggregateType: TYPE, aggregateId, owner: OWNER, expectedSequence, events };
}

function append(
  store: EventStore,
  aggregateId: string,
  expectedSequence: ExpectedSequence,
  events: NewEvent[],
): Promise<RecordedEvent[]> {
  return store.append(request(aggregateId, expectedSequence, events));
}

/** Appends one event plus one outbox job per key. */
function appendJobs(store: EventStore, aggregateId: string, keys: string[]): Promise<RecordedEvent[]> {
  return store.append({ ...request(aggregateId, "any", [event("job.requested")]), outbox: keys.map((k) => job(k)) });
}

function event(type: string, data: Record<string, unknown> | null = {}): NewEvent {
  return { type, data };
}

function job(idempotencyKey: string, payload: Record<string, unknown> = {}): NewOutboxJob {
  return { kind: "sms.phone_verification", idempotencyKey, payload };
}

/**
 * Optimistic writer: reads the stream, appends with the last sequence it saw, and retries on ConcurrencyError.
 * Returns how many conflicts it had to retry.
 */
async function appendWithRetry(store: EventStore, aggregateId: string, writer: number): Promise<number> {
  for (let conflicts = 0; conflicts < 1000; conflicts++) {
    const last = (await store.readStream(TYPE, aggregateId)).at(-1)?.sequence ?? 0;
    try {
      await append(store, aggregateId, last === 0 ? "no_stream" : last, [event("phone.written", { writer })]);
      return conflicts;
    } catch (error) {
      if (!(error instanceof ConcurrencyError)) throw error;
    }
  }
  throw new Error(`writer ${writer} never got through`);
}

/** Writes a plain-JS child script and the SQLite adapter compiled by SWC, so children need no TS loader. */
function writeChildAppender(dir: string): string {
  // Every module the SQLite adapter loads, at its place under src/ so the relative imports resolve.
  for (const folder of ["eventstore", "eventstore/sqlite", "storage"]) {
    fs.mkdirSync(path.join(dir, folder), { recursive: true });
    for (const file of fs.readdirSync(path.join(ROOT, "src", folder)).filter((name) => name.endsWith(".ts"))) {
      const { code } = transformFileSync(path.join(ROOT, "src", folder, file), {
        swcrc: false,
        jsc: { target: "es2022", parser: { syntax: "typescript" } },
        module: { type: "commonjs" },
      });
      fs.writeFileSync(path.join(dir, folder, file.replace(/\.ts$/, ".js")), code);
    }
  }
  const script = path.join(dir, "append-child.js");
  fs.writeFileSync(
    script,
    `
const { ConcurrencyError } = require("./eventstore/event-store.js");
const { SqliteEventStore } = require("./eventstore/sqlite/sqlite-event-store.js");
async function main([file, writer, count]) {
  const store = SqliteEventStore.open(file);
  for (let i = 0; i < Number(count); i++) {
    for (;;) {
      const last = (await store.readStream(${JSON.stringify(TYPE)}, "shared")).length;
      const request = { aggregateType: ${JSON.stringify(TYPE)}, aggregateId: "shared", owner: ${JSON.stringify(OWNER)},
        expectedSequence: last, events: [{ type: "phone.written", data: { writer: Number(writer), i } }] };
      try { await store.append(request); break; } catch (error) { if (!(error instanceof ConcurrencyError)) throw error; }
    }
  }
  await store.close();
}
main(process.argv.slice(2)).catch((error) => { console.error(error); process.exit(1); });
`,
  );
  return script;
}

/** Deterministic pseudo-random numbers in [0, 1) (mulberry32), so a failing interleaving can be rerun. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function makeTempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), "myphone-eventstore-"));
}

function at(base: Date, offsetMs: number): Date {
  return new Date(base.getTime() + offsetMs);
}

function expectStrictlyIncreasing(events: readonly RecordedEvent[]): void {
  for (let i = 1; i < events.length; i++) {
    expect(comparePositions(events[i - 1]!.position, events[i]!.position)).toBe(-1);
  }
}

function sum(values: readonly number[]): number {
  return values.reduce((total, value) => total + value, 0);
}

/** Lets listeners scheduled with queueMicrotask (or setImmediate) run. */
function settleMicrotasks(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
