import type Database from "better-sqlite3";
import { openSqliteConnection } from "../../storage/sqlite-connection.js";
import { SqliteWriteBatcher } from "../../storage/sqlite-write-batcher.js";
import {
  ConcurrencyError,
  type AppendRequest,
  type EventStoreAdapter,
  type OutboxStore,
  type Position,
  type RecordedCodeKey,
  type RecordedEvent,
} from "../event-store.js";
import { OutboxListeners } from "../outbox-listeners.js";
import { SqliteEventLog } from "./sqlite-event-log.js";
import { SqliteOutbox } from "./sqlite-outbox.js";
import { migrateEventStoreSchema } from "./sqlite-schema.js";

/**
 * Event store in one SQLite file (WAL, synchronous=FULL): event log and outbox on one connection, sharing group
 * commits (SqliteWriteBatcher). Processes may share the file: every write is a BEGIN IMMEDIATE transaction that
 * waits up to `busy_timeout` for the single write lock.
 */
export class SqliteEventStore implements EventStoreAdapter {
  private readonly log: SqliteEventLog;
  private readonly listeners = new OutboxListeners();
  private readonly pingStatement;
  private readonly writes: SqliteWriteBatcher;
  private readonly upsertCodeKey;
  private readonly selectCodeKeys;

  /** Outbox view over the `outbox` table. */
  readonly outbox: OutboxStore;

  private constructor(private readonly db: Database.Database) {
    // A failed expected-sequence check is the one refusal a write makes, and it comes before any insert.
    const writes = new SqliteWriteBatcher(db, (error) => error instanceof ConcurrencyError);
    this.writes = writes;
    this.log = new SqliteEventLog(db, writes);
    this.outbox = new SqliteOutbox(db, writes);
    this.pingStatement = db.prepare("SELECT 1").pluck();
    this.upsertCodeKey = db.prepare<[{ keyId: string; check: string; now: number; activeAt: number | null }]>(
      `INSERT INTO code_keys (key_id, check_value, created_at, active_at) VALUES (@keyId, @check, @now, @activeAt)
       ON CONFLICT (key_id) DO UPDATE SET active_at = COALESCE(excluded.active_at, active_at)`,
    );
    this.selectCodeKeys = db.prepare<[], { keyId: string; check: string; activeAt: number | null }>(
      'SELECT key_id AS keyId, check_value AS "check", active_at AS activeAt FROM code_keys ORDER BY key_id',
    );
  }

  /** Records this process's code keys in `code_keys` (one write transaction) and answers every recorded key. */
  async registerCodeKeys(
    keys: readonly { keyId: string; check: Readonly<Record<string, unknown>> }[],
    activeKeyId: string,
    now: Date,
  ): Promise<RecordedCodeKey[]> {
    await this.writes.run(() => {
      for (const { keyId, check } of keys) {
        this.upsertCodeKey.run({
          keyId,
          check: JSON.stringify(check),
          now: now.getTime(),
          activeAt: keyId === activeKeyId ? now.getTime() : null,
        });
      }
    });
    return this.listCodeKeys();
  }

  /** Every recorded key (a read: no write lock). */
  async listCodeKeys(): Promise<RecordedCodeKey[]> {
    return this.selectCodeKeys.all().map((row) => ({
      keyId: row.keyId,
      check: JSON.parse(row.check) as Record<string, unknown>,
      activeAt: row.activeAt === null ? null : new Date(row.activeAt),
    }));
  }

  /** Opens (creating if needed) the database file and its schema. */
  static open(file: string): SqliteEventStore {
    const db = openSqliteConnection(file, { synchronous: "FULL", setUp: migrateEventStoreSchema });
    try {
      return new SqliteEventStore(db);
    } catch (error) {
      db.close();
      throw error;
    }
  }

  /** Returns one aggregate's events in sequence order. */
  async readStream(aggregateType: string, aggregateId: string, afterSequence = 0): Promise<RecordedEvent[]> {
    return this.log.readStream(aggregateType, aggregateId, afterSequence);
  }

  /** Checks the expectation and inserts events and outbox jobs atomically; shares the commit with concurrent writes. */
  async append(request: AppendRequest): Promise<RecordedEvent[]> {
    const { recorded, addedJobs } = await this.log.append(request);
    if (addedJobs > 0) this.listeners.notify();
    return recorded;
  }

  /** Events after `after` in position order (gap-safe: one writer at a time). */
  async readAll(after: Position, limit: number): Promise<RecordedEvent[]> {
    return this.log.readAll(after, limit);
  }

  /** Registers a listener called after each commit that added outbox jobs. */
  onOutboxJobs(listener: () => void): () => void {
    return this.listeners.onOutboxJobs(listener);
  }

  /** True when any event carries this owner. */
  async ownerExists(owner: string): Promise<boolean> {
    return this.log.ownerExists(owner);
  }

  /** Runs a trivial query; rejects once the database is closed. */
  async ping(): Promise<void> {
    this.pingStatement.get();
  }

  /** Closes the connection; the WAL is checkpointed by SQLite when the last connection closes. */
  async close(): Promise<void> {
    this.listeners.clear();
    this.db.close();
  }
}
