import type Database from "better-sqlite3";
import { openSqliteConnection } from "../storage/sqlite-connection.js";
import {
  breakerOfRow,
  buildStatus,
  FORGET_INTERVAL_MS,
  type BreakerRow,
  type SmsScopeStatus,
  type SmsScopeStore,
} from "./sms-scope-store.js";
import {
  breakerValues,
  scopeSchema,
  scopeStatements,
  sliceValues,
  sqlStatusSource,
  ScopeRequestBatcher,
  type ScopeTables,
} from "./sms-scope-sql.js";
import {
  horizonOf,
  kindOfScope,
  ScopeLedger,
  scopesOfRequest,
  type BreakerTransition,
  type ScopeHold,
  type ScopeRequest,
  type ScopeReservation,
  type ScopeRules,
} from "./sms-scopes.js";

const TABLES: ScopeTables = { slices: "sms_scope_slices", breakers: "sms_breakers" };

/**
 * SMS budgets and breakers in the events' SQLite file. One turn's requests run in one BEGIN IMMEDIATE transaction
 * (atomic across processes): their scopes' rows load into a ScopeLedger, which decides in order, and its changes are
 * written back. synchronous=NORMAL suffices for the same reason as in SqliteSendLimiter.
 */
export class SqliteSmsScopeStore implements SmsScopeStore {
  private readonly batcher: ScopeRequestBatcher;
  private readonly sql = scopeStatements(TABLES);
  private readonly slicesOf: Database.Statement<
    [string, number],
    { scope: string; width: number; slice_start: number; sends: number; verified: number }
  >;
  private readonly breakerOf: Database.Statement<[string], BreakerRow>;
  private readonly addToSlice: Database.Statement<[string, number, number, number, number]>;
  private readonly saveBreaker: Database.Statement<[string, string, number, number, number, number, number, number]>;
  private readonly runBatch: Database.Transaction<(requests: readonly ScopeRequest[]) => unknown[]>;
  private lastForgotMs = -Infinity;

  private constructor(
    private readonly db: Database.Database,
    private readonly rules: ScopeRules,
  ) {
    this.slicesOf = db.prepare(this.sql.slicesOf);
    this.breakerOf = db.prepare(this.sql.breakerOf);
    this.addToSlice = db.prepare(this.sql.addToSlice);
    this.saveBreaker = db.prepare(this.sql.saveBreaker);
    const forgetSlices = db.prepare<[number]>(this.sql.forgetSlices);
    const forgetBreakers = db.prepare<[number]>(this.sql.forgetBreakers);
    this.runBatch = db.transaction((requests: readonly ScopeRequest[]) => {
      const ledger = new ScopeLedger(rules, true);
      const horizon = horizonOf(requests, rules);
      for (const scope of new Set(requests.flatMap(scopesOfRequest))) {
        for (const row of this.slicesOf.all(scope, horizon))
          ledger.load(row.scope, row.width, row.slice_start, row.sends, row.verified);
        const breaker = this.breakerOf.get(scope);
        if (breaker) ledger.loadBreaker(scope, breakerOfRow(breaker));
      }
      const answers = requests.map((request) => ledger.apply(request));
      const changes = ledger.takeChanges();
      for (const delta of changes.slices) this.addToSlice.run(...sliceValues(delta));
      for (const [scope, state] of changes.breakers) this.saveBreaker.run(...breakerValues(scope, state));
      // Housekeeping inside the write transaction already held: old slices and long-closed breakers go.
      if (horizon - this.lastForgotMs >= FORGET_INTERVAL_MS) {
        forgetSlices.run(horizon);
        forgetBreakers.run(horizon);
        this.lastForgotMs = horizon;
      }
      return answers;
    });
    this.batcher = new ScopeRequestBatcher((requests) => this.runBatch.immediate(requests), 256);
  }

  /** Opens (and creates, if needed) the tables in the SQLite file at `file`. */
  static open(file: string, rules: ScopeRules): SqliteSmsScopeStore {
    // NORMAL, not FULL: see the class comment.
    const db = openSqliteConnection(file, {
      synchronous: "NORMAL",
      setUp: (connection) => connection.exec(scopeSchema(TABLES)),
    });
    try {
      return new SqliteSmsScopeStore(db, rules);
    } catch (error) {
      db.close();
      throw error;
    }
  }

  reserve(scopes: readonly string[], now: Date): Promise<ScopeReservation> {
    const unknown = scopes.find((scope) => kindOfScope(scope) === undefined);
    if (unknown !== undefined) return Promise.reject(new Error(`not a scope: ${unknown}`));
    return this.batcher.submit({ type: "reserve", scopes, nowMs: now.getTime() });
  }

  async release(hold: ScopeHold): Promise<void> {
    await this.batcher.submit({ type: "release", hold });
  }

  recordVerified(scopes: readonly string[], codeSentAt: Date, now: Date): Promise<BreakerTransition[]> {
    return this.batcher.submit({ type: "verified", scopes, sentAtMs: codeSentAt.getTime(), nowMs: now.getTime() });
  }

  async resetBreakers(now: Date, scopes?: readonly string[]): Promise<string[]> {
    const close = this.db.prepare<[number, string]>(this.sql.closeBreaker);
    const open = this.db.prepare<[], BreakerRow>(this.sql.breakersNotClosed);
    return this.db
      .transaction(() => {
        const closing = open
          .all()
          .map((row) => row.scope)
          .filter((scope) => !scopes || scopes.includes(scope));
        for (const scope of closing) close.run(now.getTime(), scope);
        return closing;
      })
      .immediate();
  }

  status(now: Date, options: { topPrefixes?: number } = {}): Promise<SmsScopeStatus> {
    const source = sqlStatusSource(
      TABLES,
      async (sql, values) => this.db.prepare(sql).all(...values) as Record<string, unknown>[],
    );
    return buildStatus(this.rules, now.getTime(), source, options.topPrefixes ?? 10);
  }

  async close(): Promise<void> {
    await this.batcher.drained();
    this.db.close();
  }
}
