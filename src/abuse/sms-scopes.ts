import { retryAfterSeconds, type SendCap } from "../domain/code-send-rules.js";
import { describeNumber } from "../domain/phone-number.js";

/**
 * SMS budgets and the conversion breaker: what they count and the decisions every store makes alike. A scope is the
 * deployment (`global`), the number's region (`country:CH`) or its range (`prefix:+41791234`).
 * Counts are kept per time slice of a scope, not per send, so a check adds up a few dozen rows and verified codes
 * join their send's slice. A budget counts every slice overlapping its window: at most one slice early, never late.
 * The breaker judges only slices wholly older than its grace, so a person has had time to type the code.
 */

export type ScopeKind = "global" | "country" | "prefix";

/** The scope of every send. */
export const GLOBAL_SCOPE = "global";

/** The kind of a scope key, or undefined when it is not one. */
export function kindOfScope(scope: string): ScopeKind | undefined {
  if (scope === GLOBAL_SCOPE) return "global";
  if (/^country:(\d{3}|[A-Z]{2})$/.test(scope)) return "country";
  if (/^prefix:\+\d{1,15}$/.test(scope)) return "prefix";
  return undefined;
}

/** When codes to a country or number range are converted too rarely, they stop for a while. */
export interface BreakerSettings {
  /** Sends within this window are judged. */
  readonly windowMs: number;
  /** Sends younger than this are not judged yet. */
  readonly graceMs: number;
  /** Judged sends a scope needs before its conversion counts. */
  readonly minSends: number;
  /** Below this share of verified sends, the scope trips. */
  readonly minConversion: number;
  /** How long a tripped scope refuses everything (doubling on each failed trial round, at most 16 times). */
  readonly coolOffMs: number;
  /** Sends let through after the cool-off (half-open). */
  readonly trialSends: number;
}

/** Budgets per kind of scope, and the breaker (for country and prefix scopes), as configured. */
export interface ScopeRules {
  readonly budgets: Readonly<Record<ScopeKind, readonly SendCap[]>>;
  /** Absent: no breaker. */
  readonly breaker?: BreakerSettings;
}

/** Consecutive failed trial rounds double the cool-off up to this many times (2^4 = 16 times the cool-off). */
const MAX_COOLOFF_DOUBLINGS = 4;

/** Slices per window: precise to 1/60 of it, and at most 61 rows to add up per check. */
const SLICES_PER_WINDOW = 60;

/** The slice width of a budget window. */
export function budgetWidthMs(windowMs: number): number {
  return Math.max(1000, Math.ceil(windowMs / SLICES_PER_WINDOW));
}

/** The breaker's slice width: 1/60 of its window, at most a fifth of the grace (the grace is judged in slices). */
export function breakerWidthMs(breaker: BreakerSettings): number {
  const byGrace = breaker.graceMs > 0 ? breaker.graceMs / 5 : Infinity;
  return Math.max(1000, Math.ceil(Math.min(breaker.windowMs / SLICES_PER_WINDOW, byGrace)));
}

/** True when the breaker watches scopes of this kind (countries and ranges, not the deployment as a whole). */
function breakerWatches(kind: ScopeKind, rules: ScopeRules): rules is ScopeRules & { breaker: BreakerSettings } {
  return rules.breaker !== undefined && kind !== "global";
}

/** The slice widths counted for scopes of `kind`: one per budget window, and the breaker's. */
export function widthsOf(kind: ScopeKind, rules: ScopeRules): number[] {
  const widths = rules.budgets[kind].map((cap) => budgetWidthMs(cap.windowMs));
  if (breakerWatches(kind, rules)) widths.push(breakerWidthMs(rules.breaker));
  return [...new Set(widths)];
}

/** How long counts must be kept: the longest window plus a slice. */
export function retentionMs(rules: ScopeRules): number {
  const windows = [...rules.budgets.global, ...rules.budgets.country, ...rules.budgets.prefix].map(
    (cap) => cap.windowMs + budgetWidthMs(cap.windowMs),
  );
  if (rules.breaker) windows.push(rules.breaker.windowMs + breakerWidthMs(rules.breaker));
  return Math.max(0, ...windows);
}

/** True when the rules count anything at all. */
export function rulesCountAnything(rules: ScopeRules): boolean {
  return rules.breaker !== undefined || Object.values(rules.budgets).some((caps) => caps.length > 0);
}

/** The scopes a send to `e164` is counted in under `rules` (only those with a budget or a breaker). */
export function scopesOfNumber(e164: string, rules: ScopeRules, prefixDroppedDigits: number): string[] {
  const scopes: string[] = [];
  if (rules.budgets.global.length > 0) scopes.push(GLOBAL_SCOPE);
  if (rules.budgets.country.length > 0 || rules.breaker) {
    // An unassigned number under a shared calling code counts for the calling code's main region.
    scopes.push(`country:${describeNumber(e164).regions[0] ?? "001"}`);
  }
  if (rules.budgets.prefix.length > 0 || rules.breaker)
    scopes.push(`prefix:${e164.slice(0, Math.max(2, e164.length - prefixDroppedDigits))}`);
  return scopes;
}

export type BreakerPhase = "closed" | "open" | "half_open";

/** A scope's breaker. A scope without a stored state is closed and judged over its whole window. */
export interface BreakerState {
  readonly phase: BreakerPhase;
  /** When this phase began; a closed breaker judges only sends from then on. */
  readonly since: number;
  /** Open: when the cool-off ends. */
  readonly until: number;
  /** Half-open: trial sends let through, and how many of them were verified. */
  readonly trialsSent: number;
  readonly trialsVerified: number;
  readonly lastTrialAt: number;
  /** Failed trial rounds since the breaker last closed (the cool-off doubles with each). */
  readonly reopens: number;
}

export const CLOSED: BreakerState = {
  phase: "closed",
  since: 0,
  until: 0,
  trialsSent: 0,
  trialsVerified: 0,
  lastTrialAt: 0,
  reopens: 0,
};

/** A change of a breaker's phase, for the log line and the metrics. */
export interface BreakerTransition {
  readonly scope: string;
  readonly kind: ScopeKind;
  readonly to: BreakerPhase;
  readonly atMs: number;
  /** Trips: the judged sends and verified codes (first trip) or the trial round (re-trip), and the cool-off. */
  readonly sends?: number;
  readonly verified?: number;
  readonly coolOffMs?: number;
  readonly reopen?: boolean;
}

/** What an allowed send took, so that `release` can give it back. */
export interface ScopeHold {
  readonly nowMs: number;
  readonly scopes: readonly { readonly scope: string; readonly trial: boolean }[];
}

/** The outcome of a reservation; `transitions` are the breaker changes it caused, allowed or not. */
export type ScopeReservation =
  | { readonly allowed: true; readonly hold: ScopeHold; readonly transitions: readonly BreakerTransition[] }
  | {
      readonly allowed: false;
      readonly scope: string;
      readonly kind: ScopeKind;
      readonly cause: "budget" | "breaker";
      readonly retryAfterSeconds: number;
      readonly transitions: readonly BreakerTransition[];
    };

/** A request to a ledger: the operations every store offers, batched by the SQL stores. */
export type ScopeRequest =
  | { readonly type: "reserve"; readonly scopes: readonly string[]; readonly nowMs: number }
  | { readonly type: "release"; readonly hold: ScopeHold }
  | {
      readonly type: "verified";
      readonly scopes: readonly string[];
      readonly sentAtMs: number;
      readonly nowMs: number;
    };

/** The answer to a request, by its type. */
export type ScopeAnswer<R extends ScopeRequest> = R extends { type: "reserve" }
  ? ScopeReservation
  : R extends { type: "verified" }
    ? BreakerTransition[]
    : undefined;

/** The scopes whose rows a request reads or writes. */
export function scopesOfRequest(request: ScopeRequest): readonly string[] {
  return request.type === "release" ? request.hold.scopes.map((held) => held.scope) : request.scopes;
}

/** The earliest send time a batch of requests needs counts from (older slices are never looked at). */
export function horizonOf(requests: readonly ScopeRequest[], rules: ScopeRules): number {
  const times = requests.map((request) => (request.type === "release" ? request.hold.nowMs : request.nowMs));
  return Math.min(...times) - retentionMs(rules);
}

/** One slice of a scope's counts. */
export interface Slice {
  sends: number;
  verified: number;
}

/** A change to one slice, for the SQL stores to add to their rows. */
export interface SliceDelta {
  readonly scope: string;
  readonly width: number;
  readonly start: number;
  sends: number;
  verified: number;
}

/** Slices of one scope: width → slice start → counts. */
type ScopeSlices = Map<number, Map<number, Slice>>;

/** Scope counts and breaker states, and the decisions on them (the SQL stores load a fresh one per transaction). */
export class ScopeLedger {
  private readonly slices = new Map<string, ScopeSlices>();
  private readonly breakers = new Map<string, BreakerState>();
  /** What changed since `takeChanges` was last called (the SQL stores write it back). */
  private deltas = new Map<string, SliceDelta>();
  private changedBreakers = new Set<string>();

  /** `tracksChanges`: remember changes for `takeChanges` (the SQL stores' fresh ledgers, not the memory store's). */
  constructor(
    readonly rules: ScopeRules,
    private readonly tracksChanges = false,
  ) {}

  /** Adds a stored slice (the SQL stores load rows this way). */
  load(scope: string, width: number, start: number, sends: number, verified: number): void {
    const slice = this.slice(scope, width, start);
    slice.sends += sends;
    slice.verified += verified;
  }

  /** Sets a stored breaker state. */
  loadBreaker(scope: string, state: BreakerState): void {
    this.breakers.set(scope, state);
  }

  /** The breaker state of `scope` (closed when none is stored). */
  breakerOf(scope: string): BreakerState {
    return this.breakers.get(scope) ?? CLOSED;
  }

  /** Every stored breaker state. */
  breakerStates(): [string, BreakerState][] {
    return [...this.breakers];
  }

  /** Runs one request against the ledger. */
  apply<R extends ScopeRequest>(request: R): ScopeAnswer<R> {
    switch (request.type) {
      case "reserve":
        return this.reserve(request.scopes, request.nowMs) as ScopeAnswer<R>;
      case "release":
        this.release(request.hold);
        return undefined as ScopeAnswer<R>;
      case "verified":
        return this.verified(request.scopes, request.sentAtMs, request.nowMs) as ScopeAnswer<R>;
    }
    throw new Error("unknown scope request");
  }

  /**
   * One more send to `scopes` at `nowMs`: refused (with the longest wait of every refusing budget or breaker) or
   * counted in every scope. Breakers change phase here as time and counts say (trip, half-open, trip again).
   */
  reserve(scopes: readonly string[], nowMs: number): ScopeReservation {
    const transitions: BreakerTransition[] = [];
    let refusal: { scope: string; kind: ScopeKind; cause: "budget" | "breaker"; waitMs: number } | undefined;
    const refuse = (scope: string, kind: ScopeKind, cause: "budget" | "breaker", waitMs: number) => {
      if (!refusal || waitMs > refusal.waitMs) refusal = { scope, kind, cause, waitMs };
    };
    const held: { scope: string; trial: boolean }[] = [];
    for (const scope of new Set(scopes)) {
      const kind = kindOfScope(scope);
      if (!kind) throw new Error(`not a scope: ${scope}`);
      let trial = false;
      if (breakerWatches(kind, this.rules)) {
        const verdict = this.judge(scope, kind, nowMs, this.rules.breaker, transitions);
        if (verdict.waitMs > 0) refuse(scope, kind, "breaker", verdict.waitMs);
        trial = verdict.trial;
      }
      for (const cap of this.rules.budgets[kind]) {
        const waitMs = this.budgetWaitMs(scope, cap, nowMs);
        if (waitMs > 0) refuse(scope, kind, "budget", waitMs);
      }
      held.push({ scope, trial });
    }
    if (refusal) {
      const { scope, kind, cause, waitMs } = refusal;
      return { allowed: false, scope, kind, cause, retryAfterSeconds: retryAfterSeconds(waitMs), transitions };
    }
    for (const { scope, trial } of held) {
      this.count(scope, nowMs, 1);
      if (trial) {
        const state = this.breakerOf(scope);
        this.setBreaker(scope, { ...state, trialsSent: state.trialsSent + 1, lastTrialAt: nowMs });
      }
    }
    return { allowed: true, hold: { nowMs, scopes: held }, transitions };
  }

  /** Gives back what `hold` took: its sends, and its trial sends if the same half-open round is still on. */
  release(hold: ScopeHold): void {
    for (const { scope, trial } of hold.scopes) {
      this.count(scope, hold.nowMs, -1);
      const state = this.breakerOf(scope);
      if (trial && state.phase === "half_open" && state.since <= hold.nowMs && state.trialsSent > 0) {
        this.setBreaker(scope, { ...state, trialsSent: state.trialsSent - 1 });
      }
    }
  }

  /**
   * Counts a code sent at `sentAtMs` as verified in its send's slice, and as a converted trial when its breaker was
   * half-open before the send; enough converted trials close the breaker.
   */
  verified(scopes: readonly string[], sentAtMs: number, nowMs: number): BreakerTransition[] {
    const breaker = this.rules.breaker;
    const transitions: BreakerTransition[] = [];
    if (!breaker) return transitions;
    const width = breakerWidthMs(breaker);
    for (const scope of new Set(scopes)) {
      const kind = kindOfScope(scope);
      if (!kind || !breakerWatches(kind, this.rules)) continue;
      if (sentAtMs > nowMs - retentionMs(this.rules)) this.addToSlice(scope, width, sentAtMs, 0, 1);
      const state = this.breakerOf(scope);
      if (state.phase !== "half_open" || sentAtMs < state.since) continue;
      const trialsVerified = state.trialsVerified + 1;
      if (trialsVerified >= Math.max(1, breaker.minConversion * state.trialsSent)) {
        this.setBreaker(scope, { ...CLOSED, since: nowMs });
        transitions.push({ scope, kind, to: "closed", atMs: nowMs, sends: state.trialsSent, verified: trialsVerified });
      } else {
        this.setBreaker(scope, { ...state, trialsVerified });
      }
    }
    return transitions;
  }

  /** Closes the breakers of `scopes` (every one when omitted); answers the scopes it closed. */
  reset(nowMs: number, scopes?: readonly string[]): string[] {
    const closed: string[] = [];
    for (const [scope, state] of this.breakers) {
      if (state.phase === "closed" || (scopes && !scopes.includes(scope))) continue;
      this.setBreaker(scope, { ...CLOSED, since: nowMs });
      closed.push(scope);
    }
    return closed;
  }

  /** Every scope of `kind` with counts in slices of `width`. */
  scopesOfKind(kind: ScopeKind, width: number): string[] {
    return [...this.slices]
      .filter(([scope, byWidth]) => kindOfScope(scope) === kind && byWidth.has(width))
      .map(([scope]) => scope);
  }

  /** Forgets slices no window reaches any more, and closed breakers whose restart is out of every window. */
  forget(nowMs: number): void {
    const horizon = nowMs - retentionMs(this.rules);
    for (const [scope, byWidth] of this.slices) {
      for (const [width, slices] of byWidth) {
        for (const start of slices.keys()) if (start + width <= horizon) slices.delete(start);
        if (slices.size === 0) byWidth.delete(width);
      }
      if (byWidth.size === 0) this.slices.delete(scope);
    }
    for (const [scope, state] of this.breakers)
      if (state.phase === "closed" && state.since <= horizon) this.breakers.delete(scope);
  }

  /** Sends of `scope` in the slices of `width` that overlap [fromMs, toMs), and the verified codes among them. */
  sum(scope: string, width: number, fromMs: number, toMs: number): Slice {
    const total = { sends: 0, verified: 0 };
    for (const [start, slice] of this.slices.get(scope)?.get(width) ?? []) {
      if (start + width > fromMs && start < toMs) {
        total.sends += slice.sends;
        total.verified += slice.verified;
      }
    }
    return total;
  }

  /** The changes since the last call, and forgets them (the SQL stores write them back). */
  takeChanges(): { slices: SliceDelta[]; breakers: [string, BreakerState][] } {
    const changes = {
      slices: [...this.deltas.values()].filter((delta) => delta.sends !== 0 || delta.verified !== 0),
      breakers: [...this.changedBreakers].map((scope): [string, BreakerState] => [scope, this.breakerOf(scope)]),
    };
    this.deltas = new Map();
    this.changedBreakers = new Set();
    return changes;
  }

  /**
   * The breaker's verdict on one more send: refused for `waitMs`, or allowed (a trial when half-open). Moves it on:
   * closed → open on too low conversion, open → half-open after the cool-off, half-open → open on unconverted trials.
   */
  private judge(
    scope: string,
    kind: ScopeKind,
    nowMs: number,
    breaker: BreakerSettings,
    transitions: BreakerTransition[],
  ): { waitMs: number; trial: boolean } {
    let state = this.breakerOf(scope);
    const trip = (sends: number, verified: number, reopen: boolean) => {
      const reopens = reopen ? state.reopens + 1 : 0;
      const coolOffMs = breaker.coolOffMs * 2 ** Math.min(reopens, MAX_COOLOFF_DOUBLINGS);
      this.setBreaker(scope, { ...CLOSED, phase: "open", since: nowMs, until: nowMs + coolOffMs, reopens });
      transitions.push({ scope, kind, to: "open", atMs: nowMs, sends, verified, coolOffMs, reopen });
      return { waitMs: coolOffMs, trial: false };
    };
    if (state.phase === "closed") {
      const width = breakerWidthMs(breaker);
      const judged = nowMs - breaker.graceMs;
      // Slices wholly older than the grace, within the window, and wholly after the breaker last closed.
      const { sends, verified } = this.sum(
        scope,
        width,
        Math.max(nowMs - breaker.windowMs, state.since + width),
        judged - width + 1,
      );
      if (sends >= breaker.minSends && verified < breaker.minConversion * sends) return trip(sends, verified, false);
      return { waitMs: 0, trial: false };
    }
    if (state.phase === "open") {
      if (nowMs < state.until) return { waitMs: state.until - nowMs, trial: false };
      state = { ...CLOSED, phase: "half_open", since: nowMs, reopens: state.reopens };
      this.setBreaker(scope, state);
      transitions.push({ scope, kind, to: "half_open", atMs: nowMs });
    }
    if (state.trialsSent < breaker.trialSends) return { waitMs: 0, trial: true };
    // Every trial is out and too few converted (enough would have closed the breaker): wait out their grace.
    const judgedAt = state.lastTrialAt + breaker.graceMs;
    if (nowMs >= judgedAt) return trip(state.trialsSent, state.trialsVerified, true);
    return { waitMs: judgedAt - nowMs, trial: false };
  }

  /** How long until one more send fits `cap` in `scope`; 0 when it fits now. */
  private budgetWaitMs(scope: string, cap: SendCap, nowMs: number): number {
    const width = budgetWidthMs(cap.windowMs);
    const slices = [...(this.slices.get(scope)?.get(width) ?? [])].filter(
      ([start]) => start + width > nowMs - cap.windowMs,
    );
    let total = slices.reduce((sum, [, slice]) => sum + slice.sends, 0);
    if (total < cap.max) return 0;
    // The oldest slices leave the window first; the send fits once enough sends have left with them.
    slices.sort(([a], [b]) => a - b);
    for (const [start, slice] of slices) {
      total -= slice.sends;
      if (total < cap.max) return Math.max(1, start + width + cap.windowMs - nowMs);
    }
    return cap.windowMs; // not reached: without any slice the total is 0
  }

  /** Adds `sends` to every slice width counted for `scope`. */
  private count(scope: string, atMs: number, sends: number): void {
    const kind = kindOfScope(scope)!;
    for (const width of widthsOf(kind, this.rules)) this.addToSlice(scope, width, atMs, sends, 0);
  }

  private addToSlice(scope: string, width: number, atMs: number, sends: number, verified: number): void {
    const start = atMs - (atMs % width);
    const slice = this.slice(scope, width, start);
    slice.sends += sends;
    slice.verified += verified;
    if (!this.tracksChanges) return;
    const key = `${scope} ${width} ${start}`;
    const delta = this.deltas.get(key);
    if (delta) {
      delta.sends += sends;
      delta.verified += verified;
    } else {
      this.deltas.set(key, { scope, width, start, sends, verified });
    }
  }

  private slice(scope: string, width: number, start: number): Slice {
    let byWidth = this.slices.get(scope);
    if (!byWidth) this.slices.set(scope, (byWidth = new Map()));
    let slices = byWidth.get(width);
    if (!slices) byWidth.set(width, (slices = new Map()));
    let slice = slices.get(start);
    if (!slice) slices.set(start, (slice = { sends: 0, verified: 0 }));
    return slice;
  }

  private setBreaker(scope: string, state: BreakerState): void {
    this.breakers.set(scope, state);
    if (this.tracksChanges) this.changedBreakers.add(scope);
  }
}
