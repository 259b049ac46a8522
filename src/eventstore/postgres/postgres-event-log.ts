import type pg from "pg";
import { advisoryLockOf, inTransaction } from "../../storage/postgres-transactions.js";
import {
  ConcurrencyError,
  type AppendRequest,
  type ExpectedSequence,
  type NewOutboxJob,
  type Position,
  type RecordedEvent,
} from "../event-store.js";
import { assertCount, recordedEvent, type AppendResult } from "../adapter-rules.js";
import { OUTBOX_CHANNEL } from "./postgres-outbox-listener.js";
import { decodePosition, encodePosition } from "./postgres-position.js";
import { SCHEMA } from "./postgres-schema.js";

/**
 * One append as one statement (one round trip): read the stream's head, check the expectation, insert events and
 * jobs, NOTIFY when jobs were added; nothing is written when the expectation fails. Being one statement, its snapshot
 * (which decided the sequence) predates its xid, so (tx_id, global_seq) follows every stream's sequence order. A
 * concurrent writer of the same sequence fails the PRIMARY KEY (23505).
 * $1 aggregate_type, $2 aggregate_id, $3 owner, $4 expected last sequence (NULL = any), $5 events [{type, data}],
 * $6 jobs [{kind, idempotencyKey, payload, keyId}], $7 NOTIFY payload. `woken` is selected only so its NOTIFY runs
 * (PostgreSQL skips a CTE nobody reads).
 */
const APPEND_SQL = `
WITH clock AS (SELECT date_trunc('milliseconds', statement_timestamp()) AS now),
head AS (
  SELECT COALESCE(MAX(sequence), 0) AS last FROM ${SCHEMA}.events WHERE aggregate_type = $1 AND aggregate_id = $2
),
accepted AS (SELECT last FROM head WHERE $4::bigint IS NULL OR last = $4::bigint),
inserted AS (
  INSERT INTO ${SCHEMA}.events (aggregate_type, aggregate_id, owner, sequence, type, data, created_at)
  SELECT $1, $2, $3, accepted.last + e.ord, e.value->>'type', NULLIF(e.value->'data', 'null'::jsonb), clock.now
  FROM accepted, clock, jsonb_array_elements($5::jsonb) WITH ORDINALITY AS e(value, ord)
  ORDER BY e.ord
  RETURNING sequence, tx_id, global_seq, created_at, type, data
),
jobs AS (
  INSERT INTO ${SCHEMA}.outbox (kind, idempotency_key, aggregate_id, payload, key_id, created_at, due_at)
  SELECT j.value->>'kind', j.value->>'idempotencyKey', $2, j.value->'payload', j.value->>'keyId', clock.now, clock.now
  FROM accepted, clock, jsonb_array_elements($6::jsonb) WITH ORDINALITY AS j(value, ord)
  ORDER BY j.ord
  ON CONFLICT (idempotency_key) DO NOTHING
  RETURNING id
),
woken AS (SELECT pg_notify('${OUTBOX_CHANNEL}', $7::text) FROM (SELECT 1 FROM jobs LIMIT 1) AS first_job)
SELECT head.last::text AS last, (SELECT count(*) FROM jobs)::int AS added_jobs, (SELECT count(*) FROM woken)::int AS woken,
       inserted.sequence::text AS sequence, inserted.tx_id::text AS tx_id, inserted.global_seq::text AS global_seq,
       inserted.created_at, inserted.type, inserted.data
FROM head LEFT JOIN inserted ON true
ORDER BY inserted.sequence`;

/** Columns of `events AS e`, named like RecordedEvent's fields; the casts rename them, so ORDER BY names `e.` ones. */
const EVENT_COLUMNS =
  `e.tx_id::text AS tx_id, e.global_seq::text AS global_seq, e.aggregate_type AS "aggregateType", e.aggregate_id AS "aggregateId", ` +
  "e.owner, e.sequence::text AS sequence, e.type, e.data, e.created_at";

/** The fence: only transactions below the oldest one still running are final (an InitPlan on the rows' snapshot). */
const READ_ALL_SQL = `
SELECT ${EVENT_COLUMNS} FROM ${SCHEMA}.events AS e
WHERE e.tx_id < (SELECT pg_snapshot_xmin(pg_current_snapshot()))
  AND (e.tx_id, e.global_seq) > ($1::xid8, $2::bigint)
ORDER BY e.tx_id, e.global_seq
LIMIT $3`;

/** First half of the advisory lock an `"any"` append takes on its stream ("mySt"; the send limiter's is "myPh"). */
const STREAM_LOCK_NAMESPACE = 0x6d795374;

/** Row shapes as node-postgres returns them (bigint and xid8 cast to text in SQL, parsed here). */
interface EventRow {
  tx_id: string;
  global_seq: string;
  aggregateType: string;
  aggregateId: string;
  owner: string;
  sequence: string;
  type: string;
  data: Record<string, unknown> | null;
  created_at: Date;
}

/** The columns of an inserted event the append returns (the stream's are in the request). */
type InsertedEventColumns = Omit<EventRow, "aggregateType" | "aggregateId" | "owner">;

interface AppendHead {
  last: string;
  added_jobs: number;
  woken: number;
}

/** One row per inserted event, or a single row with NULL event columns when nothing was inserted. */
type AppendRow = AppendHead & (InsertedEventColumns | { [K in keyof InsertedEventColumns]: null });

/**
 * The `events` table: appends with optimistic concurrency on the stream's PRIMARY KEY, stream reads, and the
 * gap-safe global read. Hot statements are named, so each connection parses and plans them once: planning the
 * append's CTEs costs more than running them.
 */
export class PostgresEventLog {
  /**
   * @param notifyPayload what this node's NOTIFYs carry, so its own listener can tell them apart
   * @param beforeCommit test hook, see PostgresEventStoreOptions
   */
  constructor(
    private readonly pool: pg.Pool,
    private readonly notifyPayload: string,
    private readonly beforeCommit?: (request: AppendRequest) => Promise<void>,
  ) {}

  /** Returns one aggregate's events in sequence order. */
  async readStream(aggregateType: string, aggregateId: string, afterSequence = 0): Promise<RecordedEvent[]> {
    const result = await this.pool.query<EventRow>({
      name: "myphone_read_stream_tail",
      text:
        `SELECT ${EVENT_COLUMNS} FROM ${SCHEMA}.events AS e WHERE e.aggregate_type = $1 AND e.aggregate_id = $2 ` +
        `AND e.sequence > $3 ORDER BY e.sequence`,
      values: [aggregateType, aggregateId, afterSequence],
    });
    return result.rows.map((row) => fromEventRow(row, row));
  }

  /**
   * Checks the expectation and writes events and outbox jobs atomically. A writer that loses the race for the
   * sequence gets a ConcurrencyError; nothing is retried here (see ConcurrencyError).
   */
  async append(request: AppendRequest): Promise<AppendResult> {
    // Serialise before the database is involved, so an unserialisable payload writes nothing.
    const events = JSON.stringify(request.events.map((event) => ({ type: event.type, data: event.data })));
    const jobs = JSON.stringify((request.outbox ?? []).map(toJobDraft));
    const expected = expectedLast(request.expectedSequence);
    const params = [
      request.aggregateType,
      request.aggregateId,
      request.owner,
      expected,
      events,
      jobs,
      this.notifyPayload,
    ];
    let rows: AppendRow[];
    try {
      rows = await this.runAppend(request, params);
    } catch (error) {
      if (!isLostRace(error)) throw error;
      const actual = await this.lastSequence(request.aggregateType, request.aggregateId);
      throw new ConcurrencyError(request.aggregateId, request.expectedSequence, actual);
    }
    const last = Number(rows[0]!.last);
    if (expected !== null && last !== expected) {
      throw new ConcurrencyError(request.aggregateId, request.expectedSequence, last);
    }
    const recorded = rows
      .filter((row): row is AppendHead & InsertedEventColumns => row.sequence !== null)
      .map((row) => fromEventRow(row, request));
    return { recorded, addedJobs: rows[0]!.added_jobs };
  }

  /**
   * Events after `after` in position order, only from transactions older than every transaction still running:
   * an event that commits later always gets a position above what this returns.
   */
  async readAll(after: Position, limit: number): Promise<RecordedEvent[]> {
    assertCount("limit", limit);
    const [txId, globalSeq] = decodePosition(after);
    const result = await this.pool.query<EventRow>({
      name: "myphone_read_all",
      text: READ_ALL_SQL,
      values: [txId, globalSeq, limit],
    });
    return result.rows.map((row) => fromEventRow(row, row));
  }

  /** True when any event carries this owner. */
  async ownerExists(owner: string): Promise<boolean> {
    const result = await this.pool.query<{ found: boolean }>(
      `SELECT EXISTS (SELECT 1 FROM ${SCHEMA}.events WHERE owner = $1) AS found`,
      [owner],
    );
    return result.rows[0]!.found;
  }

  /**
   * Runs the append statement, autocommitted when it has an expectation. An `"any"` append could not decide again
   * after a lost race, so it first takes its stream's advisory lock in a transaction: such appends take turns, each
   * snapshot taken after the previous holder committed (and still before this transaction's xid).
   */
  private async runAppend(request: AppendRequest, params: unknown[]): Promise<AppendRow[]> {
    const statement = { name: "myphone_append", text: APPEND_SQL, values: params };
    const takesStreamLock = request.expectedSequence === "any";
    const hook = this.beforeCommit;
    if (!takesStreamLock && !hook) return (await this.pool.query<AppendRow>(statement)).rows;
    return inTransaction(this.pool, async (client) => {
      if (takesStreamLock) {
        const stream = advisoryLockOf(JSON.stringify([request.aggregateType, request.aggregateId]));
        await client.query("SELECT pg_advisory_xact_lock($1, $2)", [STREAM_LOCK_NAMESPACE, stream]);
      }
      const { rows } = await client.query<AppendRow>(statement);
      await hook?.(request);
      return rows;
    });
  }

  private async lastSequence(aggregateType: string, aggregateId: string): Promise<number> {
    const result = await this.pool.query<{ last: string }>(
      `SELECT COALESCE(MAX(sequence), 0)::text AS last FROM ${SCHEMA}.events WHERE aggregate_type = $1 AND aggregate_id = $2`,
      [aggregateType, aggregateId],
    );
    return Number(result.rows[0]!.last);
  }
}

/** The last sequence the expectation demands, or null for "any". A non-integer can never match, like elsewhere. */
function expectedLast(expected: ExpectedSequence): number | null {
  if (expected === "any") return null;
  if (expected === "no_stream") return 0;
  return Number.isSafeInteger(expected) ? expected : -1;
}

/** A unique violation on the stream key, or a deadlock/serialisation failure: another writer won this round. */
function isLostRace(error: unknown): boolean {
  const { code, constraint } = error as { code?: string; constraint?: string };
  return (code === "23505" && constraint === "events_stream_sequence") || code === "40P01" || code === "40001";
}

function toJobDraft(job: NewOutboxJob): {
  kind: string;
  idempotencyKey: string;
  payload: Record<string, unknown>;
  keyId?: string;
} {
  return { kind: job.kind, idempotencyKey: job.idempotencyKey, payload: job.payload, keyId: job.keyId };
}

/** The event of a row; an append's rows leave the stream's columns to the request (`stream`). */
function fromEventRow(
  row: InsertedEventColumns,
  stream: Pick<EventRow, "aggregateType" | "aggregateId" | "owner">,
): RecordedEvent {
  return recordedEvent(
    stream,
    Number(row.sequence),
    encodePosition(row.tx_id, row.global_seq),
    row.type,
    row.data,
    row.created_at,
  );
}
