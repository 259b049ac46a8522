import Database from "better-sqlite3";
import { createPrivateSqliteFile } from "../../storage/sqlite-file.js";
import { SqliteWriteBatcher } from "../../storage/sqlite-write-batcher.js";
import {
  ConcurrencyError,
  type AppendRequest,
  type EventStore,
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
import { expectationHolds, assertCount, notifyOutboxListeners } from "../adapter-rules.js";

/**
 * Bumped whenever the DDL below changes; stored in `PRAGMA user_version`. Every statement is idempotent, so
 * running the whole script upgrades any older file. 2: index for the retention sweep of done jobs. 3: pending
 * jobs by due time, for the claim.
 */
export const SQLITE_SCHEMA_VERSION = 3;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS events (
  position       INTEGER PRIMARY KEY AUTOINCREMENT,
  aggregate_type TEXT    NOT NULL,
  aggregate_id   TEXT    NOT NULL,
  owner          TEXT    NOT NULL,
  sequence       INTEGER NOT NULL,
  type           TEXT    NOT NULL,
  data           TEXT    CHECK (data IS NULL OR json_valid(data)),
  created_at     INTEGER NOT NULL,
  UNIQUE (aggregate_type, aggregate_id, sequence)
);
CREATE TABLE IF NOT EXISTS outbox (
  id              INTEGER PRIMARY KEY AUTOINCREMENT,
  kind            TEXT    NOT NULL,
  idempotency_key TEXT    NOT NULL UNIQUE,
  aggregate_id    TEXT    NOT NULL,
  payload         TEXT    NOT NULL CHECK (json_valid(payload)),
  created_at      INTEGER NOT NULL,
  due_at          INTEGER NOT NULL,
  attempts        INTEGER NOT NULL DEFAULT 0,
  state           TEXT    NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'done', 'dead')),
  lease_owner     TEXT,
  lease_until     INTEGER,
  last_error      TEXT,
  settled_at      INTEGER
);
CREATE INDEX IF NOT EXISTS outbox_by_state ON outbox (state, id);
CREATE INDEX IF NOT EXISTS outbox_by_state_settled_at ON outbox (state, settled_at);
-- The claim walks pending jobs in due order and stops at its limit, so jobs waiting for a retry (a provider
-- outage's backlog) are never read; walking them by id read every one of them on every claim. (SQLite's planner
-- passes over a partial index on due_at for this query.)
CREATE INDEX IF NOT EXISTS outbox_by_state_due_at ON outbox (state, due_at);
CREATE INDEX IF NOT EXISTS events_by_owner ON events (owner);
`;

const EVENT_COLUMNS = "position, aggregate_type, aggregate_id, owner, sequence, type, data, created_at";
const JOB_COLUMNS = "id, kind, idempotency_key, aggregate_id, payload, attempts, created_at, lease_until, last_error, settled_at";

/** Event row as read with safe integers (every INTEGER column arrives as bigint). */
interface EventRow {
  position: bigint;
  aggregate_type: string;
  aggregate_id: string;
  owner: string;
  sequence: bigint;
  type: string;
  data: string | null;
  created_at: bigint;
}

interface JobRow {
  id: number;
  kind: string;
  idempotency_key: string;
  aggregate_id: string;
  payload: string;
  attempts: number;
  created_at: number;
  lease_until: number | null;
  last_error: string | null;
  settled_at: number | null;
}

/** An event ready for INSERT: data already serialised, so serialisation errors happen before the transaction. */
interface EventInsert {
  aggregateType: string;
  aggregateId: string;
  owner: string;
  sequence: number;
  type: string;
  data: string | null;
  createdAt: number;
}

interface JobInsert {
  kind: string;
  idempotencyKey: string;
  aggregateId: string;
  payload: string;
  createdAt: number;
}

interface ClaimParams {
  workerId: string;
  now: number;
  leaseUntil: number;
  limit: number;
}

type Db = Database.Database;

/** Every statement the store runs, prepared once per connection. */
class Statements {
  readonly lastSequence;
  readonly insertEvent;
  readonly insertJob;
  readonly readStream;
  readonly readAll;
  readonly claim;
  readonly settleDone;
  readonly settleRetry;
  readonly settleDead;
  readonly listJobs;
  readonly countJobs;
  readonly countJobsOfKind;
  readonly purgeDone;
  readonly ping;
  readonly ownerExists;

  constructor(db: Db) {
    this.lastSequence = db
      .prepare<[string, string], number>(
        "SELECT COALESCE(MAX(sequence), 0) FROM events WHERE aggregate_type = ? AND aggregate_id = ?",
      )
      .pluck();
    this.insertEvent = db
      .prepare<[EventInsert]>(
        `INSERT INTO events (aggregate_type, aggregate_id, owner, sequence, type, data, created_at)
         VALUES (@aggregateType, @aggregateId, @owner, @sequence, @type, @data, @createdAt)`,
      )
      .safeIntegers(true);
    this.insertJob = db.prepare<[JobInsert]>(
      `INSERT INTO outbox (kind, idempotency_key, aggregate_id, payload, created_at, due_at)
       VALUES (@kind, @idempotencyKey, @aggregateId, @payload, @createdAt, @createdAt)
       ON CONFLICT (idempotency_key) DO NOTHING`,
    );
    this.readStream = db
      .prepare<[string, string, number], EventRow>(
        `SELECT ${EVENT_COLUMNS} FROM events WHERE aggregate_type = ? AND aggregate_id = ? AND sequence > ? ORDER BY sequence`,
      )
      .safeIntegers(true);
    this.readAll = db
      .prepare<[bigint, number], EventRow>(
        `SELECT ${EVENT_COLUMNS} FROM events WHERE position > ? ORDER BY position LIMIT ?`,
      )
      .safeIntegers(true);
    // UPDATE ... LIMIT needs a compile-time option, so the earliest due jobs are picked in a subquery. The limit is
    // written into the SQL, one statement per limit: SQLite recompiles a statement on every run when a bound
    // parameter sits in its LIMIT (docs/performance.md).
    const claims = new Map<number, Database.Statement<[Omit<ClaimParams, "limit">], JobRow>>();
    this.claim = (limit: number) => {
      assertCount("limit", limit);
      let statement = claims.get(limit);
      if (!statement) {
        statement = db.prepare<[Omit<ClaimParams, "limit">], JobRow>(
          `UPDATE outbox SET lease_owner = @workerId, lease_until = @leaseUntil
           WHERE id IN (
             SELECT id FROM outbox
             WHERE state = 'pending' AND due_at <= @now AND (lease_until IS NULL OR lease_until < @now)
             ORDER BY due_at, id LIMIT ${limit})
           RETURNING ${JOB_COLUMNS}`,
        );
        claims.set(limit, statement);
      }
      return statement;
    };
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
    this.countJobsOfKind = db.prepare<[string, string], number>("SELECT count(*) FROM outbox WHERE state = ? AND kind = ?").pluck();
    // DELETE ... LIMIT needs a compile-time option too; (state, settled_at) finds the oldest done jobs without a scan.
    this.purgeDone = db.prepare<[{ cutoff: number; limit: number }]>(
      `DELETE FROM outbox WHERE id IN (
         SELECT id FROM outbox WHERE state = 'done' AND settled_at < @cutoff ORDER BY settled_at LIMIT @limit)`,
    );
    this.ping = db.prepare("SELECT 1").pluck();
    this.ownerExists = db.prepare<[string], number>("SELECT EXISTS (SELECT 1 FROM events WHERE owner = ?)").pluck();
  }
}

/**
 * Event store in one SQLite file (WAL, synchronous=FULL). Several processes may share the file: every write
 * runs in a BEGIN IMMEDIATE transaction and waits up to `busy_timeout` for the single write lock.
 */
export class SqliteEventStore implements EventStore {
  private readonly statements: Statements;
  private readonly writes: SqliteWriteBatcher;
  private readonly listeners = new Set<() => void>();

  /** Outbox view over the `outbox` table. */
  readonly outbox: OutboxStore;

  private constructor(private readonly db: Db) {
    this.statements = new Statements(db);
    // A failed expected-sequence check is the one refusal a write makes, and it comes before any insert.
    this.writes = new SqliteWriteBatcher(db, (error) => error instanceof ConcurrencyError);
    this.outbox = new SqliteOutbox(db, this.statements, this.writes);
  }

  /** Opens (creating if needed) the database file and its schema. */
  static open(file: string): SqliteEventStore {
    createPrivateSqliteFile(file);
    const db = new Database(file);
    try {
      configure(db);
      migrate(db);
      return new SqliteEventStore(db);
    } catch (error) {
      db.close();
      throw error;
    }
  }

  /** Returns one aggregate's events in sequence order. */
  async readStream(aggregateType: string, aggregateId: string, afterSequence = 0): Promise<RecordedEvent[]> {
    return this.statements.readStream.all(aggregateType, aggregateId, afterSequence).map(fromEventRow);
  }

  /** Checks the expectation and inserts events and outbox jobs atomically; shares the commit with concurrent writes. */
  async append(request: AppendRequest): Promise<RecordedEvent[]> {
    const events = request.events.map((event) => ({
      aggregateType: request.aggregateType,
      aggregateId: request.aggregateId,
      owner: request.owner,
      type: event.type,
      data: event.data === null ? null : JSON.stringify(event.data),
    }));
    const jobs = (request.outbox ?? []).map((job) => toJobInsert(request.aggregateId, job));
    const { recorded, addedJobs } = await this.writes.run(() => this.appendInTransaction(request, events, jobs));
    if (addedJobs > 0) notifyOutboxListeners(this.listeners);
    return recorded;
  }

  /**
   * Events after `after` in position order. Gap-safe: SQLite has one writer at a time, so positions commit in
   * increasing order and no smaller position can become visible after a larger one.
   */
  async readAll(after: Position, limit: number): Promise<RecordedEvent[]> {
    assertCount("limit", limit);
    return this.statements.readAll.all(after, limit).map(fromEventRow);
  }

  /** Registers a listener called after each commit that added outbox jobs. */
  onOutboxJobs(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async ownerExists(owner: string): Promise<boolean> {
    return this.statements.ownerExists.get(owner) === 1;
  }

  /** Runs a trivial query; rejects once the database is closed. */
  async ping(): Promise<void> {
    this.statements.ping.get();
  }

  /** Closes the connection; the WAL is checkpointed by SQLite when the last connection closes. */
  async close(): Promise<void> {
    this.listeners.clear();
    this.db.close();
  }

  private appendInTransaction(
    request: AppendRequest,
    events: readonly Omit<EventInsert, "sequence" | "createdAt">[],
    jobs: readonly Omit<JobInsert, "createdAt">[],
  ): { recorded: RecordedEvent[]; addedJobs: number } {
    // Stamped once the write lock is held, so commit times follow position order even after a busy wait.
    const createdAt = Date.now();
    const last = this.statements.lastSequence.get(request.aggregateType, request.aggregateId) ?? 0;
    if (!expectationHolds(request.expectedSequence, last)) {
      // Refused before any insert: the batch commits without this write (see SqliteWriteBatcher).
      throw new ConcurrencyError(request.aggregateId, request.expectedSequence, last);
    }
    const recorded = events.map((event, index) => {
      const row = { ...event, sequence: last + index + 1, createdAt };
      const position = BigInt(this.statements.insertEvent.run(row).lastInsertRowid);
      return toRecordedEvent(row, position);
    });
    let addedJobs = 0;
    for (const job of jobs) addedJobs += this.statements.insertJob.run({ ...job, createdAt }).changes;
    return { recorded, addedJobs };
  }
}

/** Outbox operations on the shared connection; every write takes the write lock up front (BEGIN IMMEDIATE). */
class SqliteOutbox implements OutboxStore {
  private readonly claimJobs;
  private readonly settleJob;
  private readonly purgeJobs;

  constructor(
    db: Db,
    private readonly statements: Statements,
    private readonly writes: SqliteWriteBatcher,
  ) {
    // Each is one statement: it writes all or nothing, as the batcher requires (see SqliteWriteBatcher).
    this.claimJobs = ({ limit, ...params }: ClaimParams) => statements.claim(limit).all(params);
    this.purgeJobs = (params: { cutoff: number; limit: number }) => statements.purgeDone.run(params).changes;
    this.settleJob = this.runSettle.bind(this);
  }

  /** Leases the earliest due, unleased pending jobs in one UPDATE ... RETURNING. */
  async claim(request: OutboxClaim): Promise<OutboxJob[]> {
    assertCount("limit", request.limit);
    assertCount("leaseMs", request.leaseMs);
    const now = (request.now ?? new Date()).getTime();
    const params = { workerId: request.workerId, now, leaseUntil: now + request.leaseMs, limit: request.limit };
    const rows = await this.writes.run(() => this.claimJobs(params));
    // RETURNING yields rows in no guaranteed order.
    return rows.sort((a, b) => a.id - b.id).map(fromJobRow);
  }

  /** Applies the outcome only while `workerId` still holds the pending job. */
  async settle(jobId: string, workerId: string, outcome: OutboxOutcome): Promise<boolean> {
    const id = parseJobId(jobId);
    if (id === undefined) return false;
    const changes = await this.writes.run(() => this.settleJob(id, workerId, outcome));
    return changes === 1;
  }

  /** Lists jobs in one state, oldest first. */
  async list(state: OutboxState): Promise<OutboxJob[]> {
    return this.statements.listJobs.all(state).map(fromJobRow);
  }

  /** Counts jobs per asked state (of one kind when given) on the state index; reads run outside the write lock. */
  async countByState<S extends OutboxState>(states: readonly S[], kind?: string): Promise<Record<S, number>> {
    const counts = {} as Record<S, number>;
    for (const state of states) {
      counts[state] = kind === undefined ? this.statements.countJobs.get(state)! : this.statements.countJobsOfKind.get(state, kind)!;
    }
    return counts;
  }

  /** Deletes up to `limit` expired done jobs in one short write transaction (shared with the next group commit). */
  async purgeDone(request: OutboxPurge): Promise<number> {
    assertCount("limit", request.limit);
    assertCount("retentionMs", request.retentionMs);
    const cutoff = (request.now ?? new Date()).getTime() - request.retentionMs;
    return this.writes.run(() => this.purgeJobs({ cutoff, limit: request.limit }));
  }

  private runSettle(id: number, workerId: string, outcome: OutboxOutcome): number {
    const now = Date.now();
    switch (outcome.state) {
      case "done":
        return this.statements.settleDone.run({ id, workerId, now }).changes;
      case "retry":
        return this.statements.settleRetry.run({
          id,
          workerId,
          retryAt: outcome.retryAt.getTime(),
          error: outcome.error,
        }).changes;
      case "dead":
        return this.statements.settleDead.run({ id, workerId, now, error: outcome.error }).changes;
    }
  }
}

/** Connection settings: wait for other writers instead of failing, and fsync every commit before acknowledging. */
function configure(db: Db): void {
  db.pragma("busy_timeout = 5000");
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = FULL");
}

/** Creates the schema idempotently; refuses a file written by a newer schema than this code understands. */
function migrate(db: Db): void {
  db.transaction(() => {
    const version = db.pragma("user_version", { simple: true }) as number;
    if (version > SQLITE_SCHEMA_VERSION) {
      throw new Error(`event store schema version ${version} is newer than supported version ${SQLITE_SCHEMA_VERSION}`);
    }
    db.exec(SCHEMA);
    if (version < SQLITE_SCHEMA_VERSION) db.pragma(`user_version = ${SQLITE_SCHEMA_VERSION}`);
  }).immediate();
}

function toJobInsert(aggregateId: string, job: NewOutboxJob): Omit<JobInsert, "createdAt"> {
  return {
    kind: job.kind,
    idempotencyKey: job.idempotencyKey,
    aggregateId,
    payload: JSON.stringify(job.payload),
  };
}

function toRecordedEvent(row: EventInsert, position: bigint): RecordedEvent {
  return {
    aggregateType: row.aggregateType,
    aggregateId: row.aggregateId,
    owner: row.owner,
    sequence: row.sequence,
    position,
    type: row.type,
    data: parseData(row.data),
    createdAt: new Date(row.createdAt),
  };
}

function fromEventRow(row: EventRow): RecordedEvent {
  return {
    aggregateType: row.aggregate_type,
    aggregateId: row.aggregate_id,
    owner: row.owner,
    sequence: Number(row.sequence),
    position: row.position,
    type: row.type,
    data: parseData(row.data),
    createdAt: new Date(Number(row.created_at)),
  };
}

/** An unleased job reports the epoch as its (long expired) lease end, like the memory store. */
function fromJobRow(row: JobRow): OutboxJob {
  return {
    id: String(row.id),
    kind: row.kind,
    idempotencyKey: row.idempotency_key,
    aggregateId: row.aggregate_id,
    payload: JSON.parse(row.payload) as Record<string, unknown>,
    attempts: row.attempts,
    createdAt: new Date(row.created_at),
    leaseUntil: new Date(row.lease_until ?? 0),
    lastError: row.last_error,
    settledAt: row.settled_at === null ? null : new Date(row.settled_at),
  };
}

function parseData(data: string | null): Record<string, unknown> | null {
  return data === null ? null : (JSON.parse(data) as Record<string, unknown>);
}

/** Job ids are decimal rowids; anything else cannot name a job. */
function parseJobId(jobId: string): number | undefined {
  if (!/^[1-9][0-9]*$/.test(jobId)) return undefined;
  const id = Number(jobId);
  return Number.isSafeInteger(id) ? id : undefined;
}



