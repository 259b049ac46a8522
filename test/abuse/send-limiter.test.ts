import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PostgresSendLimiter } from "../../src/abuse/postgres-send-limiter.js";
import { SqliteSendLimiter } from "../../src/abuse/sqlite-send-limiter.js";
import {
  MemorySendLimiter,
  newReservationId,
  type LimitedKey,
  type SendLimiter,
} from "../../src/abuse/send-limiter.js";
import { describeWithPostgres, usePostgresDatabase } from "../support/postgres.js";

/**
 * The SendLimiter contract, run against every adapter: sliding-window counting, the refusal naming the limit
 * with the longest wait, all-or-nothing reservations over several keys, release, and (for the shared adapters)
 * two limiter instances on one database never letting more sends through than a cap allows.
 */

const HOUR = 3_600_000;
const T0 = Date.parse("2025-03-01T12:00:00.000Z");
const at = (ms: number) => new Date(T0 + ms);

interface Adapter {
  readonly name: string;
  /** Opens a limiter; limiters opened by one adapter instance share their counts when `shared`. */
  open(): Promise<SendLimiter>;
  readonly shared: boolean;
  cleanup(): Promise<void>;
}

function memoryAdapter(): Adapter {
  return { name: "memory", shared: false, open: async () => new MemorySendLimiter(), cleanup: async () => undefined };
}

function sqliteAdapter(): Adapter {
  const dir = mkdtempSync(join(tmpdir(), "myphone-limiter-"));
  return {
    name: "sqlite",
    shared: true,
    open: async () => SqliteSendLimiter.open(join(dir, "myphone.sqlite")),
    cleanup: async () => rmSync(dir, { recursive: true, force: true }),
  };
}

describe("reservation ids", () => {
  it("are distinct version 7 UUIDs in creation order, so the stores' reservation index grows at its end", () => {
    const ids = Array.from({ length: 5_000 }, () => newReservationId());
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect([...ids].sort()).toEqual(ids);
  });
});

describe("memory SendLimiter", () => limiterContract(memoryAdapter));
describe("sqlite SendLimiter", () => limiterContract(sqliteAdapter));
describeWithPostgres()("postgres SendLimiter", () => {
  const database = usePostgresDatabase("send_limiter");
  limiterContract(() => ({
    name: "postgres",
    shared: true,
    // Each limiter has its own pool: as separate as two processes are, as far as PostgreSQL can tell.
    open: () => PostgresSendLimiter.open({ connectionString: database.url }),
    cleanup: async () => undefined,
  }));
});

function limiterContract(makeAdapter: () => Adapter): void {
  let adapter: Adapter | undefined;
  const opened: SendLimiter[] = [];
  let keyPrefix = 0;
  /** Fresh keys per test, so tests sharing a PostgreSQL database do not see each other's sends. */
  let number: (caps: LimitedKey["caps"]) => LimitedKey;
  let address: (caps: LimitedKey["caps"]) => LimitedKey;

  beforeAll(() => {
    adapter = makeAdapter();
  });

  afterEach(async () => {
    for (const limiter of opened.splice(0)) await limiter.close();
  });

  afterAll(async () => {
    await adapter?.cleanup();
  });

  beforeEach(() => {
    keyPrefix++;
    const prefix = `${process.pid}-${keyPrefix}`;
    number = (caps) => ({ key: `number:${prefix}`, caps });
    address = (caps) => ({ key: `address:${prefix}`, caps });
  });

  async function open(): Promise<SendLimiter> {
    if (!adapter) throw new Error("the adapter is not set up");
    const limiter = await adapter.open();
    opened.push(limiter);
    return limiter;
  }

  it("allows up to the cap, then refuses with the key, the cap and the seconds until the oldest send leaves the window", async () => {
    const limiter = await open();
    const caps = [{ max: 3, windowMs: HOUR }];
    for (let i = 0; i < 3; i++)
      expect(await limiter.reserve([number(caps)], at(i * 1000))).toMatchObject({ allowed: true });
    const refusal = await limiter.reserve([number(caps)], at(10_000));
    expect(refusal).toEqual({ allowed: false, key: number(caps).key, cap: caps[0], retryAfterSeconds: 3600 - 10 });
  });

  it("is a sliding window: a send one window after the oldest fits again, the next one does not", async () => {
    const limiter = await open();
    const caps = [{ max: 2, windowMs: HOUR }];
    expect(await limiter.reserve([number(caps)], at(0))).toMatchObject({ allowed: true });
    expect(await limiter.reserve([number(caps)], at(30 * 60_000))).toMatchObject({ allowed: true });
    expect(await limiter.reserve([number(caps)], at(HOUR - 1))).toMatchObject({ allowed: false, retryAfterSeconds: 1 });
    expect(await limiter.reserve([number(caps)], at(HOUR))).toMatchObject({ allowed: true });
    expect(await limiter.reserve([number(caps)], at(HOUR + 1000))).toMatchObject({
      allowed: false,
      retryAfterSeconds: 1800 - 1,
    });
  });

  it("checks every cap of a key (hour and day) and names the one with the longest wait", async () => {
    const limiter = await open();
    const caps = [
      { max: 2, windowMs: HOUR },
      { max: 3, windowMs: 24 * HOUR },
    ];
    expect(await limiter.reserve([number(caps)], at(0))).toMatchObject({ allowed: true });
    expect(await limiter.reserve([number(caps)], at(1000))).toMatchObject({ allowed: true });
    expect(await limiter.reserve([number(caps)], at(2000))).toMatchObject({
      allowed: false,
      cap: caps[0],
      retryAfterSeconds: 3600 - 2,
    });
    expect(await limiter.reserve([number(caps)], at(2 * HOUR))).toMatchObject({ allowed: true });
    expect(await limiter.reserve([number(caps)], at(3 * HOUR))).toMatchObject({
      allowed: false,
      cap: caps[1],
      retryAfterSeconds: 24 * 3600 - 3 * 3600,
    });
  });

  it("reserves all keys or none: a refusal on one key counts nothing on the others", async () => {
    const limiter = await open();
    const tight = [{ max: 1, windowMs: HOUR }];
    const loose = [{ max: 2, windowMs: HOUR }];
    expect(await limiter.reserve([number(tight)], at(0))).toMatchObject({ allowed: true });
    for (let i = 1; i <= 3; i++) {
      expect(await limiter.reserve([number(tight), address(loose)], at(i * 1000))).toMatchObject({
        allowed: false,
        key: number(tight).key,
      });
    }
    // The address was never charged by the refused attempts: both of its slots are still free.
    expect(await limiter.reserve([address(loose)], at(5000))).toMatchObject({ allowed: true });
    expect(await limiter.reserve([address(loose)], at(6000))).toMatchObject({ allowed: true });
    expect(await limiter.reserve([address(loose)], at(7000))).toMatchObject({
      allowed: false,
      key: address(loose).key,
    });
  });

  it("names the key with the longest wait when several refuse", async () => {
    const limiter = await open();
    expect(
      await limiter.reserve([number([{ max: 1, windowMs: HOUR }]), address([{ max: 1, windowMs: 2 * HOUR }])], at(0)),
    ).toMatchObject({ allowed: true });
    const refusal = await limiter.reserve(
      [number([{ max: 1, windowMs: HOUR }]), address([{ max: 1, windowMs: 2 * HOUR }])],
      at(1000),
    );
    expect(refusal).toMatchObject({ allowed: false, key: address([]).key, retryAfterSeconds: 7200 - 1 });
  });

  it("release gives the slot back", async () => {
    const limiter = await open();
    const caps = [{ max: 1, windowMs: HOUR }];
    const first = await limiter.reserve([number(caps), address(caps)], at(0));
    expect(first.allowed).toBe(true);
    expect(await limiter.reserve([number(caps)], at(1000))).toMatchObject({ allowed: false });
    await limiter.release((first as { id: string }).id);
    expect(await limiter.reserve([number(caps)], at(2000))).toMatchObject({ allowed: true });
    expect(await limiter.reserve([address(caps)], at(2000))).toMatchObject({ allowed: true });
  });

  it("release of an id it never gave out changes nothing", async () => {
    const limiter = await open();
    const caps = [{ max: 2, windowMs: HOUR }];
    expect(await limiter.reserve([number(caps)], at(0))).toMatchObject({ allowed: true });
    for (const id of ["", "nonsense", "00000000-0000-4000-8000-000000000000"]) await limiter.release(id);
    expect(await limiter.reserve([number(caps)], at(1))).toMatchObject({ allowed: true });
    expect(await limiter.reserve([number(caps)], at(2))).toMatchObject({ allowed: false });
  });

  it("reservations made at once never let more through than the cap", async () => {
    const limiter = await open();
    const caps = [{ max: 4, windowMs: HOUR }];
    const all = await Promise.all(Array.from({ length: 10 }, (_, i) => limiter.reserve([number(caps)], at(i))));
    expect(all.filter((r) => r.allowed)).toHaveLength(4);
  });

  it("more reservations at once than one batch takes still never pass the cap", async () => {
    // 150 at once: more than a PostgreSQL batch (64), so the later batches must count what the earlier committed.
    const limiter = await open();
    const caps = [{ max: 100, windowMs: HOUR }];
    const all = await Promise.all(
      Array.from({ length: 150 }, (_, i) =>
        limiter.reserve([number(caps), address([{ max: 1000, windowMs: HOUR }])], at(i)),
      ),
    );
    expect(all.filter((r) => r.allowed)).toHaveLength(100);
    expect(all.slice(0, 100).every((r) => r.allowed)).toBe(true);
  });

  it("keys without caps are neither checked nor counted", async () => {
    const limiter = await open();
    for (let i = 0; i < 5; i++)
      expect(await limiter.reserve([number([]), address([{ max: 5, windowMs: HOUR }])], at(i))).toMatchObject({
        allowed: true,
      });
    expect(await limiter.reserve([number([{ max: 1, windowMs: HOUR }])], at(10))).toMatchObject({ allowed: true });
  });

  it("keys are data: quotes, backslashes and dollar signs are counted like any other character", async () => {
    const limiter = await open();
    const caps = [{ max: 1, windowMs: HOUR }];
    const odd = ["it's", "back\\slash\\", "$$; DROP TABLE x; $$", "E'\\x00'", "ü 🙂"].map((text) => ({
      key: `${number(caps).key}:${text}`,
      caps,
    }));
    const first = await Promise.all(odd.map((key, i) => limiter.reserve([key], at(i))));
    expect(first.every((r) => r.allowed)).toBe(true);
    // Each key was stored as itself: it now refuses, and a key differing by one character does not.
    for (const key of odd) expect(await limiter.reserve([key], at(10))).toMatchObject({ allowed: false, key: key.key });
    expect(await limiter.reserve([{ key: `${number(caps).key}:its`, caps }], at(10))).toMatchObject({ allowed: true });
  });

  it("two limiters on one database share the counts, also when they race", async () => {
    // The memory adapter shares nothing between instances by design (MYPHONE_STORE=memory is one process).
    if (!adapter!.shared) return;
    const [a, b] = [await open(), await open()];
    const caps = [{ max: 5, windowMs: HOUR }];
    expect(await a.reserve([number(caps)], at(0))).toMatchObject({ allowed: true });
    expect(await b.reserve([number(caps)], at(1))).toMatchObject({ allowed: true });
    const racing = await Promise.all(
      Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).reserve([number(caps), address(caps)], at(10 + i))),
    );
    expect(racing.filter((r) => r.allowed)).toHaveLength(3);
    expect(await a.reserve([number(caps)], at(100))).toMatchObject({ allowed: false });
    // The address was charged by the three winners only: two more fit, whichever limiter asks.
    expect(await b.reserve([address(caps)], at(100))).toMatchObject({ allowed: true });
    expect(await a.reserve([address(caps)], at(101))).toMatchObject({ allowed: true });
    expect(await b.reserve([address(caps)], at(102))).toMatchObject({ allowed: false });
  });
}
