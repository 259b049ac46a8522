import type pg from "pg";
import type { OutboxClaim, OutboxJob, OutboxOutcome, OutboxPurge, OutboxState, OutboxStore } from "../event-store.js";
import { assertCount, outboxJob } from "../adapter-rules.js";
import { SCHEMA } from "./postgres-schema.js";

/** Columns of `outbox AS o`, named like OutboxJob's fields; ORDER BY names `o.id`, since `id` here is text. */
const JOB_COLUMNS =
  `o.id::text AS id, o.kind, o.idempotency_key AS "idempotencyKey", o.aggregate_id AS "aggregateId", o.payload, o.attempts, ` +
  `o.created_at AS "createdAt", o.lease_until AS "leaseUntil", o.last_error AS "lastError", o.settled_at AS "settledAt"`;

/**
 * FOR UPDATE SKIP LOCKED: concurrent claimers skip rows another claim is leasing; a row leased by a claim that
 * committed meanwhile is re-checked (READ COMMITTED) and dropped. Without an explicit `now` the database clock
 * decides, so nodes with skewed clocks agree on lease ends. `now` comes from scalar subqueries so it bounds the scan
 * of outbox_by_state_due_at (a joined CTE only filters, reading the whole retry backlog).
 * $5 the worker's code keys (NULL: any job), $6 age in ms after which other keys' jobs are claimed too (NULL: never).
 */
const CLAIM_SQL = `
WITH clock AS (SELECT COALESCE($3::timestamptz, date_trunc('milliseconds', statement_timestamp())) AS now),
due AS (
  SELECT id FROM ${SCHEMA}.outbox
  WHERE state = 'pending' AND due_at <= (SELECT now FROM clock) AND (lease_until IS NULL OR lease_until < (SELECT now FROM clock))
    AND (key_id IS NULL OR $5::text[] IS NULL OR key_id = ANY($5::text[])
         OR created_at < (SELECT now FROM clock) - make_interval(secs => $6::double precision / 1000))
  ORDER BY due_at, id
  LIMIT $4
  FOR UPDATE OF outbox SKIP LOCKED
)
UPDATE ${SCHEMA}.outbox AS o
SET lease_owner = $1, lease_until = clock.now + make_interval(secs => $2::double precision / 1000)
FROM due, clock
WHERE o.id = due.id
RETURNING ${JOB_COLUMNS}`;

const HELD = "WHERE id = $1 AND state = 'pending' AND lease_owner = $2";

/** Settlement time at the millisecond precision of the other timestamps, so it round-trips through a JS Date. */
const SETTLED_NOW = "date_trunc('milliseconds', statement_timestamp())";

/**
 * Deletes a bounded batch of expired done jobs; SKIP LOCKED lets nodes sweeping at once take disjoint batches (only
 * sweeps lock done rows). $1 now (NULL: the database clock), $2 retention in ms, $3 limit.
 */
const PURGE_DONE_SQL = `
WITH clock AS (SELECT COALESCE($1::timestamptz, statement_timestamp()) AS now),
expired AS (
  SELECT id FROM ${SCHEMA}.outbox, clock
  WHERE state = 'done' AND settled_at < clock.now - make_interval(secs => $2::double precision / 1000)
  ORDER BY settled_at
  LIMIT $3
  FOR UPDATE OF outbox SKIP LOCKED
)
DELETE FROM ${SCHEMA}.outbox AS o USING expired WHERE o.id = expired.id`;

/** A job row as node-postgres returns it (the bigint id cast to text in SQL): an OutboxJob, but maybe unleased. */
type JobRow = Omit<OutboxJob, "leaseUntil"> & { readonly leaseUntil: Date | null };

/**
 * The outbox on the `outbox` table, shared by every node (jobs are inserted by the event log's append). Each
 * operation is one autocommitted statement, so no transaction is ever held across an SMS send.
 */
export class PostgresOutbox implements OutboxStore {
  constructor(private readonly pool: pg.Pool) {}

  /** Leases up to `limit` due jobs nobody else holds, earliest due first. */
  async claim(request: OutboxClaim): Promise<OutboxJob[]> {
    assertCount("limit", request.limit);
    assertCount("leaseMs", request.leaseMs);
    const result = await this.pool.query<JobRow>({
      name: "myphone_claim",
      text: CLAIM_SQL,
      values: [
        request.workerId,
        request.leaseMs,
        request.now ?? null,
        request.limit,
        request.keyIds ?? null,
        request.otherKeysAfterMs ?? null,
      ],
    });
    // RETURNING yields rows in no guaranteed order.
    return result.rows.map(fromJobRow).sort((a, b) => compareIds(a.id, b.id));
  }

  /** Applies the outcome only while `workerId` still holds the pending job. */
  async settle(jobId: string, workerId: string, outcome: OutboxOutcome): Promise<boolean> {
    if (!/^[1-9][0-9]{0,17}$/.test(jobId)) return false;
    const update = (() => {
      switch (outcome.state) {
        case "done":
          return { sql: `UPDATE ${SCHEMA}.outbox SET state = 'done', settled_at = ${SETTLED_NOW} ${HELD}`, extra: [] };
        case "retry":
          return {
            sql: `UPDATE ${SCHEMA}.outbox SET attempts = attempts + 1, due_at = $3, lease_owner = NULL, lease_until = NULL,
                    last_error = $4 ${HELD}`,
            extra: [outcome.retryAt, outcome.error],
          };
        case "dead":
          return {
            sql: `UPDATE ${SCHEMA}.outbox SET state = 'dead', last_error = $3, settled_at = ${SETTLED_NOW} ${HELD}`,
            extra: [outcome.error],
          };
      }
    })();
    const result = await this.pool.query({
      name: `myphone_settle_${outcome.state}`,
      text: update.sql,
      values: [jobId, workerId, ...update.extra],
    });
    return result.rowCount === 1;
  }

  /** Lists jobs in one state, oldest first. */
  async list(state: OutboxState): Promise<OutboxJob[]> {
    const result = await this.pool.query<JobRow>(
      `SELECT ${JOB_COLUMNS} FROM ${SCHEMA}.outbox AS o WHERE o.state = $1 ORDER BY o.id`,
      [state],
    );
    return result.rows.map(fromJobRow);
  }

  /** Counts jobs per asked state (of one kind when given) in one GROUP BY on the state index. */
  async countByState<S extends OutboxState>(states: readonly S[], kind?: string): Promise<Record<S, number>> {
    const result = await this.pool.query<{ state: S; jobs: number }>({
      name: "myphone_count_jobs",
      text: `SELECT state, count(*)::int AS jobs FROM ${SCHEMA}.outbox
             WHERE state = ANY($1::text[]) AND ($2::text IS NULL OR kind = $2::text) GROUP BY state`,
      values: [states, kind ?? null],
    });
    const counts = Object.fromEntries(states.map((state) => [state, 0])) as Record<S, number>;
    for (const row of result.rows) counts[row.state] = row.jobs;
    return counts;
  }

  /** Deletes up to `limit` expired done jobs in one autocommitted statement. */
  async purgeDone(request: OutboxPurge): Promise<number> {
    assertCount("limit", request.limit);
    assertCount("retentionMs", request.retentionMs);
    const result = await this.pool.query({
      name: "myphone_purge_done",
      text: PURGE_DONE_SQL,
      values: [request.now ?? null, request.retentionMs, request.limit],
    });
    return result.rowCount ?? 0;
  }
}

function fromJobRow(row: JobRow): OutboxJob {
  return outboxJob(row, row.id, row.payload, row.createdAt, row.leaseUntil, row.settledAt);
}

function compareIds(a: string, b: string): number {
  return a.length - b.length || (a < b ? -1 : a > b ? 1 : 0);
}
