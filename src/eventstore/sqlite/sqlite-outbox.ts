import type Database from "better-sqlite3";
import type { SqliteWriteBatcher } from "../../storage/sqlite-write-batcher.js";
import type { OutboxClaim, OutboxJob, OutboxOutcome, OutboxPurge, OutboxState, OutboxStore } from "../event-store.js";
import { assertCount } from "../adapter-rules.js";
import { outboxJobOf, type JsonTextJobRow as JobRow } from "../json-text-rows.js";

const JOB_COLUMNS =
  "id, kind, idempotency_key AS idempotencyKey, aggregate_id AS aggregateId, payload, attempts, created_at AS createdAt, " +
  "lease_until AS leaseUntil, last_error AS lastError, settled_at AS settledAt";

interface ClaimParams {
  workerId: string;
  now: number;
  leaseUntil: number;
  /** JSON array of the worker's code keys, or null for any job. */
  keyIds: string | null;
  /** Jobs needing another key created before this are claimed anyway (their codes have expired). */
  otherKeysBefore: number;
}

/**
 * The outbox on the `outbox` table (jobs are inserted by the event log's append), on the store's connection:
 * every write goes through the store's group commit and takes the write lock up front (BEGIN IMMEDIATE).
 */
export class SqliteOutbox implements OutboxStore {
  private readonly claims = new Map<number, Database.Statement<[ClaimParams], JobRow>>();
  private readonly settleDone;
  private readonly settleRetry;
  private readonly settleDead;
  private readonly listJobs;
  private readonly countJobs;
  private readonly countJobsOfKind;
  private readonly purgeDoneJobs;

  constructor(
    private readonly db: Database.Database,
    private readonly writes: SqliteWriteBatcher,
  ) {
    const held = "WHERE id = @id AND state = 'pending' AND lease_owner = @workerId";
    this.settleDone = db.prepare<[{ id: number; workerId: string; now: number }]>(
      `UPDATE outbox SET state = 'done', settled_at = @now ${held}`,
    );
    this.settleRetry = db.prepare<[{ id: number; workerId: string; retryAt: number; error: string }]>(
      `UPDATE outbox SET attempts = attempts + 1, due_at = @retryAt, lease_owner = NULL, lease_until = NULL,
         last_error = @error ${held}`,
    );
    this.settleDead = db.prepare<[{ id: number; workerId: string; now: number; error: string }]>(
      `UPDATE outbox SET state = 'dead', last_error = @error, settled_at = @now ${held}`,
    );
    this.listJobs = db.prepare<[string], JobRow>(`SELECT ${JOB_COLUMNS} FROM outbox WHERE state = ? ORDER BY id`);
    this.countJobs = db.prepare<[string], number>("SELECT count(*) FROM outbox WHERE state = ?").pluck();
    this.countJobsOfKind = db
      .prepare<[string, string], number>("SELECT count(*) FROM outbox WHERE state = ? AND kind = ?")
      .pluck();
    // DELETE ... LIMIT needs a compile-time option too; (state, settled_at) finds the oldest done jobs without a scan.
    this.purgeDoneJobs = db.prepare<[{ cutoff: number; limit: number }]>(
      `DELETE FROM outbox WHERE id IN (
         SELECT id FROM outbox WHERE state = 'done' AND settled_at < @cutoff ORDER BY settled_at LIMIT @limit)`,
    );
  }

  /** Leases the earliest due, unleased pending jobs in one UPDATE ... RETURNING. */
  async claim(request: OutboxClaim): Promise<OutboxJob[]> {
    assertCount("limit", request.limit);
    assertCount("leaseMs", request.leaseMs);
    const now = (request.now ?? new Date()).getTime();
    const statement = this.claimStatement(request.limit);
    const params = {
      workerId: request.workerId,
      now,
      leaseUntil: now + request.leaseMs,
      keyIds: request.keyIds === undefined ? null : JSON.stringify(request.keyIds),
      otherKeysBefore:
        request.otherKeysAfterMs === undefined ? Number.MIN_SAFE_INTEGER : now - request.otherKeysAfterMs,
    };
    // One statement: it writes all or nothing, as the batcher requires (see SqliteWriteBatcher).
    const rows = await this.writes.run(() => statement.all(params));
    // RETURNING yields rows in no guaranteed order.
    return rows.sort((a, b) => a.id - b.id).map(outboxJobOf);
  }

  /** Applies the outcome only while `workerId` still holds the pending job. */
  async settle(jobId: string, workerId: string, outcome: OutboxOutcome): Promise<boolean> {
    const id = parseJobId(jobId);
    if (id === undefined) return false;
    const changes = await this.writes.run(() => this.runSettle(id, workerId, outcome));
    return changes === 1;
  }

  /** Lists jobs in one state, oldest first. */
  async list(state: OutboxState): Promise<OutboxJob[]> {
    return this.listJobs.all(state).map(outboxJobOf);
  }

  /** Counts jobs per asked state (of one kind when given) on the state index; reads run outside the write lock. */
  async countByState<S extends OutboxState>(states: readonly S[], kind?: string): Promise<Record<S, number>> {
    const counts = {} as Record<S, number>;
    for (const state of states) {
      counts[state] = kind === undefined ? this.countJobs.get(state)! : this.countJobsOfKind.get(state, kind)!;
    }
    return counts;
  }

  /** Deletes up to `limit` expired done jobs in one short write transaction (shared with the next group commit). */
  async purgeDone(request: OutboxPurge): Promise<number> {
    assertCount("limit", request.limit);
    assertCount("retentionMs", request.retentionMs);
    const params = { cutoff: (request.now ?? new Date()).getTime() - request.retentionMs, limit: request.limit };
    return this.writes.run(() => this.purgeDoneJobs.run(params).changes);
  }

  /**
   * UPDATE ... LIMIT needs a compile-time option, hence the subquery. The limit is written into the SQL, one statement
   * per limit: SQLite recompiles a statement on every run when a bound parameter sits in its LIMIT.
   */
  private claimStatement(limit: number): Database.Statement<[ClaimParams], JobRow> {
    let statement = this.claims.get(limit);
    if (!statement) {
      statement = this.db.prepare<[ClaimParams], JobRow>(
        `UPDATE outbox SET lease_owner = @workerId, lease_until = @leaseUntil
         WHERE id IN (
           SELECT id FROM outbox
           WHERE state = 'pending' AND due_at <= @now AND (lease_until IS NULL OR lease_until < @now)
             AND (key_id IS NULL OR @keyIds IS NULL OR key_id IN (SELECT value FROM json_each(@keyIds)) OR created_at < @otherKeysBefore)
           ORDER BY due_at, id LIMIT ${limit})
         RETURNING ${JOB_COLUMNS}`,
      );
      this.claims.set(limit, statement);
    }
    return statement;
  }

  private runSettle(id: number, workerId: string, outcome: OutboxOutcome): number {
    const now = Date.now();
    switch (outcome.state) {
      case "done":
        return this.settleDone.run({ id, workerId, now }).changes;
      case "retry":
        return this.settleRetry.run({
          id,
          workerId,
          retryAt: outcome.retryAt.getTime(),
          error: outcome.error,
        }).changes;
      case "dead":
        return this.settleDead.run({ id, workerId, now, error: outcome.error }).changes;
    }
  }
}

/** Job ids are decimal rowids; anything else cannot name a job. */
function parseJobId(jobId: string): number | undefined {
  if (!/^[1-9][0-9]*$/.test(jobId)) return undefined;
  const id = Number(jobId);
  return Number.isSafeInteger(id) ? id : undefined;
}
