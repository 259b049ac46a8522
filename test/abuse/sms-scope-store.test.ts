import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PostgresSmsScopeStore } from "../../src/abuse/postgres-sms-scope-store.js";
import { MemorySmsScopeStore, type SmsScopeStore } from "../../src/abuse/sms-scope-store.js";
import type { ScopeReservation, ScopeRules } from "../../src/abuse/sms-scopes.js";
import { SqliteSmsScopeStore } from "../../src/abuse/sqlite-sms-scope-store.js";
import { describeWithPostgres, usePostgresDatabase } from "../support/postgres.js";

/**
 * The SmsScopeStore contract (issue 21), run against every adapter with an injected clock: sliding-window
 * budgets per deployment, country and number range; the conversion breaker's whole cycle (closed → open on
 * unverified codes older than the grace → half-open after the cool-off → closed when trial codes are verified,
 * open again with a doubled cool-off when they are not); release; operator reset and status; and, for the
 * shared adapters, two stores on one database never letting more through than a budget, and seeing each other's
 * breakers.
 */

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

const RULES: ScopeRules = {
  budgets: {
    global: [{ max: 6, windowMs: HOUR }],
    country: [{ max: 4, windowMs: HOUR }],
    prefix: [{ max: 3, windowMs: HOUR }],
  },
  breaker: {
    windowMs: HOUR,
    graceMs: 10 * MINUTE,
    minSends: 4,
    minConversion: 0.5,
    coolOffMs: 30 * MINUTE,
    trialSends: 2,
  },
};

/** A country budget above the breaker's minimum, so the breaker is what refuses. */
const WIDE_COUNTRIES: ScopeRules = { ...RULES, budgets: { ...RULES.budgets, country: [{ max: 10, windowMs: HOUR }] } };

/** Breaker only: budgets out of the way. */
const BREAKER_ONLY: ScopeRules = { budgets: { global: [], country: [], prefix: [] }, breaker: RULES.breaker };

interface Adapter {
  /** Opens a store; stores opened by one adapter share their counts when `shared`. */
  open(rules: ScopeRules): Promise<SmsScopeStore>;
  readonly shared: boolean;
  cleanup(): Promise<void>;
}

describe("memory SmsScopeStore", () =>
  storeContract(() => ({
    shared: false,
    open: async (rules) => new MemorySmsScopeStore(rules),
    cleanup: async () => undefined,
  })));

describe("sqlite SmsScopeStore", () =>
  storeContract(() => {
    const dir = mkdtempSync(join(tmpdir(), "myphone-scopes-"));
    return {
      shared: true,
      open: async (rules) => SqliteSmsScopeStore.open(join(dir, "myphone.sqlite"), rules),
      cleanup: async () => rmSync(dir, { recursive: true, force: true }),
    };
  }));

describeWithPostgres()("postgres SmsScopeStore", () => {
  const database = usePostgresDatabase("sms_scopes");
  // Each store has its own pool: as separate as two processes are, as far as PostgreSQL can tell.
  storeContract(() => ({
    shared: true,
    open: (rules) => PostgresSmsScopeStore.open({ connectionString: database.url, rules }),
    cleanup: async () => undefined,
  }));
});

function storeContract(makeAdapter: () => Adapter): void {
  let adapter: Adapter;
  const opened: SmsScopeStore[] = [];
  /** Each test lives in its own days, far from the others', so tests sharing a database never see each other's counts. */
  let epoch = Date.parse("2030-01-01T00:00:00Z");
  let t0 = epoch;
  const at = (ms: number) => new Date(t0 + ms);

  beforeAll(() => {
    adapter = makeAdapter();
  });
  beforeEach(() => {
    epoch += 30 * 24 * HOUR;
    t0 = epoch;
  });
  afterEach(async () => {
    for (const store of opened.splice(0)) await store.close();
  });
  afterAll(() => adapter.cleanup());

  async function open(rules: ScopeRules = RULES): Promise<SmsScopeStore> {
    const store = await adapter.open(rules);
    opened.push(store);
    return store;
  }

  const refusal = (reservation: ScopeReservation) =>
    reservation.allowed
      ? { allowed: true }
      : {
          allowed: false,
          scope: reservation.scope,
          cause: reservation.cause,
          retryAfterSeconds: reservation.retryAfterSeconds,
        };

  describe("budgets", () => {
    it("the deployment's budget counts every send and refuses the one over it, with the wait until a slice leaves the window", async () => {
      const store = await open();
      // Six countries, six ranges: only the global budget (6 per hour) is in reach.
      const countries = ["CH", "DE", "FR", "IT", "AT", "GB"];
      for (const [i, country] of countries.entries()) {
        expect(
          await store.reserve(["global", `country:${country}`, `prefix:+4179100${i}`], at(i * MINUTE)),
        ).toMatchObject({ allowed: true });
      }
      const over = await store.reserve(["global", "country:NL", "prefix:+3161234"], at(10 * MINUTE));
      // The first send's minute slice leaves the hour at 61 min (a budget refuses at most one slice early).
      expect(refusal(over)).toEqual({ allowed: false, scope: "global", cause: "budget", retryAfterSeconds: 51 * 60 });
      expect(await store.reserve(["global", "country:NL", "prefix:+3161234"], at(61 * MINUTE))).toMatchObject({
        allowed: true,
      });
    });

    it("a country's budget and a range's budget refuse on their own, naming their scope", async () => {
      const store = await open();
      for (let i = 0; i < 3; i++)
        expect(await store.reserve(["country:CH", "prefix:+4179111"], at(i * 1000))).toMatchObject({ allowed: true });
      expect(refusal(await store.reserve(["country:CH", "prefix:+4179111"], at(5000)))).toMatchObject({
        allowed: false,
        scope: "prefix:+4179111",
        cause: "budget",
      });
      expect(await store.reserve(["country:CH", "prefix:+4179222"], at(6000))).toMatchObject({ allowed: true });
      expect(refusal(await store.reserve(["country:CH", "prefix:+4179333"], at(7000)))).toMatchObject({
        allowed: false,
        scope: "country:CH",
        cause: "budget",
      });
      expect(await store.reserve(["country:DE", "prefix:+4917612"], at(8000))).toMatchObject({ allowed: true });
    });

    it("a refused send counts nowhere, and release gives an allowed one back", async () => {
      const store = await open();
      const first = await store.reserve(["country:CH", "prefix:+4179444"], at(0));
      for (let i = 1; i < 3; i++)
        expect(await store.reserve(["country:CH", "prefix:+4179444"], at(i))).toMatchObject({ allowed: true });
      // The range is full; these refusals must not use up the country.
      for (let i = 0; i < 5; i++)
        expect(await store.reserve(["country:CH", "prefix:+4179444"], at(10 + i))).toMatchObject({ allowed: false });
      expect(await store.reserve(["country:CH", "prefix:+4179555"], at(20))).toMatchObject({ allowed: true });
      if (!first.allowed) throw new Error("first send refused");
      await store.release(first.hold);
      expect(await store.reserve(["country:CH", "prefix:+4179444"], at(30))).toMatchObject({ allowed: true });
    });

    it("reservations made at once never pass a budget", async () => {
      const store = await open();
      const all = await Promise.all(
        Array.from({ length: 12 }, (_, i) =>
          store.reserve(["global", `country:C${String.fromCharCode(65 + i)}`, `prefix:+4179${600 + i}`], at(i)),
        ),
      );
      expect(all.filter((r) => r.allowed)).toHaveLength(6);
    });
  });

  describe("conversion breaker", () => {
    /** `count` sends to range `prefix` (country CH) at `fromMs`, one a second; all must be allowed. */
    async function send(store: SmsScopeStore, prefix: string, count: number, fromMs: number): Promise<void> {
      for (let i = 0; i < count; i++)
        expect(await store.reserve(["country:CH", `prefix:${prefix}`], at(fromMs + i * 1000))).toMatchObject({
          allowed: true,
        });
    }

    /** A breaker-only store: four unverified codes to `scopes` a second apart, then the send at 11 min, past the grace. */
    async function sendUntilJudged(scopes: string[]) {
      const store = await open(BREAKER_ONLY);
      for (let i = 0; i < 4; i++) expect(await store.reserve(scopes, at(i * 1000))).toMatchObject({ allowed: true });
      return { store, trip: await store.reserve(scopes, at(11 * MINUTE)) };
    }

    it("judges only codes older than the grace: young unverified codes do not trip it, old ones do", async () => {
      const store = await open(BREAKER_ONLY);
      await send(store, "+4179700", 6, 0);
      // At 9 min the codes are younger than the 10 min grace: nothing to judge yet.
      expect(await store.reserve(["country:DE", "prefix:+4179700"], at(9 * MINUTE))).toMatchObject({ allowed: true });
      const tripped = await store.reserve(["country:DE", "prefix:+4179700"], at(12 * MINUTE));
      expect(refusal(tripped)).toEqual({
        allowed: false,
        scope: "prefix:+4179700",
        cause: "breaker",
        retryAfterSeconds: 30 * 60,
      });
      // Only the range tripped: country DE had no send to judge.
      expect(tripped.transitions).toEqual([
        expect.objectContaining({
          scope: "prefix:+4179700",
          kind: "prefix",
          to: "open",
          sends: 6,
          verified: 0,
          coolOffMs: 30 * MINUTE,
          reopen: false,
        }),
      ]);
    });

    it("stays closed when enough codes are verified, even slowly", async () => {
      const store = await open(BREAKER_ONLY);
      for (let i = 0; i < 8; i++) {
        expect(await store.reserve(["country:CH", "prefix:+4179710"], at(i * MINUTE))).toMatchObject({ allowed: true });
        // Half of them verified, the last one 15 minutes after its send.
        if (i % 2 === 0)
          expect(
            await store.recordVerified(["country:CH", "prefix:+4179710"], at(i * MINUTE), at(i * MINUTE + 15 * MINUTE)),
          ).toEqual([]);
      }
      expect(await store.reserve(["country:CH", "prefix:+4179710"], at(40 * MINUTE))).toMatchObject({
        allowed: true,
        transitions: [],
      });
    });

    it("trip → cool-off → trial sends → closes when a trial is verified; the codes before it are not judged again", async () => {
      const scopes = ["country:FR", "prefix:+3361234"];
      const { store, trip } = await sendUntilJudged(scopes);
      expect(trip).toMatchObject({ allowed: false, cause: "breaker" });
      expect(trip.transitions.map((t) => [t.scope, t.to])).toEqual([
        ["country:FR", "open"],
        ["prefix:+3361234", "open"],
      ]);
      // Inside the cool-off: refused with the time left.
      expect(refusal(await store.reserve(scopes, at(31 * MINUTE)))).toMatchObject({
        allowed: false,
        cause: "breaker",
        retryAfterSeconds: 10 * 60,
      });
      // After it: half-open, two trial sends, then refused until their grace is over.
      const firstTrial = await store.reserve(scopes, at(41 * MINUTE));
      expect(firstTrial).toMatchObject({ allowed: true });
      expect(firstTrial.transitions.map((t) => [t.scope, t.to])).toEqual([
        ["country:FR", "half_open"],
        ["prefix:+3361234", "half_open"],
      ]);
      expect(await store.reserve(scopes, at(42 * MINUTE))).toMatchObject({ allowed: true, transitions: [] });
      expect(refusal(await store.reserve(scopes, at(43 * MINUTE)))).toMatchObject({
        allowed: false,
        cause: "breaker",
        retryAfterSeconds: 9 * 60,
      });
      // A code sent before the trip, verified now, is no trial: the breaker stays half-open.
      expect(await store.recordVerified(scopes, at(0), at(44 * MINUTE))).toEqual([]);
      expect(await store.reserve(scopes, at(45 * MINUTE))).toMatchObject({ allowed: false, cause: "breaker" });
      // A trial code verified: closed again.
      const closed = await store.recordVerified(scopes, at(41 * MINUTE), at(46 * MINUTE));
      expect(closed.map((t) => [t.scope, t.to, t.sends, t.verified])).toEqual([
        ["country:FR", "closed", 2, 1],
        ["prefix:+3361234", "closed", 2, 1],
      ]);
      // Closed: the four unverified codes before the trip are not judged again, so sending works at once.
      for (let i = 0; i < 3; i++)
        expect(await store.reserve(["country:FR", `prefix:+336999${i}`], at(47 * MINUTE + i))).toMatchObject({
          allowed: true,
          transitions: [],
        });
    });

    it("trips again with a doubled cool-off when the trial codes are not verified within the grace", async () => {
      const scopes = ["country:IT", "prefix:+393471"];
      const { store, trip } = await sendUntilJudged(scopes);
      expect(trip).toMatchObject({ allowed: false });
      // Cool-off over at 41 min: two trials, never verified.
      expect(await store.reserve(scopes, at(41 * MINUTE))).toMatchObject({ allowed: true });
      expect(await store.reserve(scopes, at(41 * MINUTE + 1000))).toMatchObject({ allowed: true });
      expect(await store.reserve(scopes, at(50 * MINUTE))).toMatchObject({ allowed: false, retryAfterSeconds: 60 + 1 });
      const again = await store.reserve(scopes, at(52 * MINUTE));
      expect(refusal(again)).toMatchObject({ allowed: false, cause: "breaker", retryAfterSeconds: 60 * 60 });
      expect(again.transitions).toEqual([
        expect.objectContaining({
          scope: "country:IT",
          to: "open",
          reopen: true,
          sends: 2,
          verified: 0,
          coolOffMs: 60 * MINUTE,
        }),
        expect.objectContaining({
          scope: "prefix:+393471",
          to: "open",
          reopen: true,
          sends: 2,
          verified: 0,
          coolOffMs: 60 * MINUTE,
        }),
      ]);
      // A trial round that converts closes it and resets the doubling.
      expect(await store.reserve(scopes, at(112 * MINUTE))).toMatchObject({ allowed: true });
      expect((await store.recordVerified(scopes, at(112 * MINUTE), at(113 * MINUTE))).map((t) => t.to)).toEqual([
        "closed",
        "closed",
      ]);
    });

    it("a trial whose send is released is given back to the round", async () => {
      const store = await open(BREAKER_ONLY);
      const scopes = ["country:ES", "prefix:+346123"];
      for (let i = 0; i < 4; i++) await store.reserve(scopes, at(i));
      expect(await store.reserve(scopes, at(11 * MINUTE))).toMatchObject({ allowed: false });
      const trial = await store.reserve(scopes, at(41 * MINUTE));
      expect(await store.reserve(scopes, at(41 * MINUTE + 1))).toMatchObject({ allowed: true });
      expect(await store.reserve(scopes, at(41 * MINUTE + 2))).toMatchObject({ allowed: false });
      if (!trial.allowed) throw new Error("trial refused");
      await store.release(trial.hold);
      expect(await store.reserve(scopes, at(41 * MINUTE + 3))).toMatchObject({ allowed: true });
    });

    it("an operator reset closes a breaker (or all), and status shows breakers, budget use and the busiest ranges", async () => {
      const store = await open(WIDE_COUNTRIES);
      // Breakers earlier tests left open in a shared database would show in the status; "all" closes them.
      await store.resetBreakers(at(0));
      for (let i = 0; i < 3; i++) await store.reserve(["global", "country:NL", "prefix:+3161111"], at(i));
      await store.reserve(["global", "country:NL", "prefix:+3162222"], at(3));
      await store.recordVerified(["country:NL", "prefix:+3162222"], at(3), at(MINUTE));
      expect(await store.reserve(["global", "country:NL", "prefix:+3163333"], at(11 * MINUTE))).toMatchObject({
        allowed: false,
        scope: "country:NL",
        cause: "breaker",
      });

      const status = await store.status(at(12 * MINUTE), { topPrefixes: 5 });
      expect(status.breakers).toEqual([
        {
          scope: "country:NL",
          phase: "open",
          since: at(11 * MINUTE),
          until: at(41 * MINUTE),
          trialsSent: 0,
          trialsVerified: 0,
          reopens: 0,
        },
      ]);
      expect(status.budgets).toEqual([
        { kind: "global", max: 6, windowMs: HOUR, used: 4, scope: "global" },
        { kind: "country", max: 10, windowMs: HOUR, used: 4, scope: "country:NL" },
        { kind: "prefix", max: 3, windowMs: HOUR, used: 3, scope: "prefix:+3161111" },
      ]);
      expect(status.topPrefixes).toEqual([
        { scope: "prefix:+3161111", sends: 3, judgedSends: 3, verified: 0, conversion: 0 },
        { scope: "prefix:+3162222", sends: 1, judgedSends: 1, verified: 1, conversion: 1 },
      ]);
      // After the cool-off it shows as half-open (it moves at the next send).
      expect((await store.status(at(50 * MINUTE))).breakers).toMatchObject([
        { scope: "country:NL", phase: "half_open" },
      ]);

      expect(await store.resetBreakers(at(13 * MINUTE), ["country:XX"])).toEqual([]);
      expect(await store.resetBreakers(at(13 * MINUTE), ["country:NL"])).toEqual(["country:NL"]);
      expect((await store.status(at(13 * MINUTE))).breakers).toEqual([]);
      expect(await store.reserve(["country:NL", "prefix:+3164444"], at(14 * MINUTE))).toMatchObject({
        allowed: true,
        transitions: [],
      });
    });
  });

  describe("shared by two stores on one database", () => {
    it("never lets more through than a budget when both reserve at once", async () => {
      if (!adapter.shared) return;
      const [one, two] = [await open(), await open()];
      const all = await Promise.all(
        Array.from({ length: 16 }, (_, i) =>
          (i % 2 === 0 ? one : two).reserve(
            ["global", `country:${["CH", "DE", "FR", "IT"][i % 4]}`, `prefix:+4179${800 + i}`],
            at(i),
          ),
        ),
      );
      expect(all.filter((r) => r.allowed)).toHaveLength(6);
      expect(await one.reserve(["global"], at(100))).toMatchObject({ allowed: false, scope: "global" });
    });

    it("a breaker one store tripped refuses on the other, and a verification on the other closes it", async () => {
      if (!adapter.shared) return;
      const [one, two] = [await open(BREAKER_ONLY), await open(BREAKER_ONLY)];
      const scopes = ["country:AT", "prefix:+436641"];
      for (let i = 0; i < 4; i++)
        expect(await (i % 2 ? one : two).reserve(scopes, at(i))).toMatchObject({ allowed: true });
      expect(await one.reserve(scopes, at(11 * MINUTE))).toMatchObject({ allowed: false, cause: "breaker" });
      expect(await two.reserve(scopes, at(12 * MINUTE))).toMatchObject({
        allowed: false,
        cause: "breaker",
        retryAfterSeconds: 29 * 60,
        transitions: [],
      });
      expect(await two.reserve(scopes, at(41 * MINUTE))).toMatchObject({ allowed: true });
      expect((await one.recordVerified(scopes, at(41 * MINUTE), at(42 * MINUTE))).map((t) => t.to)).toEqual([
        "closed",
        "closed",
      ]);
      expect(await two.reserve(scopes, at(43 * MINUTE))).toMatchObject({ allowed: true, transitions: [] });
    });
  });
}
