import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PhoneNumberType, PhoneNumberUtil } from "google-libphonenumber";
import { abuseLimitsOf, openSendLimiter, openSmsScopeStore } from "../src/abuse/open-send-limiter.js";
import { SendGuard } from "../src/abuse/send-guard.js";
import type { BreakerTransition } from "../src/abuse/sms-scopes.js";
import { loadCodeCipher } from "../src/commands/code-keys.js";
import { UserCommands, type CommandResult } from "../src/commands/user-commands.js";
import { loadConfig } from "../src/config.js";
import { DomainError } from "../src/domain/errors.js";
import type { UserCommand } from "../src/domain/phone-decider.js";
import { openEventStore } from "../src/eventstore/open-event-store.js";
import { createLogger } from "../src/logger.js";
import { policiesOf } from "../src/server/myphone-server.js";
import { envNumber, machine, markdownTable, saveResult } from "./harness.js";

/**
 * `npm run bench:pumping`: one simulated day of SMS pumping against the real abuse limits (UserCommands, SendGuard,
 * the SQLite send limiter and budget/breaker store, the SQLite event store, one file), on an accelerated clock
 * in one process: `Date` follows the simulation, so every timestamp (events, codes, counts) is simulated time.
 * It counts events, not time.
 *
 * Legitimate users arrive all day (a day-night curve), mostly in one country; most verify within a minute or two,
 * some take up to 40 minutes, some resend first, some mistype their number once, some never verify. From the
 * start of the second hour an attacker sends SetMyPhone and ResendMyPhoneVerification at a fixed rate, rotating
 * accounts, IPv4 addresses and IPv6 /48s, to numbers it walks through ranges of a premium-rate range, a
 * non-geographic range and mobile ranges of a few countries, and never verifies. It adapts as a script would:
 * it drops a kind of number that is refused as invalid, moves to a new range when one is refused, and pauses
 * a target after a long run of refusals. Every parameter is in SCENARIO below (docs/sms-pumping.md explains them).
 *
 * Rows: every protection off (MYPHONE_ABUSE_LIMITS=off), the caps that existed before issue 21 (cooldown, per
 * user, per number, per address with IPv6 by /64, no country deny list, no number kinds, no budgets, no breaker),
 * and all of it with the shipped defaults; then the defaults again with the attacker also pumping mobile ranges
 * of the users' own countries. Targets (issue 21): attacker SMS with everything ≤ 1% of the unprotected run,
 * legitimate sends refused ≤ 0.5%. Saves bench/results/<date>-pumping.json.
 * Environment: BENCH_SEED (21), BENCH_PUMPING_DIR (a tmpfs under /dev/shm when there is one: the bench counts
 * events, so the disk's speed only changes how long it takes).
 */

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

const SCENARIO = {
  seed: envNumber("BENCH_SEED", 21),
  dayMs: 24 * HOUR,
  legit: {
    /** Sign-ups that set a number, per day; arrivals follow the day, 0.2x the mean at midnight, 1.8x at noon. */
    usersPerDay: 2000,
    countries: { CH: 0.85, DE: 0.04, FR: 0.03, IT: 0.03, AT: 0.02, GB: 0.015, US: 0.015 } as Record<string, number>,
    /** What a user does after the first code (shares add up to 1). */
    behaviour: {
      verifiesFast: 0.75,
      verifiesSlowly: 0.07,
      resendsThenVerifies: 0.08,
      resendsAndGivesUp: 0.02,
      neverVerifies: 0.08,
    },
    /** Fast: log-normal delay with this median and sigma; slowly: uniform between the two. */
    fastMedianMs: 45_000,
    fastSigma: 0.8,
    slowMs: [5 * MINUTE, 40 * MINUTE] as const,
    resendAfterMs: [90_000, 5 * MINUTE] as const,
    /** Share of users who first set a wrong number (a random one of their country) and correct it 2-4 minutes later. */
    typoShare: 0.03,
    /** Client addresses: IPv4 share, and of it the share behind one of a few carrier NAT addresses. */
    ipv4Share: 0.6,
    carrierNatShare: 0.3,
    carrierNatAddresses: 40,
    /** IPv6 users on mobile carriers get a /64 in one of these /48s; the others have their own /48. */
    ipv6CarrierShare: 0.5,
    ipv6Carrier48s: 200,
  },
  attacker: {
    startMs: 1 * HOUR,
    /** Requests per second, from startMs to the end of the day. */
    perSecond: 2,
    /** Weights of the targets; mobile ranges are walked in these countries. */
    targets: { premium: 1, nonGeographic: 1, mobile: 3 },
    mobileCountries: ["UZ", "KG", "NG", "ID"],
    /** Accounts send at most this many codes each (cooldown respected), then a new one is made. */
    sendsPerAccount: 8,
    resendShare: 0.3,
    ipv4Proxies: 400,
    ipv6Networks48: 50,
    ipv6Share: 0.3,
    /** Consecutive InvalidArgument refusals after which a kind of number is dropped for good. */
    dropKindAfter: 20,
    /** Consecutive refusals after which a target is left alone for pauseMs. */
    pauseAfter: 50,
    pauseMs: 30 * MINUTE,
  },
};

/** Ranges (E.164 without the last 3 digits, which the attacker walks) per target; `random(n)` makes n digits. */
const RANGES: Record<string, (digits: (n: number) => string) => string> = {
  premium: (d) => `+449098${d(3)}`, // GB 0909 8xx xxxx: premium rate
  nonGeographic: (d) => `+8835100${d(5)}`, // +883 5100 …: an international network (region 001)
  UZ: (d) => `+99890${d(4)}`,
  KG: (d) => `+996700${d(3)}`,
  NG: (d) => `+234803${d(4)}`,
  ID: (d) => `+62812${d(5)}`,
  CH: (d) => `+4179${d(4)}`,
  DE: (d) => `+49176${d(5)}`,
};

/** A legitimate user's mobile number per country; a draw that is not a valid mobile number is drawn again. */
const LEGIT_NUMBERS: Record<string, (digits: (n: number) => string) => string> = {
  CH: (d) => `+417${"5678"[Number(d(1)) % 4]}${d(7)}`,
  DE: (d) => `+4915${"12579"[Number(d(1)) % 5]}${d(8)}`,
  FR: (d) => `+336${d(8)}`,
  IT: (d) => `+3934${d(8)}`,
  AT: (d) => `+43664${d(7)}`,
  GB: (d) => `+4477${d(8)}`,
  US: (d) => `+1415${"2345678"[Number(d(1)) % 7]}${d(6)}`,
};

const util = PhoneNumberUtil.getInstance();
const MOBILE = new Set([PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE]);

/** True when libphonenumber calls `e164` a valid number of the kind a target or a user means. */
function isKind(e164: string, kind: string): boolean {
  const parsed = util.parse(e164);
  if (!util.isValidNumber(parsed)) return false;
  if (kind === "premium") return util.getNumberType(parsed) === PhoneNumberType.PREMIUM_RATE;
  if (kind === "nonGeographic") return String(util.getRegionCodeForNumber(parsed)) === "001";
  return MOBILE.has(util.getNumberType(parsed));
}

/** `make` drawn until `valid` holds (the generators are close, so a few draws do). */
function drawUntil(make: () => string, valid: (value: string) => boolean): string {
  for (let i = 0; i < 1000; i++) {
    const value = make();
    if (valid(value)) return value;
  }
  throw new Error("no valid number drawn in 1000 tries: a generator in bench/pumping.ts is wrong");
}

interface Protection {
  readonly name: string;
  readonly env: Record<string, string>;
}

const PROTECTIONS: readonly Protection[] = [
  { name: "everything off", env: { MYPHONE_ABUSE_LIMITS: "off" } },
  {
    name: "old caps only",
    env: {
      MYPHONE_SENDS_PER_IP_IPV6_PREFIX: "64",
      MYPHONE_PHONE_COUNTRIES_DENY: "off",
      MYPHONE_PHONE_TYPES_DENY: "off",
      MYPHONE_SMS_BUDGET: "off",
      MYPHONE_SMS_BUDGET_PER_COUNTRY: "off",
      MYPHONE_SMS_BUDGET_PER_PREFIX: "off",
      MYPHONE_SMS_BREAKER_MIN_CONVERSION: "0",
    },
  },
  { name: "all (defaults)", env: {} },
];

// ---------------------------------------------------------------------------------------------------------
// The clock, randomness, events

const RealDate = Date;
let simNow = RealDate.parse("2031-03-03T00:00:00.000Z");
const DAY_START = simNow;

/** `Date` on simulated time: `new Date()` and `Date.now()` answer the simulation's now. */
class SimulatedDate extends RealDate {
  constructor(...args: unknown[]) {
    if (args.length === 0) super(simNow);
    else super(...(args as [number]));
  }
  static override now(): number {
    return simNow;
  }
}

/** mulberry32: a small seeded generator, so every row sees the same day. */
function randomSource(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Scheduled {
  readonly at: number;
  readonly order: number;
  readonly run: () => Promise<void>;
}

/** A min-heap of events by time (then by scheduling order). */
class Agenda {
  private readonly heap: Scheduled[] = [];
  private order = 0;

  at(at: number, run: () => Promise<void>): void {
    const item = { at, order: this.order++, run };
    this.heap.push(item);
    let i = this.heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.before(this.heap[i]!, this.heap[parent]!)) break;
      [this.heap[i], this.heap[parent]] = [this.heap[parent]!, this.heap[i]!];
      i = parent;
    }
  }

  next(): Scheduled | undefined {
    const top = this.heap[0];
    const last = this.heap.pop();
    if (top && last && top !== last) {
      this.heap[0] = last;
      let i = 0;
      for (;;) {
        const [l, r] = [2 * i + 1, 2 * i + 2];
        let smallest = i;
        if (l < this.heap.length && this.before(this.heap[l]!, this.heap[smallest]!)) smallest = l;
        if (r < this.heap.length && this.before(this.heap[r]!, this.heap[smallest]!)) smallest = r;
        if (smallest === i) break;
        [this.heap[i], this.heap[smallest]] = [this.heap[smallest]!, this.heap[i]!];
        i = smallest;
      }
    }
    return top;
  }

  private before(a: Scheduled, b: Scheduled): boolean {
    return a.at < b.at || (a.at === b.at && a.order < b.order);
  }
}

// ---------------------------------------------------------------------------------------------------------
// One simulated day

interface DayResult {
  readonly protection: string;
  readonly scenario: string;
  readonly unprotectedSms: number;
  readonly attacker: {
    requests: number;
    sms: number;
    refusals: Record<string, number>;
    smsByTarget: Record<string, number>;
    smsByHour: number[];
  };
  readonly legit: {
    users: number;
    sendsTried: number;
    refused: number;
    refusals: Record<string, number>;
    verified: number;
  };
  readonly breaker: {
    firstTripAfterAttackMinutes: number | null;
    trips: number;
    closes: number;
    /** Countries of legitimate users whose breaker tripped. */
    legitScopesTripped: string[];
    /** The first trips: scope, minutes after the attack started, judged sends and verified codes. */
    firstTrips: { scope: string; minute: number; sends?: number; verified?: number; reopen?: boolean }[];
  };
}

/** One row: the protection, the attacker's countries and start, and the row's name for them. */
interface Day {
  readonly protection: Protection;
  readonly attackCountries: readonly string[];
  readonly attackStartMs: number;
  readonly scenario: string;
}

/** Attacker requests in a day: with everything off each is an SMS. */
function unprotectedSms(day: Day): number {
  return Math.round(((SCENARIO.dayMs - day.attackStartMs) / 1000) * SCENARIO.attacker.perSecond);
}

async function simulateDay(day: Day): Promise<DayResult> {
  const { protection, attackCountries, scenario } = day;
  globalThis.Date = SimulatedDate as DateConstructor;
  simNow = DAY_START;
  // Separate streams, so that the legitimate users' day is the same whatever the attacker meets.
  const legitRandom = randomSource(SCENARIO.seed);
  const attackRandom = randomSource(SCENARIO.seed + 1);
  let random = legitRandom;
  const pick = (weights: Record<string, number>): string => {
    const total = Object.values(weights).reduce((a, b) => a + b, 0);
    let r = random() * total;
    for (const [key, weight] of Object.entries(weights)) if ((r -= weight) < 0) return key;
    return Object.keys(weights).at(-1)!;
  };
  const digits = (n: number) => Array.from({ length: n }, () => Math.floor(random() * 10)).join("");
  const between = ([low, high]: readonly [number, number]) => low + random() * (high - low);
  const logNormal = (median: number, sigma: number) =>
    median * Math.exp(sigma * Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random()));

  const root = process.env.BENCH_PUMPING_DIR ?? (process.platform === "linux" ? "/dev/shm" : tmpdir());
  const dataDir = mkdtempSync(join(root, "myphone-pumping-"));
  const config = loadConfig({
    MYPHONE_DATA_DIR: dataDir,
    MYPHONE_STORE: "sqlite",
    MYPHONE_SMS_PROVIDER: "none",
    ...protection.env,
  });
  const store = await openEventStore(config);
  const cipher = loadCodeCipher(undefined, dataDir);
  const { phonePolicy, codePolicy } = policiesOf(config);
  const abuse = abuseLimitsOf(config);
  const limiter = abuse.enabled ? await openSendLimiter(config, abuse.sharedCaps) : undefined;
  const scopeStore = abuse.enabled ? await openSmsScopeStore(config, abuse.scopeRules) : undefined;
  const transitions: BreakerTransition[] = [];
  const guard =
    limiter &&
    new SendGuard({
      limiter,
      caps: abuse.sharedCaps,
      logger: createLogger("silent"),
      ...(scopeStore && {
        scopes: { store: scopeStore, rules: abuse.scopeRules, prefixDroppedDigits: abuse.prefixDroppedDigits },
      }),
      onBreakerTransition: (transition) => transitions.push(transition),
    });
  const commands = new UserCommands(store, {
    env: () => ({ now: new Date(), phonePolicy, codePolicy, cipher, sendPolicy: abuse.sendPolicy }),
    sendGuard: guard,
  });

  let users = 0;
  const newUser = async (kind: string) => {
    const userId = `${kind}${String(++users).padStart(8, "0")}`;
    await commands.execute(userId, { type: "AddHumanUser", userName: userId }, "org");
    return userId;
  };
  /** Runs a command; answers the result, or the refusal's id. */
  const run = async (userId: string, command: UserCommand, clientAddress: string): Promise<CommandResult | string> => {
    try {
      return await commands.execute(userId, command, undefined, { clientAddress });
    } catch (error) {
      if (error instanceof DomainError) return error.id;
      throw error;
    }
  };
  const count = (counts: Record<string, number>, key: string) => (counts[key] = (counts[key] ?? 0) + 1);

  const agenda = new Agenda();
  /** Schedules a legitimate user's next step, drawing from the users' stream. */
  const legitAt = (at: number, step: () => Promise<void>) =>
    agenda.at(at, () => {
      random = legitRandom;
      return step();
    });
  const legit = { users: 0, sendsTried: 0, refused: 0, refusals: {} as Record<string, number>, verified: 0 };
  const attacker = {
    requests: 0,
    sms: 0,
    refusals: {} as Record<string, number>,
    smsByTarget: {} as Record<string, number>,
    smsByHour: Array<number>(24).fill(0),
  };
  const legitScopes = new Set<string>();

  // --- legitimate users
  const legitAddress = (): string => {
    const l = SCENARIO.legit;
    if (random() < l.ipv4Share) {
      if (random() < l.carrierNatShare) return `100.64.${Math.floor(random() * l.carrierNatAddresses)}.1`;
      return `${11 + Math.floor(random() * 200)}.${Math.floor(random() * 256)}.${Math.floor(random() * 256)}.${1 + Math.floor(random() * 254)}`;
    }
    const hex = () => Math.floor(random() * 65536).toString(16);
    if (random() < l.ipv6CarrierShare)
      return `2a00:${(0x100 + Math.floor(random() * l.ipv6Carrier48s)).toString(16)}:${hex()}:${hex()}::${hex()}`;
    return `2a02:${hex()}:${hex()}:${hex()}::1`;
  };
  /** One send of a legitimate user: counted, and answered with the code when it went out. */
  const legitSend = async (userId: string, command: UserCommand, address: string): Promise<string | undefined> => {
    legit.sendsTried++;
    const outcome = await run(userId, command, address);
    if (typeof outcome === "string") {
      legit.refused++;
      count(legit.refusals, outcome);
      return undefined;
    }
    // The bench runs without an external code service, so every pending code is one myphone made.
    return cipher.decrypt(outcome.state.pendingCode!.encrypted!);
  };
  const legitVerify = async (userId: string, code: string, address: string) => {
    const outcome = await run(userId, { type: "VerifyPhone", code }, address);
    if (typeof outcome !== "string") legit.verified++;
  };
  const legitArrives = async () => {
    legit.users++;
    const l = SCENARIO.legit;
    const country = pick(l.countries);
    const phone = drawUntil(
      () => LEGIT_NUMBERS[country]!(digits),
      (number) => isKind(number, "mobile"),
    );
    const address = legitAddress();
    const userId = await newUser("legit");
    const behaviour = pick(l.behaviour);
    const afterCode = (code: string) => {
      const now = simNow;
      if (behaviour === "verifiesFast")
        legitAt(now + Math.min(50 * MINUTE, logNormal(l.fastMedianMs, l.fastSigma)), () =>
          legitVerify(userId, code, address),
        );
      if (behaviour === "verifiesSlowly") legitAt(now + between(l.slowMs), () => legitVerify(userId, code, address));
      if (behaviour === "resendsThenVerifies" || behaviour === "resendsAndGivesUp") {
        legitAt(now + between(l.resendAfterMs), async () => {
          const fresh = await legitSend(userId, { type: "ResendPhoneCode" }, address);
          if (fresh && behaviour === "resendsThenVerifies")
            legitAt(simNow + logNormal(l.fastMedianMs, l.fastSigma), () => legitVerify(userId, fresh, address));
        });
      }
    };
    const setRight = async () => {
      const code = await legitSend(userId, { type: "SetPhone", phone }, address);
      if (code) afterCode(code);
    };
    if (random() < l.typoShare) {
      const typo = drawUntil(
        () => LEGIT_NUMBERS[country]!(digits),
        (number) => isKind(number, "mobile"),
      );
      await legitSend(userId, { type: "SetPhone", phone: typo }, address);
      legitAt(simNow + between([2 * MINUTE, 4 * MINUTE]), setRight);
    } else {
      await setRight();
    }
  };
  // Arrivals of a Poisson process whose rate follows the day (thinning).
  {
    const meanPerMs = SCENARIO.legit.usersPerDay / SCENARIO.dayMs;
    const rateAt = (t: number) => meanPerMs * (1 - 0.8 * Math.cos((2 * Math.PI * t) / SCENARIO.dayMs));
    const maxRate = meanPerMs * 1.8;
    for (let t = -Math.log(1 - random()) / maxRate; t < SCENARIO.dayMs; t += -Math.log(1 - random()) / maxRate) {
      if (random() < rateAt(t) / maxRate) legitAt(DAY_START + t, legitArrives);
    }
  }

  // --- the attacker
  const a = SCENARIO.attacker;
  interface Target {
    readonly name: string;
    readonly weight: number;
    range: string;
    next: number;
    streak: number;
    invalidStreak: number;
    droppedForGood: boolean;
    pausedUntil: number;
  }
  const targetNames = [
    ["premium", a.targets.premium],
    ["nonGeographic", a.targets.nonGeographic],
    ...attackCountries.map((country) => [country, a.targets.mobile / attackCountries.length] as const),
  ] as const;
  /** A range whose first and last numbers are of the target's kind. */
  const rangeOf = (name: string) =>
    drawUntil(
      () => RANGES[name]!(digits),
      (range) => isKind(`${range}000`, name) && isKind(`${range}999`, name),
    );
  random = attackRandom;
  const targets: Target[] = targetNames.map(([name, weight]) => ({
    name,
    weight,
    range: rangeOf(name),
    next: 0,
    streak: 0,
    invalidStreak: 0,
    droppedForGood: false,
    pausedUntil: 0,
  }));
  const newRange = (target: Target) => {
    target.range = rangeOf(target.name);
    target.next = 0;
  };
  interface Account {
    readonly userId: string;
    sends: number;
    lastSendAt: number;
    /** The number of its last code, and the target it belongs to (resends go there). */
    phone?: { number: string; target: Target };
  }
  const accounts: Account[] = [];
  const attackAddress = (): string => {
    if (random() < a.ipv6Share) {
      const hex = () => Math.floor(random() * 65536).toString(16);
      return `2001:db8:${(0x100 + Math.floor(random() * a.ipv6Networks48)).toString(16)}:${hex()}:${hex()}:${hex()}:${hex()}:${hex()}`;
    }
    const i = Math.floor(random() * a.ipv4Proxies);
    return `198.18.${i >> 8}.${i & 255}`;
  };
  const accountFor = async (): Promise<Account> => {
    const ready = accounts.find((account) => simNow - account.lastSendAt > 61_000);
    if (ready) return ready;
    const account: Account = { userId: await newUser("attack"), sends: 0, lastSendAt: -Infinity };
    accounts.push(account);
    return account;
  };
  const attack = async () => {
    random = attackRandom;
    const active = targets.filter((target) => !target.droppedForGood && target.pausedUntil <= simNow);
    if (active.length === 0) return;
    let target = active[Number(pick(Object.fromEntries(active.map((t, i) => [String(i), t.weight]))))]!;
    const account = await accountFor();
    let command: UserCommand;
    if (account.phone && random() < a.resendShare) {
      command = { type: "ResendPhoneCode" };
      target = account.phone.target;
    } else {
      account.phone = { number: `${target.range}${String(target.next++ % 1000).padStart(3, "0")}`, target };
      command = { type: "SetPhone", phone: account.phone.number };
    }
    attacker.requests++;
    account.lastSendAt = simNow;
    const outcome = await run(account.userId, command, attackAddress());
    if (++account.sends >= a.sendsPerAccount || outcome === "MYPHONE-SnUsr" || outcome === "MYPHONE-SnCdn")
      accounts.splice(accounts.indexOf(account), 1);
    if (typeof outcome !== "string") {
      attacker.sms++;
      attacker.smsByHour[Math.floor((simNow - DAY_START) / HOUR)]!++;
      count(attacker.smsByTarget, target.name);
      target.streak = 0;
      target.invalidStreak = 0;
      return;
    }
    count(attacker.refusals, outcome);
    if (command.type === "SetPhone") account.phone = undefined;
    if (outcome === "MYPHONE-PhTyp" || outcome === "MYPHONE-PhCty") {
      if (++target.invalidStreak >= a.dropKindAfter) target.droppedForGood = true;
      return;
    }
    // A refused range is left for a fresh one; a target refused again and again is left alone for a while.
    if (["MYPHONE-SnPfx", "MYPHONE-SnBrk", "MYPHONE-SnNum", "MYPHONE-SnCtr"].includes(outcome)) newRange(target);
    if (++target.streak >= a.pauseAfter) {
      target.streak = 0;
      target.pausedUntil = simNow + a.pauseMs;
    }
  };
  for (let t = day.attackStartMs; t < SCENARIO.dayMs; t += 1000 / a.perSecond) agenda.at(DAY_START + t, attack);
  random = legitRandom;

  // --- run the day
  for (let event = agenda.next(); event; event = agenda.next()) {
    simNow = event.at;
    await event.run();
  }
  await limiter?.close();
  await scopeStore?.close();
  await store.close();
  globalThis.Date = RealDate;
  rmSync(dataDir, { recursive: true, force: true });

  const attackStart = DAY_START + day.attackStartMs;
  const trips = transitions.filter((t) => t.to === "open");
  const firstTrip = trips.find((t) => t.atMs >= attackStart);
  for (const t of trips) {
    const country = t.scope.startsWith("country:") ? t.scope.slice("country:".length) : undefined;
    if (country && country in SCENARIO.legit.countries) legitScopes.add(t.scope);
  }
  return {
    protection: protection.name,
    scenario,
    unprotectedSms: unprotectedSms(day),
    attacker,
    legit,
    breaker: {
      firstTripAfterAttackMinutes: firstTrip ? Math.round(((firstTrip.atMs - attackStart) / MINUTE) * 10) / 10 : null,
      trips: trips.length,
      closes: transitions.filter((t) => t.to === "closed").length,
      legitScopesTripped: [...legitScopes],
      firstTrips: trips.slice(0, 12).map((t) => ({
        scope: t.scope,
        minute: Math.round(((t.atMs - attackStart) / MINUTE) * 10) / 10,
        sends: t.sends,
        verified: t.verified,
        reopen: t.reopen,
      })),
    },
  };
}

/** Every generator can draw its kind of number (a wrong one stops the run instead of skewing it). */
function checkNumberGenerators(): void {
  const random = randomSource(1);
  const digits = (n: number) => Array.from({ length: n }, () => Math.floor(random() * 10)).join("");
  for (const make of Object.values(LEGIT_NUMBERS))
    drawUntil(
      () => make(digits),
      (number) => isKind(number, "mobile"),
    );
  for (const name of ["premium", "nonGeographic", ...SCENARIO.attacker.mobileCountries, "CH", "DE"]) {
    drawUntil(
      () => RANGES[name]!(digits),
      (range) => isKind(`${range}000`, name) && isKind(`${range}999`, name),
    );
  }
}

async function main(): Promise<void> {
  checkNumberGenerators();
  const started = RealDate.now();
  const foreign = SCENARIO.attacker.mobileCountries;
  const start = SCENARIO.attacker.startMs;
  const days: Day[] = [
    ...PROTECTIONS.map((protection) => ({
      protection,
      attackCountries: foreign,
      attackStartMs: start,
      scenario: "attack on foreign ranges",
    })),
    // The defaults again: the attack starting at noon, when most users are about (the global budget's cost) ...
    { protection: PROTECTIONS[2]!, attackCountries: foreign, attackStartMs: 12 * HOUR, scenario: "the same from noon" },
    // ... and the attacker also walking mobile ranges of the users' own main and second country.
    {
      protection: PROTECTIONS[2]!,
      attackCountries: [...foreign, "CH", "DE"],
      attackStartMs: start,
      scenario: "attack also on CH and DE ranges",
    },
  ];
  // BENCH_PUMPING_ROWS=2,3 runs only those rows (while tuning); the targets need row 2.
  const only = process.env.BENCH_PUMPING_ROWS?.split(",").map(Number);
  const results: DayResult[] = [];
  for (const [index, day] of days.entries()) {
    if (only && !only.includes(index)) continue;
    results.push(await simulateDay(day));
    process.stderr.write(
      `${day.protection.name}, ${day.scenario}: done after ${Math.round((RealDate.now() - started) / 1000)} s\n`,
    );
  }

  const percent = (part: number, whole: number) => (whole === 0 ? "—" : `${((100 * part) / whole).toFixed(2)}%`);
  const rows = results.map((r) => [
    r.protection,
    r.scenario,
    String(r.attacker.requests),
    String(r.attacker.sms),
    percent(r.attacker.sms, r.unprotectedSms),
    `${r.legit.refused} / ${r.legit.sendsTried}`,
    percent(r.legit.refused, r.legit.sendsTried),
    r.breaker.firstTripAfterAttackMinutes === null ? "—" : `${r.breaker.firstTripAfterAttackMinutes} min`,
    String(r.breaker.trips),
  ]);
  const table = markdownTable(
    [
      "protection",
      "scenario",
      "attacker requests",
      "attacker SMS",
      "of unprotected (every request)",
      "legit sends refused",
      "false refusals",
      "first trip after attack start",
      "breaker trips",
    ],
    rows,
  );
  const all =
    results.find((r) => r.protection === PROTECTIONS[2]!.name && r.scenario === "attack on foreign ranges") ??
    results[0]!;
  const unprotected = all.unprotectedSms;
  const targets = {
    attackerShareOfUnprotected: all.attacker.sms / unprotected,
    attackerTargetMet: all.attacker.sms <= 0.01 * unprotected,
    falseRefusalShare: all.legit.refused / all.legit.sendsTried,
    falseRefusalTargetMet: all.legit.refused <= 0.005 * all.legit.sendsTried,
  };
  process.stdout.write(`${table}\n\n`);
  process.stdout.write(
    `targets (defaults, attack on foreign ranges): attacker SMS ${percent(all.attacker.sms, unprotected)} of unprotected (≤ 1%: ${targets.attackerTargetMet ? "met" : "NOT met"}), ` +
      `false refusals ${percent(all.legit.refused, all.legit.sendsTried)} (≤ 0.5%: ${targets.falseRefusalTargetMet ? "met" : "NOT met"})\n`,
  );
  const file = saveResult("pumping", {
    machine: machine(),
    scenario: SCENARIO,
    results,
    targets,
    tookSeconds: Math.round((RealDate.now() - started) / 1000),
  });
  process.stdout.write(`saved ${file}\n`);
}

main().catch((error: unknown) => {
  globalThis.Date = RealDate;
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
