import type { SendCap } from "../domain/code-send-rules.js";
import {
  breakerWidthMs,
  budgetWidthMs,
  CLOSED,
  ScopeLedger,
  type BreakerPhase,
  type BreakerState,
  type BreakerTransition,
  type ScopeHold,
  type ScopeKind,
  type ScopeRequest,
  type ScopeReservation,
  type ScopeRules,
} from "./sms-scopes.js";

/**
 * The SmsScopeStore port: budget counts and breaker states (sms-scopes.ts), shared by every process on one
 * database. Adapters: memory, SQLite (the events' file) and PostgreSQL.
 */
export interface SmsScopeStore {
  /** Atomically, across processes: refuses one more send to `scopes`, or counts it in every one of them. */
  reserve(scopes: readonly string[], now: Date): Promise<ScopeReservation>;
  /** Gives back an allowed send that did not happen. */
  release(hold: ScopeHold): Promise<void>;
  /** Counts a code sent at `codeSentAt` to a number of `scopes` as verified; answers the breakers it closed. */
  recordVerified(scopes: readonly string[], codeSentAt: Date, now: Date): Promise<BreakerTransition[]>;
  /** Closes the breakers of `scopes` (every breaker when omitted); answers the scopes it closed. */
  resetBreakers(now: Date, scopes?: readonly string[]): Promise<string[]>;
  /** Budget use, breakers not closed, and the busiest number ranges, for operators. */
  status(now: Date, options?: { topPrefixes?: number }): Promise<SmsScopeStatus>;
  close(): Promise<void>;
}

/** How much of one budget the most used scope of its kind has used. */
export interface BudgetUse {
  readonly kind: ScopeKind;
  readonly max: number;
  readonly windowMs: number;
  readonly used: number;
  /** The scope that used the most (undefined when none sent anything). */
  readonly scope?: string;
}

/** A breaker not closed; `half_open` includes an open one whose cool-off is over (it moves at the next send). */
export interface BreakerStatus {
  readonly scope: string;
  readonly phase: Exclude<BreakerPhase, "closed">;
  readonly since: Date;
  /** Open: when the cool-off ends. */
  readonly until?: Date;
  readonly trialsSent: number;
  readonly trialsVerified: number;
  readonly reopens: number;
}

/** A number range's sends within the breaker's window, and how many of the judged ones were verified. */
export interface ScopeTraffic {
  readonly scope: string;
  readonly sends: number;
  /** Sends older than the breaker's grace: the ones conversion is judged on. */
  readonly judgedSends: number;
  readonly verified: number;
  /** verified / judgedSends, or null with no judged send. */
  readonly conversion: number | null;
}

export interface SmsScopeStatus {
  readonly budgets: readonly BudgetUse[];
  readonly breakers: readonly BreakerStatus[];
  readonly topPrefixes: readonly ScopeTraffic[];
}

/** What a store answers for `status`; `buildStatus` turns it into the same status for every adapter. */
export interface ScopeStatusSource {
  /** The scope of `kind` with the most sends in slices of `width` starting after `afterMs`. */
  mostUsed(kind: ScopeKind, width: number, afterMs: number): Promise<{ scope: string; used: number } | undefined>;
  /** Every stored breaker state that is not closed. */
  breakersNotClosed(): Promise<[string, BreakerState][]>;
  /** The `limit` busiest prefixes in slices of `width` after `afterMs`, with judged sends (ending by `judgedMs`). */
  busiestPrefixes(
    width: number,
    afterMs: number,
    judgedMs: number,
    limit: number,
  ): Promise<{ scope: string; sends: number; judged: number; verified: number }[]>;
}

/** The status every adapter reports, from its answers to the primitive questions of `ScopeStatusSource`. */
export async function buildStatus(
  rules: ScopeRules,
  nowMs: number,
  source: ScopeStatusSource,
  topPrefixes: number,
): Promise<SmsScopeStatus> {
  const budgets: BudgetUse[] = [];
  for (const kind of ["global", "country", "prefix"] as const) {
    for (const cap of rules.budgets[kind]) {
      const width = budgetWidthMs(cap.windowMs);
      const top = await source.mostUsed(kind, width, nowMs - cap.windowMs - width);
      budgets.push({
        kind,
        max: cap.max,
        windowMs: cap.windowMs,
        used: top?.used ?? 0,
        ...(top ? { scope: top.scope } : {}),
      });
    }
  }
  const breakers = (await source.breakersNotClosed()).map(([scope, state]): BreakerStatus => {
    const coolingOff = state.phase === "open" && state.until > nowMs;
    return {
      scope,
      phase: coolingOff ? "open" : "half_open",
      since: new Date(state.since),
      ...(coolingOff ? { until: new Date(state.until) } : {}),
      trialsSent: state.trialsSent,
      trialsVerified: state.trialsVerified,
      reopens: state.reopens,
    };
  });
  breakers.sort((a, b) => a.scope.localeCompare(b.scope));
  const traffic = trafficSlices(rules);
  const busiest =
    traffic && topPrefixes > 0
      ? await source.busiestPrefixes(
          traffic.width,
          nowMs - traffic.windowMs - traffic.width,
          nowMs - traffic.graceMs,
          topPrefixes,
        )
      : [];
  return {
    budgets,
    breakers,
    topPrefixes: busiest.map(({ scope, sends, judged, verified }) => ({
      scope,
      sends,
      judgedSends: judged,
      verified,
      conversion: judged > 0 ? verified / judged : null,
    })),
  };
}

/** The slices the busiest ranges are read from: the breaker's, else the shortest prefix budget's. */
function trafficSlices(rules: ScopeRules): { width: number; windowMs: number; graceMs: number } | undefined {
  if (rules.breaker)
    return { width: breakerWidthMs(rules.breaker), windowMs: rules.breaker.windowMs, graceMs: rules.breaker.graceMs };
  const shortest = [...rules.budgets.prefix].sort((a: SendCap, b: SendCap) => a.windowMs - b.windowMs)[0];
  return shortest && { width: budgetWidthMs(shortest.windowMs), windowMs: shortest.windowMs, graceMs: 0 };
}

/** Forgetting old slices is housekeeping (every read filters by time): stores do it at most once per this. */
export const FORGET_INTERVAL_MS = 60_000;

/** Counts in this process only: for MYPHONE_STORE=memory, tests and the pumping benchmark's unshared rows. */
export class MemorySmsScopeStore implements SmsScopeStore {
  private readonly ledger: ScopeLedger;
  private lastForgotMs = -Infinity;

  constructor(private readonly rules: ScopeRules) {
    this.ledger = new ScopeLedger(rules);
  }

  async reserve(scopes: readonly string[], now: Date): Promise<ScopeReservation> {
    return this.run({ type: "reserve", scopes, nowMs: now.getTime() });
  }

  async release(hold: ScopeHold): Promise<void> {
    this.ledger.release(hold);
  }

  async recordVerified(scopes: readonly string[], codeSentAt: Date, now: Date): Promise<BreakerTransition[]> {
    return this.run({ type: "verified", scopes, sentAtMs: codeSentAt.getTime(), nowMs: now.getTime() });
  }

  async resetBreakers(now: Date, scopes?: readonly string[]): Promise<string[]> {
    return this.ledger.reset(now.getTime(), scopes);
  }

  async status(now: Date, options: { topPrefixes?: number } = {}): Promise<SmsScopeStatus> {
    const ledger = this.ledger;
    return buildStatus(
      this.rules,
      now.getTime(),
      {
        async mostUsed(kind, width, afterMs) {
          let top: { scope: string; used: number } | undefined;
          for (const scope of ledger.scopesOfKind(kind, width)) {
            const used = ledger.sum(scope, width, afterMs + width, Infinity).sends;
            if (used > 0 && (!top || used > top.used)) top = { scope, used };
          }
          return top;
        },
        async breakersNotClosed() {
          return ledger.breakerStates().filter(([, state]) => state.phase !== "closed");
        },
        async busiestPrefixes(width, afterMs, judgedMs, limit) {
          return ledger
            .scopesOfKind("prefix", width)
            .map((scope) => {
              const { sends } = ledger.sum(scope, width, afterMs + width, Infinity);
              const judged = ledger.sum(scope, width, afterMs + width, judgedMs - width + 1);
              return { scope, sends, judged: judged.sends, verified: judged.verified };
            })
            .filter((traffic) => traffic.sends > 0)
            .sort((a, b) => b.sends - a.sends)
            .slice(0, limit);
        },
      },
      options.topPrefixes ?? 10,
    );
  }

  async close(): Promise<void> {
    this.ledger.forget(Infinity);
  }

  private run<R extends ScopeRequest>(request: R) {
    const nowMs = request.type === "release" ? request.hold.nowMs : request.nowMs;
    if (nowMs - this.lastForgotMs >= FORGET_INTERVAL_MS) {
      this.ledger.forget(nowMs);
      this.lastForgotMs = nowMs;
    }
    return this.ledger.apply(request);
  }
}

/** A stored breaker row as both SQL stores keep it. */
export interface BreakerRow {
  readonly scope: string;
  readonly phase: string;
  readonly since: number | string;
  readonly open_until: number | string;
  readonly trials_sent: number | string;
  readonly trials_verified: number | string;
  readonly last_trial_at: number | string;
  readonly reopens: number | string;
}

/** A breaker row read back (PostgreSQL answers bigint as text). */
export function breakerOfRow(row: BreakerRow): BreakerState {
  const phase = row.phase === "open" || row.phase === "half_open" ? row.phase : "closed";
  return {
    ...CLOSED,
    phase,
    since: Number(row.since),
    until: Number(row.open_until),
    trialsSent: Number(row.trials_sent),
    trialsVerified: Number(row.trials_verified),
    lastTrialAt: Number(row.last_trial_at),
    reopens: Number(row.reopens),
  };
}
