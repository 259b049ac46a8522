import type { ScopeStatusSource } from "./sms-scope-store.js";
import { breakerOfRow, type BreakerRow } from "./sms-scope-store.js";
import type { BreakerState, ScopeAnswer, ScopeKind, ScopeRequest, SliceDelta } from "./sms-scopes.js";

/**
 * What the SQLite and PostgreSQL scope stores share: tables (a row per scope, slice width and start; a row per breaker
 * that tripped), statements, status queries, and the queue turning one event-loop turn's requests into one transaction.
 */

/** Table names: plain in SQLite, in the event store's schema in PostgreSQL. */
export interface ScopeTables {
  readonly slices: string;
  readonly breakers: string;
}

/** The tables, created IF NOT EXISTS at start-up (the same text works in SQLite and PostgreSQL). */
export function scopeSchema(tables: ScopeTables): string {
  const schema = tables.slices.includes(".") ? `CREATE SCHEMA IF NOT EXISTS ${tables.slices.split(".")[0]};` : "";
  return `${schema}
CREATE TABLE IF NOT EXISTS ${tables.slices} (
  scope       text   NOT NULL,
  width       bigint NOT NULL,
  slice_start bigint NOT NULL,
  sends       bigint NOT NULL,
  verified    bigint NOT NULL,
  PRIMARY KEY (scope, width, slice_start)
);
CREATE INDEX IF NOT EXISTS sms_scope_slices_by_start ON ${tables.slices} (slice_start);
CREATE TABLE IF NOT EXISTS ${tables.breakers} (
  scope           text    PRIMARY KEY,
  phase           text    NOT NULL,
  since           bigint  NOT NULL,
  open_until      bigint  NOT NULL,
  trials_sent     integer NOT NULL,
  trials_verified integer NOT NULL,
  last_trial_at   bigint  NOT NULL,
  reopens         integer NOT NULL
);
`;
}

/** Statements with `?` placeholders (PostgreSQL's adapter numbers them). */
export function scopeStatements(tables: ScopeTables) {
  const { slices, breakers } = tables;
  return {
    slicesOf: `SELECT scope, width, slice_start, sends, verified FROM ${slices} WHERE scope = ? AND slice_start > ?`,
    breakerOf: `SELECT * FROM ${breakers} WHERE scope = ?`,
    addToSlice:
      `INSERT INTO ${slices} AS s (scope, width, slice_start, sends, verified) VALUES (?, ?, ?, ?, ?) ` +
      "ON CONFLICT (scope, width, slice_start) DO UPDATE SET sends = s.sends + excluded.sends, verified = s.verified + excluded.verified",
    saveBreaker:
      `INSERT INTO ${breakers} (scope, phase, since, open_until, trials_sent, trials_verified, last_trial_at, ` +
      `reopens) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ` +
      "ON CONFLICT (scope) DO UPDATE SET phase = excluded.phase, since = excluded.since, open_until = excluded.open_until, " +
      "trials_sent = excluded.trials_sent, trials_verified = excluded.trials_verified, last_trial_at = " +
      "excluded.last_trial_at, reopens = excluded.reopens",
    breakersNotClosed: `SELECT * FROM ${breakers} WHERE phase <> 'closed' ORDER BY scope`,
    closeBreaker:
      `UPDATE ${breakers} SET phase = 'closed', since = ?, open_until = 0, trials_sent = 0, trials_verified = 0, ` +
      `last_trial_at = 0, reopens = 0 WHERE scope = ?`,
    forgetSlices: `DELETE FROM ${slices} WHERE slice_start < ?`,
    forgetBreakers: `DELETE FROM ${breakers} WHERE phase = 'closed' AND since <= ?`,
    mostUsed:
      `SELECT scope, SUM(sends) AS used FROM ${slices} WHERE width = ? AND slice_start > ? AND scope LIKE ? ` +
      "GROUP BY scope HAVING SUM(sends) > 0 ORDER BY used DESC, scope LIMIT 1",
    busiestPrefixes:
      "SELECT scope, SUM(sends) AS sends, SUM(CASE WHEN slice_start + width <= ? THEN sends ELSE 0 END) AS judged, " +
      `SUM(CASE WHEN slice_start + width <= ? THEN verified ELSE 0 END) AS verified FROM ${slices} ` +
      "WHERE width = ? AND slice_start > ? AND scope LIKE 'prefix:%' GROUP BY scope HAVING SUM(sends) > 0 " +
      "ORDER BY sends DESC, scope LIMIT ?",
  };
}

/** The values of one slice change, in `addToSlice`'s order. */
export function sliceValues(delta: SliceDelta): [string, number, number, number, number] {
  return [delta.scope, delta.width, delta.start, delta.sends, delta.verified];
}

/** The values of one breaker state, in `saveBreaker`'s order. */
export function breakerValues(
  scope: string,
  state: BreakerState,
): [string, string, number, number, number, number, number, number] {
  return [
    scope,
    state.phase,
    state.since,
    state.until,
    state.trialsSent,
    state.trialsVerified,
    state.lastTrialAt,
    state.reopens,
  ];
}

/** The LIKE pattern matching the scopes of one kind. */
function patternOf(kind: ScopeKind): string {
  return kind === "global" ? "global" : `${kind}:%`;
}

/** The status questions answered with `scopeStatements` through `query` (rows as the driver returns them). */
export function sqlStatusSource(
  tables: ScopeTables,
  query: (sql: string, values: readonly (string | number)[]) => Promise<Record<string, unknown>[]>,
): ScopeStatusSource {
  const sql = scopeStatements(tables);
  return {
    async mostUsed(kind, width, afterMs) {
      const [row] = await query(sql.mostUsed, [width, afterMs, patternOf(kind)]);
      return row && { scope: String(row.scope), used: Number(row.used) };
    },
    async breakersNotClosed() {
      const rows = (await query(sql.breakersNotClosed, [])) as unknown as BreakerRow[];
      return rows.map((row): [string, BreakerState] => [row.scope, breakerOfRow(row)]);
    },
    async busiestPrefixes(width, afterMs, judgedMs, limit) {
      const rows = await query(sql.busiestPrefixes, [judgedMs, judgedMs, width, afterMs, limit]);
      return rows.map((row) => ({
        scope: String(row.scope),
        sends: Number(row.sends),
        judged: Number(row.judged),
        verified: Number(row.verified),
      }));
    },
  };
}

interface PendingRequest {
  readonly request: ScopeRequest;
  readonly resolve: (answer: unknown) => void;
  readonly reject: (error: unknown) => void;
}

/** Runs one event-loop turn's requests as one batch (a transaction) while the next gathers; a failure rejects all. */
export class ScopeRequestBatcher {
  private queue: PendingRequest[] = [];
  private flushing = false;
  private flushed: Promise<void> = Promise.resolve();

  /** `runBatch` answers the requests in order; `maxBatch` bounds one transaction. */
  constructor(
    private readonly runBatch: (requests: readonly ScopeRequest[]) => Promise<readonly unknown[]> | readonly unknown[],
    private readonly maxBatch: number,
  ) {}

  /** Queues `request` for the next batch. */
  submit<R extends ScopeRequest>(request: R): Promise<ScopeAnswer<R>> {
    return new Promise((resolve, reject) => {
      this.queue.push({ request, resolve: resolve as (answer: unknown) => void, reject });
      if (!this.flushing) {
        this.flushing = true;
        // setImmediate: every request made in this turn of the event loop joins the first batch.
        this.flushed = new Promise((done) => setImmediate(() => void this.flush().then(done)));
      }
    });
  }

  /** Resolves once every queued request was answered. */
  drained(): Promise<void> {
    return this.flushed;
  }

  private async flush(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, this.maxBatch);
      try {
        const answers = await this.runBatch(batch.map((pending) => pending.request));
        batch.forEach((pending, index) => pending.resolve(answers[index]));
      } catch (error) {
        for (const pending of batch) pending.reject(error);
      }
    }
    this.flushing = false;
  }
}
