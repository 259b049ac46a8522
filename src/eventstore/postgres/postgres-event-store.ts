import { randomBytes } from "node:crypto";
import pg from "pg";
import {
  ConcurrencyError,
  type AppendRequest,
  type EventStore,
  type ExpectedSequence,
  type NewOutboxJob,
  type OutboxClaim,
  type OutboxJob,
  type OutboxOutcome,
  type OutboxPurge,
  type OutboxState,
  type OutboxStore,
  type Position,
  type RecordedEvent,
} from "../event-store.js";
import { assertCount, notifyOutboxListeners } from "../adapter-rules.js";

/** Every table lives in this schema, so myphone can share a database with other applications. */
const SCHEMA = "myphone";

/** The NOTIFY channel that tells every node "outbox jobs were committed" (a hint; nodes poll as well). */
const OUTBOX_CHANNEL = "myphone_outbox";

/**
 * Key of the transaction-scoped advisory lock that serialises every myphone schema change (event store and send
 * limiter), so nodes starting at once never race on CREATE ... IF NOT EXISTS ("myphone").
 */
export const MIGRATION_LOCK = 0x6d7970686f6e65n;

/**
 * Schema migrations; version n is `MIGRATIONS[n - 1]`. Append new entries, never edit applied ones.
 *
 * Global order: `tx_id` is the writing transaction's id (xid8, assigned at its first write) and `global_seq` an
 * identity; the position is (tx_id, global_seq). Readers only return rows with tx_id below the oldest
 * transaction still running (pg_snapshot_xmin), so a transaction that commits late can never land behind a
 * position a reader has already passed (docs/scaling.md, "Global order").
 */
const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE ${SCHEMA}.events (
    tx_id          xid8        NOT NULL DEFAULT pg_current_xact_id(),
    global_seq     bigint      GENERATED ALWAYS AS IDENTITY,
    aggregate_type text        NOT NULL,
    aggregate_id   text        NOT NULL,
    sequence       bigint      NOT NULL CHECK (sequence > 0),
    owner          text        NOT NULL,
    type           text        NOT NULL,
    data           jsonb,
    created_at     timestamptz NOT NULL,
    CONSTRAINT events_stream_sequence PRIMARY KEY (aggregate_type, aggregate_id, sequence)
  );
  CREATE UNIQUE INDEX events_position ON ${SCHEMA}.events (tx_id, global_seq);
  CREATE INDEX events_owner ON ${SCHEMA}.events (owner);
  CREATE TABLE ${SCHEMA}.outbox (
    id              bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind            text        NOT NULL,
    idempotency_key text        NOT NULL UNIQUE,
    aggregate_id    text        NOT NULL,
    payload         jsonb       NOT NULL,
    created_at      timestamptz NOT NULL,
    due_at          timestamptz NOT NULL,
    attempts        integer     NOT NULL DEFAULT 0,
    state           text        NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'done', 'dead')),
    lease_owner     text,
    lease_until     timestamptz,
    last_error      text,
    settled_at      timestamptz
  );
  CREATE INDEX outbox_by_state ON ${SCHEMA}.outbox (state, id);
  `,
  // 2: the retention sweep finds expired done jobs without scanning the ones still kept.
  `
  CREATE INDEX outbox_by_state_settled_at ON ${SCHEMA}.outbox (state, settled_at);
  `,
  // 3: the claim walks pending jobs in due order and stops at its limit, so jobs waiting for a retry (a provider
  // outage's backlog) are never read; walking them by id read every one of them on every claim.
  `
  CREATE INDEX outbox_by_state_due_at ON ${SCHEMA}.outbox (state, due_at, id);
  `,
];

/** The schema version this code writes and understands. */
export const POSTGRES_SCHEMA_VERSION = MIGRATIONS.length;

/**
 * One append as a single statement (one round trip, its own transaction when autocommitted): read the stream's
 * head, check the expectation, insert events and outbox jobs, and NOTIFY when jobs were added. Nothing is
 * written when the expectation fails. Because the whole append is one statement, its snapshot (which decided
 * the sequence) is taken before the transaction gets its xid, which is what makes (tx_id, global_seq) agree with
 * every stream's sequence order. A concurrent writer of the same sequence makes the PRIMARY KEY fail (23505).
 *
 * $1 aggregate_type, $2 aggregate_id, $3 owner, $4 expected last sequence (NULL = any), $5 events as a JSON
 * array of {type, data}, $6 jobs as a JSON array of {kind, idempotencyKey, payload}, $7 NOTIFY payload.
 * `woken` is selected only so that its NOTIFY runs: PostgreSQL skips a plain CTE nobody reads.
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
  INSERT INTO ${SCHEMA}.outbox (kind, idempotency_key, aggregate_id, payload, created_at, due_at)
  SELECT j.value->>'kind', j.value->>'idempotencyKey', $2, j.value->'payload', clock.now, clock.now
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

/** Columns of `events AS e`. The casts rename columns, so ORDER BY must name `e.` columns, not these outputs. */
const EVENT_COLUMNS =
  "e.tx_id::text AS tx_id, e.global_seq::text AS global_seq, e.aggregate_type, e.aggregate_id, e.owner, e.sequence::text AS sequence, e.type, e.data, e.created_at";

/**
 * The fence: only transactions below the oldest one still running are final. Computed once per statement
 * (an InitPlan), from the same snapshot that reads the rows.
 */
const READ_ALL_SQL = `
SELECT ${EVENT_COLUMNS} FROM ${SCHEMA}.events AS e
WHERE e.tx_id < (SELECT pg_snapshot_xmin(pg_current_snapshot()))
  AND (e.tx_id, e.global_seq) > ($1::xid8, $2::bigint)
ORDER BY e.tx_id, e.global_seq
LIMIT $3`;

/** Columns of `outbox AS o`; ORDER BY names `o.id`, since `id` here is its text rendering. */
const JOB_COLUMNS =
  "o.id::text AS id, o.kind, o.idempotency_key, o.aggregate_id, o.payload, o.attempts, o.created_at, o.lease_until, o.last_error, o.settled_at";

/**
 * Claims with FOR UPDATE SKIP LOCKED: concurrent claimers on other nodes skip rows another claim is leasing
 * right now, and a row leased by a claim that committed meanwhile is re-checked (READ COMMITTED) and dropped
 * because its lease is live. Without an explicit `now` the database clock decides, so nodes with skewed clocks
 * agree on when a lease ends. `now` is read through scalar subqueries so that it bounds the scan of
 * outbox_by_state_due_at: joined with the CTE it was only a filter, and a claim that found fewer due jobs than its
 * limit read every job waiting for a retry (bench/outbox-backlog.ts).
 */
const CLAIM_SQL = `
WITH clock AS (SELECT COALESCE($3::timestamptz, date_trunc('milliseconds', statement_timestamp())) AS now),
due AS (
  SELECT id FROM ${SCHEMA}.outbox
  WHERE state = 'pending' AND due_at <= (SELECT now FROM clock) AND (lease_until IS NULL OR lease_until < (SELECT now FROM clock))
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
 * Deletes a bounded batch of expired done jobs. SKIP LOCKED lets nodes sweeping at the same time take disjoint
 * batches instead of queueing on each other's rows; nothing else locks done rows (settle only touches pending
 * ones). $1 now (NULL: the database clock), $2 retention in ms, $3 limit.
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

/** Row shapes as node-postgres returns them (bigint and xid8 cast to text in SQL, parsed here). */
interface EventRow {
  tx_id: string;
  global_seq: string;
  aggregate_type: string;
  aggregate_id: string;
  owner: string;
  sequence: string;
  type: string;
  data: Record<string, unknown> | null;
  created_at: Date;
}

interface AppendRow {
  last: string;
  added_jobs: number;
  woken: number;
  sequence: string | null;
  tx_id: string | null;
  global_seq: string | null;
  created_at: Date | null;
  type: string | null;
  data: Record<string, unknown> | null;
}

interface JobRow {
  id: string;
  kind: string;
  idempotency_key: string;
  aggregate_id: string;
  payload: Record<string, unknown>;
  attempts: number;
  created_at: Date;
  lease_until: Date | null;
  last_error: string | null;
  settled_at: Date | null;
}

export interface PostgresEventStoreOptions {
  /** Connections in this node's pool (default 10). Every node has its own pool; size max_connections for all. */
  readonly poolSize?: number;
  /**
   * Test hook: when set, each append runs in an explicit transaction and this is awaited after the write and
   * before COMMIT, so tests can hold a writer open and make commits land out of position order. Production
   * leaves it unset and each append is one autocommitted statement.
   */
  readonly beforeCommit?: (request: AppendRequest) => Promise<void>;
  /** Reports trouble in background work (idle pool connections, the LISTEN connection); default: process warning. */
  readonly onBackgroundError?: (error: unknown) => void;
}

/** Bounded internal retries of an `"any"` append that lost a race for the same sequence. */
const ANY_RETRIES = 10;

/**
 * Event store on PostgreSQL, for one or many myphone nodes sharing a database. Appends are single statements
 * with optimistic concurrency on the stream's PRIMARY KEY; `readAll` follows a gap-safe global position; the
 * outbox is shared by every node through leases claimed with FOR UPDATE SKIP LOCKED; LISTEN/NOTIFY wakes the
 * other nodes' SMS workers after a commit (a hint: their polling stays the fallback).
 */
export class PostgresEventStore implements EventStore {
  private readonly listeners = new Set<() => void>();
  /** Tags this store's NOTIFY payloads so it ignores its own (its listeners were called in-process already). */
  private readonly instanceId = randomBytes(8).toString("hex");
  private readonly wakeups: OutboxWakeups;
  /** Once closing, connections dropping (ours, or the server going away) are expected, not worth a warning. */
  private closing = false;

  /** Outbox view over the `outbox` table, shared by every node. */
  readonly outbox: OutboxStore;

  private constructor(
    private readonly pool: pg.Pool,
    connectionString: string,
    private readonly options: PostgresEventStoreOptions,
  ) {
    this.outbox = new PostgresOutbox(pool);
    this.wakeups = new OutboxWakeups(connectionString, this.instanceId, () => notifyOutboxListeners(this.listeners), this.reportError);
  }

  /** Connects, migrates the schema (safe when several nodes start at once) and starts listening for wake-ups. */
  static async open(connectionString: string, options: PostgresEventStoreOptions = {}): Promise<PostgresEventStore> {
    const pool = new pg.Pool({
      connectionString,
      max: options.poolSize ?? 10,
      application_name: "myphone",
      keepAlive: true,
    });
    const store = new PostgresEventStore(pool, connectionString, options);
    // An idle pooled connection that dies (server restart, network) must not crash the process; the pool
    // replaces it on the next checkout.
    pool.on("error", store.reportError);
    try {
      await migrate(pool);
      await store.wakeups.start();
      return store;
    } catch (error) {
      await store.wakeups.stop();
      await pool.end();
      throw error;
    }
  }

  /** Returns one aggregate's events in sequence order. */
  async readStream(aggregateType: string, aggregateId: string, afterSequence = 0): Promise<RecordedEvent[]> {
    const result = await this.pool.query<EventRow>({
      name: "myphone_read_stream_tail",
      text: `SELECT ${EVENT_COLUMNS} FROM ${SCHEMA}.events AS e WHERE e.aggregate_type = $1 AND e.aggregate_id = $2 AND e.sequence > $3 ORDER BY e.sequence`,
      values: [aggregateType, aggregateId, afterSequence],
    });
    return result.rows.map(fromEventRow);
  }

  /**
   * Checks the expectation and writes events and outbox jobs atomically. A writer that races for the same
   * sequence gets a ConcurrencyError (an `"any"` append is retried internally instead).
   */
  async append(request: AppendRequest): Promise<RecordedEvent[]> {
    // Serialise before the database is involved, so an unserialisable payload writes nothing.
    const events = JSON.stringify(request.events.map((event) => ({ type: event.type, data: event.data })));
    const jobs = JSON.stringify((request.outbox ?? []).map(toJobDraft));
    const expected = expectedLast(request.expectedSequence);
    const params = [request.aggregateType, request.aggregateId, request.owner, expected, events, jobs, this.instanceId];
    for (let attempt = 1; ; attempt++) {
      let rows: AppendRow[];
      try {
        rows = await this.runAppend(request, params);
      } catch (error) {
        if (!isLostRace(error)) throw error;
        if (request.expectedSequence === "any" && attempt < ANY_RETRIES) continue;
        const actual = await this.lastSequence(request.aggregateType, request.aggregateId);
        throw new ConcurrencyError(request.aggregateId, request.expectedSequence, actual);
      }
      const last = Number(rows[0]!.last);
      if (expected !== null && last !== expected) {
        throw new ConcurrencyError(request.aggregateId, request.expectedSequence, last);
      }
      if (rows[0]!.added_jobs > 0) notifyOutboxListeners(this.listeners);
      return rows
        .filter((row) => row.sequence !== null)
        .map((row) => ({
          aggregateType: request.aggregateType,
          aggregateId: request.aggregateId,
          owner: request.owner,
          sequence: Number(row.sequence),
          position: encodePosition(row.tx_id!, row.global_seq!),
          type: row.type!,
          data: row.data,
          createdAt: row.created_at!,
        }));
    }
  }

  /**
   * Events after `after` in position order, only from transactions older than every transaction still running:
   * an event that commits later always gets a position above what this returns.
   */
  async readAll(after: Position, limit: number): Promise<RecordedEvent[]> {
    assertCount("limit", limit);
    const [txId, globalSeq] = decodePosition(after);
    const result = await this.pool.query<EventRow>({ name: "myphone_read_all", text: READ_ALL_SQL, values: [txId, globalSeq, limit] });
    return result.rows.map(fromEventRow);
  }

  /** Registers a listener called after commits that added outbox jobs, on this node or (via NOTIFY) on others. */
  onOutboxJobs(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** True when any event carries this owner. */
  async ownerExists(owner: string): Promise<boolean> {
    const result = await this.pool.query<{ found: boolean }>(
      `SELECT EXISTS (SELECT 1 FROM ${SCHEMA}.events WHERE owner = $1) AS found`,
      [owner],
    );
    return result.rows[0]!.found;
  }

  /** Runs a trivial query; rejects when the database does not answer or the store is closed. */
  async ping(): Promise<void> {
    await this.pool.query("SELECT 1");
  }

  /** Stops listening and closes every pooled connection. */
  async close(): Promise<void> {
    this.closing = true;
    this.listeners.clear();
    await this.wakeups.stop();
    if (!this.pool.ended) await this.pool.end();
  }

  private readonly reportError = (error: unknown): void => {
    if (this.closing) return;
    if (this.options.onBackgroundError) this.options.onBackgroundError(error);
    else process.emitWarning(`postgres event store: ${error instanceof Error ? error.message : String(error)}`);
  };

  /**
   * Runs the append statement. Hot statements are named, so each connection parses and plans them once:
   * planning the append's CTEs costs more than running them (about 1.6x the appends per second measured).
   */
  private async runAppend(request: AppendRequest, params: unknown[]): Promise<AppendRow[]> {
    const hook = this.options.beforeCommit;
    if (!hook) return (await this.pool.query<AppendRow>({ name: "myphone_append", text: APPEND_SQL, values: params })).rows;
    const client = await this.pool.connect();
    try {
      await client.query("BEGIN");
      const result = await client.query<AppendRow>({ name: "myphone_append", text: APPEND_SQL, values: params });
      await hook(request);
      await client.query("COMMIT");
      return result.rows;
    } catch (error) {
      await client.query("ROLLBACK").catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }

  private async lastSequence(aggregateType: string, aggregateId: string): Promise<number> {
    const result = await this.pool.query<{ last: string }>(
      `SELECT COALESCE(MAX(sequence), 0)::text AS last FROM ${SCHEMA}.events WHERE aggregate_type = $1 AND aggregate_id = $2`,
      [aggregateType, aggregateId],
    );
    return Number(result.rows[0]!.last);
  }
}

/** Outbox operations; each is one autocommitted statement, so no transaction is ever held across an SMS send. */
class PostgresOutbox implements OutboxStore {
  constructor(private readonly pool: pg.Pool) {}

  /** Leases up to `limit` due jobs nobody else holds, earliest due first. */
  async claim(request: OutboxClaim): Promise<OutboxJob[]> {
    assertCount("limit", request.limit);
    assertCount("leaseMs", request.leaseMs);
    const result = await this.pool.query<JobRow>({
      name: "myphone_claim",
      text: CLAIM_SQL,
      values: [request.workerId, request.leaseMs, request.now ?? null, request.limit],
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
    const result = await this.pool.query({ name: `myphone_settle_${outcome.state}`, text: update.sql, values: [jobId, workerId, ...update.extra] });
    return result.rowCount === 1;
  }

  /** Lists jobs in one state, oldest first. */
  async list(state: OutboxState): Promise<OutboxJob[]> {
    const result = await this.pool.query<JobRow>(`SELECT ${JOB_COLUMNS} FROM ${SCHEMA}.outbox AS o WHERE o.state = $1 ORDER BY o.id`, [
      state,
    ]);
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

/**
 * A dedicated connection that LISTENs on the outbox channel and reconnects after failures. Notifications are
 * hints: a node that missed some (while reconnecting) still finds the jobs by polling, and is woken once
 * after each reconnect in case it missed something.
 */
class OutboxWakeups {
  private client: pg.Client | undefined;
  private retry: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly connectionString: string,
    private readonly selfId: string,
    private readonly wake: () => void,
    private readonly reportError: (error: unknown) => void,
  ) {}

  /** Connects and LISTENs; rejects when the first connection fails. */
  async start(): Promise<void> {
    const client = new pg.Client({ connectionString: this.connectionString, application_name: "myphone-listen", keepAlive: true });
    client.on("notification", (message) => {
      if (message.payload !== this.selfId) this.wake();
    });
    client.on("error", (error) => {
      this.reportError(error);
      this.reconnectLater(client);
    });
    client.on("end", () => this.reconnectLater(client));
    this.client = client;
    await client.connect();
    await client.query(`LISTEN ${OUTBOX_CHANNEL}`);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retry);
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => undefined);
  }

  private reconnectLater(failed: pg.Client): void {
    if (this.stopped || this.client !== failed || this.retry) return;
    this.client = undefined;
    failed.end().catch(() => undefined);
    this.retry = setTimeout(() => {
      this.retry = undefined;
      if (this.stopped) return;
      this.start().then(
        () => this.wake(),
        (error: unknown) => {
          this.reportError(error);
          if (this.client) this.reconnectLater(this.client);
        },
      );
    }, 1000);
    this.retry.unref();
  }
}

/**
 * Creates or upgrades the schema in one transaction under an advisory lock, so nodes starting at once take
 * turns: the first migrates, the others find the current version and change nothing. Refuses a database
 * written by a newer schema than this code understands.
 */
async function migrate(pool: pg.Pool): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query("BEGIN");
    await client.query("SELECT pg_advisory_xact_lock($1)", [MIGRATION_LOCK.toString()]);
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${SCHEMA}`);
    await client.query(
      `CREATE TABLE IF NOT EXISTS ${SCHEMA}.schema_version (
         singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
         version   integer NOT NULL,
         updated_at timestamptz NOT NULL DEFAULT now())`,
    );
    const found = await client.query<{ version: number }>(`SELECT version FROM ${SCHEMA}.schema_version`);
    const version = found.rows[0]?.version ?? 0;
    if (version > POSTGRES_SCHEMA_VERSION) {
      throw new Error(`event store schema version ${version} is newer than supported version ${POSTGRES_SCHEMA_VERSION}`);
    }
    for (let next = version + 1; next <= POSTGRES_SCHEMA_VERSION; next++) await client.query(MIGRATIONS[next - 1]!);
    if (version < POSTGRES_SCHEMA_VERSION) {
      await client.query(
        `INSERT INTO ${SCHEMA}.schema_version (version) VALUES ($1)
         ON CONFLICT (singleton) DO UPDATE SET version = EXCLUDED.version, updated_at = now()`,
        [POSTGRES_SCHEMA_VERSION],
      );
    }
    await client.query("COMMIT");
  } catch (error) {
    await client.query("ROLLBACK").catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

const SEQ_BITS = 64n;
const SEQ_MASK = (1n << SEQ_BITS) - 1n;

/** (tx_id, global_seq) packed into one bigint that orders exactly like the pair. */
function encodePosition(txId: string, globalSeq: string): Position {
  return (BigInt(txId) << SEQ_BITS) | BigInt(globalSeq);
}

/** The (tx_id, global_seq) pair of a position, as decimal strings for the query. */
function decodePosition(position: Position): [string, string] {
  if (position <= 0n) return ["0", "0"];
  return [(position >> SEQ_BITS).toString(), (position & SEQ_MASK).toString()];
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

function toJobDraft(job: NewOutboxJob): { kind: string; idempotencyKey: string; payload: Record<string, unknown> } {
  return { kind: job.kind, idempotencyKey: job.idempotencyKey, payload: job.payload };
}

function fromEventRow(row: EventRow): RecordedEvent {
  return {
    aggregateType: row.aggregate_type,
    aggregateId: row.aggregate_id,
    owner: row.owner,
    sequence: Number(row.sequence),
    position: encodePosition(row.tx_id, row.global_seq),
    type: row.type,
    data: row.data,
    createdAt: row.created_at,
  };
}

/** An unleased job reports the epoch as its (long expired) lease end, like the other stores. */
function fromJobRow(row: JobRow): OutboxJob {
  return {
    id: row.id,
    kind: row.kind,
    idempotencyKey: row.idempotency_key,
    aggregateId: row.aggregate_id,
    payload: row.payload,
    attempts: row.attempts,
    createdAt: row.created_at,
    leaseUntil: row.lease_until ?? new Date(0),
    lastError: row.last_error,
    settledAt: row.settled_at,
  };
}

function compareIds(a: string, b: string): number {
  return a.length - b.length || (a < b ? -1 : a > b ? 1 : 0);
}


