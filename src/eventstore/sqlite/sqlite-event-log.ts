import type Database from "better-sqlite3";
import type { SqliteWriteBatcher } from "../../storage/sqlite-write-batcher.js";
import {
  ConcurrencyError,
  type AppendRequest,
  type NewOutboxJob,
  type Position,
  type RecordedEvent,
} from "../event-store.js";
import { assertCount, expectationHolds, type AppendResult } from "../adapter-rules.js";
import { recordedEventOf, type JsonTextEventRow } from "../json-text-rows.js";

/** Read with safe integers: every INTEGER column arrives as bigint. */
const EVENT_COLUMNS =
  "position, aggregate_type AS aggregateType, aggregate_id AS aggregateId, owner, sequence, type, data, created_at AS createdAt";

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
  keyId: string | null;
  createdAt: number;
}

/**
 * The `events` table (and the outbox rows an append commits with its events). Statements are prepared once per
 * connection. The global position is the rowid: SQLite has one writer at a time, so positions commit in
 * increasing order and no smaller position can become visible after a larger one.
 */
export class SqliteEventLog {
  private readonly lastSequence;
  private readonly insertEvent;
  private readonly insertJob;
  private readonly readStreamTail;
  private readonly readAllAfter;
  private readonly anyOfOwner;

  constructor(
    db: Database.Database,
    private readonly writes: SqliteWriteBatcher,
  ) {
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
      `INSERT INTO outbox (kind, idempotency_key, aggregate_id, payload, key_id, created_at, due_at)
       VALUES (@kind, @idempotencyKey, @aggregateId, @payload, @keyId, @createdAt, @createdAt)
       ON CONFLICT (idempotency_key) DO NOTHING`,
    );
    this.readStreamTail = db
      .prepare<[string, string, number], JsonTextEventRow>(
        `SELECT ${EVENT_COLUMNS} FROM events WHERE aggregate_type = ? AND aggregate_id = ? AND sequence > ? ORDER BY sequence`,
      )
      .safeIntegers(true);
    this.readAllAfter = db
      .prepare<[bigint, number], JsonTextEventRow>(
        `SELECT ${EVENT_COLUMNS} FROM events WHERE position > ? ORDER BY position LIMIT ?`,
      )
      .safeIntegers(true);
    this.anyOfOwner = db.prepare<[string], number>("SELECT EXISTS (SELECT 1 FROM events WHERE owner = ?)").pluck();
  }

  /** Returns one aggregate's events in sequence order. */
  readStream(aggregateType: string, aggregateId: string, afterSequence: number): RecordedEvent[] {
    return this.readStreamTail.all(aggregateType, aggregateId, afterSequence).map(recordedEventOf);
  }

  /** Checks the expectation and inserts events and outbox jobs atomically; shares the commit with concurrent writes. */
  append(request: AppendRequest): Promise<AppendResult> {
    const events = request.events.map((event) => ({
      aggregateType: request.aggregateType,
      aggregateId: request.aggregateId,
      owner: request.owner,
      type: event.type,
      data: event.data === null ? null : JSON.stringify(event.data),
    }));
    const jobs = (request.outbox ?? []).map((job) => toJobInsert(request.aggregateId, job));
    return this.writes.run(() => this.appendInTransaction(request, events, jobs));
  }

  /** Events after `after` in position order, at most `limit`. */
  readAll(after: Position, limit: number): RecordedEvent[] {
    assertCount("limit", limit);
    return this.readAllAfter.all(after, limit).map(recordedEventOf);
  }

  /** True when any event carries this owner. */
  ownerExists(owner: string): boolean {
    return this.anyOfOwner.get(owner) === 1;
  }

  private appendInTransaction(
    request: AppendRequest,
    events: readonly Omit<EventInsert, "sequence" | "createdAt">[],
    jobs: readonly Omit<JobInsert, "createdAt">[],
  ): AppendResult {
    // Stamped once the write lock is held, so commit times follow position order even after a busy wait.
    const createdAt = Date.now();
    const last = this.lastSequence.get(request.aggregateType, request.aggregateId) ?? 0;
    if (!expectationHolds(request.expectedSequence, last)) {
      // Refused before any insert: the batch commits without this write (see SqliteWriteBatcher).
      throw new ConcurrencyError(request.aggregateId, request.expectedSequence, last);
    }
    const recorded = events.map((event, index) => {
      const row = { ...event, sequence: last + index + 1, createdAt };
      const position = BigInt(this.insertEvent.run(row).lastInsertRowid);
      return recordedEventOf({ ...row, position });
    });
    let addedJobs = 0;
    for (const job of jobs) addedJobs += this.insertJob.run({ ...job, createdAt }).changes;
    return { recorded, addedJobs };
  }
}

function toJobInsert(aggregateId: string, job: NewOutboxJob): Omit<JobInsert, "createdAt"> {
  return {
    kind: job.kind,
    idempotencyKey: job.idempotencyKey,
    aggregateId,
    payload: JSON.stringify(job.payload),
    keyId: job.keyId ?? null,
  };
}
