import pg, { type Pool, escapeLiteral } from "pg";
import { createPostgresPool } from "../storage/postgres-connection.js";
import {
  advisoryLockOf,
  inTransaction,
  migrateUnderLock,
  onPooledConnection,
} from "../storage/postgres-transactions.js";
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

/** In the event store's schema, like the send limiter's table. */
const TABLES: ScopeTables = { slices: "myphone.sms_scope_slices", breakers: "myphone.sms_breakers" };

/** First half of every scope's advisory lock ("myPs"), apart from the send limiter's ("myPh"). */
const LOCK_NAMESPACE = 0x6d795073;

/** The advisory locks of `scopes`, distinct and ascending (a global order rules out deadlocks). */
function locksOf(scopes: readonly string[]): number[] {
  return [...new Set(scopes.map(advisoryLockOf))].sort((a, b) => a - b);
}

/** The most requests one transaction takes (its scopes' advisory locks stay within max_locks_per_transaction). */
const MAX_BATCH = 64;

/**
 * SMS budgets and breakers in PostgreSQL, batched in two round trips like PostgresSendLimiter: `BEGIN`, an advisory
 * lock per scope (ascending: no deadlock) and the scopes' rows as separate statements (READ COMMITTED: the reads see
 * what the locks' previous holders committed); then a ScopeLedger decides in arrival order, and its changes are
 * written and committed. The simple protocol has no parameters: integers are checked, text is escapeLiteral'd.
 */
export class PostgresSmsScopeStore implements SmsScopeStore {
  private readonly batcher = new ScopeRequestBatcher((requests) => this.runBatch(requests), MAX_BATCH);
  private readonly sql = scopeStatements(TABLES);
  private lastForgotMs = -Infinity;

  private constructor(
    private readonly pool: Pool,
    private readonly ownsPool: boolean,
    private readonly rules: ScopeRules,
  ) {}

  /** Connects and creates the tables if needed (under the migration lock, like every schema change). */
  static async open(options: {
    rules: ScopeRules;
    pool?: Pool;
    connectionString?: string;
    onBackgroundError?: (error: unknown) => void;
  }): Promise<PostgresSmsScopeStore> {
    const pool =
      options.pool ??
      createPostgresPool({ connectionString: options.connectionString, max: 4 }, (error) =>
        options.onBackgroundError?.(error),
      );
    const store = new PostgresSmsScopeStore(pool, options.pool === undefined, options.rules);
    try {
      await migrateUnderLock(pool, async (client) => {
        await client.query(scopeSchema(TABLES));
      });
    } catch (error) {
      if (store.ownsPool) await pool.end();
      throw error;
    }
    return store;
  }

  reserve(scopes: readonly string[], now: Date): Promise<ScopeReservation> {
    const unknown = scopes.find((scope) => kindOfScope(scope) === undefined);
    if (unknown !== undefined) return Promise.reject(new Error(`not a scope: ${unknown}`));
    if (!Number.isSafeInteger(now.getTime()))
      return Promise.reject(new Error(`sms scope store: not a time: ${String(now)}`));
    return this.batcher.submit({ type: "reserve", scopes, nowMs: now.getTime() });
  }

  async release(hold: ScopeHold): Promise<void> {
    await this.batcher.submit({ type: "release", hold });
  }

  recordVerified(scopes: readonly string[], codeSentAt: Date, now: Date): Promise<BreakerTransition[]> {
    if (
      scopes.some((scope) => kindOfScope(scope) === undefined) ||
      !Number.isSafeInteger(codeSentAt.getTime()) ||
      !Number.isSafeInteger(now.getTime())
    ) {
      return Promise.reject(new Error("sms scope store: not a scope or not a time"));
    }
    return this.batcher.submit({ type: "verified", scopes, sentAtMs: codeSentAt.getTime(), nowMs: now.getTime() });
  }

  async resetBreakers(now: Date, scopes?: readonly string[]): Promise<string[]> {
    return inTransaction(this.pool, async (client) => {
      const { rows } = await client.query<BreakerRow>(this.sql.breakersNotClosed);
      const closing = rows.map((row) => row.scope).filter((scope) => !scopes || scopes.includes(scope));
      // The same locks as a batch, so a reset never interleaves with a batch deciding on the same scope.
      for (const lock of locksOf(closing))
        await client.query("SELECT pg_advisory_xact_lock($1, $2)", [LOCK_NAMESPACE, lock]);
      for (const scope of closing) await client.query(numbered(this.sql.closeBreaker), [now.getTime(), scope]);
      return closing;
    });
  }

  status(now: Date, options: { topPrefixes?: number } = {}): Promise<SmsScopeStatus> {
    const source = sqlStatusSource(
      TABLES,
      async (sql, values) => (await this.pool.query(numbered(sql), [...values])).rows as Record<string, unknown>[],
    );
    return buildStatus(this.rules, now.getTime(), source, options.topPrefixes ?? 10);
  }

  async close(): Promise<void> {
    await this.batcher.drained();
    if (this.ownsPool) await this.pool.end();
  }

  /** One transaction for `requests`, in two round trips (see the class comment); answers in their order. */
  private async runBatch(requests: readonly ScopeRequest[]): Promise<unknown[]> {
    const scopes = [...new Set(requests.flatMap(scopesOfRequest))];
    const horizon = horizonOf(requests, this.rules);
    const scopeList = scopes.map((scope) => escapeLiteral(scope)).join(", ");
    return onPooledConnection(this.pool, async (client) => {
      const results = (await client.query(
        `BEGIN; DO $$DECLARE lock integer; BEGIN FOREACH lock IN ARRAY ARRAY[${locksOf(scopes).join(", ")}]::integer[] LOOP ` +
          `PERFORM pg_advisory_xact_lock(${LOCK_NAMESPACE}, lock); END LOOP; END$$; ` +
          `SELECT scope, width, slice_start, sends, verified FROM ${TABLES.slices} WHERE scope = ` +
          `ANY(ARRAY[${scopeList}]::text[]) AND slice_start > ${horizon}; ` +
          `SELECT * FROM ${TABLES.breakers} WHERE scope = ANY(ARRAY[${scopeList}]::text[])`,
      )) as unknown as pg.QueryResult[];
      const ledger = new ScopeLedger(this.rules, true);
      for (const row of results[results.length - 2]!.rows as {
        scope: string;
        width: string;
        slice_start: string;
        sends: string;
        verified: string;
      }[]) {
        ledger.load(row.scope, Number(row.width), Number(row.slice_start), Number(row.sends), Number(row.verified));
      }
      for (const row of results[results.length - 1]!.rows as BreakerRow[])
        ledger.loadBreaker(row.scope, breakerOfRow(row));
      const answers = requests.map((request) => ledger.apply(request));
      const changes = ledger.takeChanges();
      const writes: string[] = [];
      if (changes.slices.length > 0) {
        const values = changes.slices.map((delta) => `(${literals(sliceValues(delta))})`).join(", ");
        writes.push(this.sql.addToSlice.replace("VALUES (?, ?, ?, ?, ?)", `VALUES ${values}`));
      }
      if (changes.breakers.length > 0) {
        const values = changes.breakers
          .map(([scope, state]) => `(${literals(breakerValues(scope, state))})`)
          .join(", ");
        writes.push(this.sql.saveBreaker.replace("VALUES (?, ?, ?, ?, ?, ?, ?, ?)", `VALUES ${values}`));
      }
      // A failed write skips the COMMIT after it (the rest of a simple-protocol message is not run).
      await client.query([...writes, "COMMIT"].join("; "));
      // Not awaited: a large DELETE once a minute should not hold up the next batch (it catches its own errors).
      void this.forgetOldSlices(horizon);
      return answers;
    });
  }

  /** Deletes slices and closed breakers no window reaches any more, now and then, outside the batches. */
  private async forgetOldSlices(horizon: number): Promise<void> {
    if (horizon - this.lastForgotMs < FORGET_INTERVAL_MS) return;
    this.lastForgotMs = horizon;
    try {
      await this.pool.query(numbered(this.sql.forgetSlices), [horizon]);
      await this.pool.query(numbered(this.sql.forgetBreakers), [horizon]);
    } catch {
      // Two processes forgetting the same rows may deadlock; PostgreSQL aborts one, and a later round retries.
    }
  }
}

/** `?` placeholders numbered for PostgreSQL (`$1`, `$2`, ...); the statements have no `?` elsewhere. */
function numbered(sql: string): string {
  let index = 0;
  return sql.replace(/\?/g, () => `$${++index}`);
}

/** Values as SQL literals: integers checked, text escaped. */
function literals(values: readonly (string | number)[]): string {
  return values
    .map((value) => {
      if (typeof value === "string") return escapeLiteral(value);
      if (!Number.isSafeInteger(value)) throw new Error(`sms scope store: not an integer: ${value}`);
      return String(value);
    })
    .join(", ");
}
