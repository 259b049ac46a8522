import { randomBytes } from "node:crypto";
import type pg from "pg";
import { createPostgresPool } from "../../storage/postgres-connection.js";
import type {
  AppendRequest,
  EventStoreAdapter,
  OutboxStore,
  Position,
  RecordedCodeKey,
  RecordedEvent,
} from "../event-store.js";
import { OutboxListeners } from "../outbox-listeners.js";
import { PostgresEventLog } from "./postgres-event-log.js";
import { PostgresOutbox } from "./postgres-outbox.js";
import { PostgresOutboxListener } from "./postgres-outbox-listener.js";
import { migrateEventStoreSchema, SCHEMA } from "./postgres-schema.js";

export interface PostgresEventStoreOptions {
  /** Connections in this node's pool (default 10). Every node has its own pool; size max_connections for all. */
  readonly poolSize?: number;
  /**
   * Test hook: each append runs in an explicit transaction and awaits this before COMMIT, so tests can hold a writer
   * open and make commits land out of position order. Unset in production.
   */
  readonly beforeCommit?: (request: AppendRequest) => Promise<void>;
  /** Reports trouble in background work (idle pool connections, the LISTEN connection); default: process warning. */
  readonly onBackgroundError?: (error: unknown) => void;
}

/**
 * Event store on PostgreSQL for one or many nodes sharing a database: event log, shared outbox, and LISTEN/NOTIFY
 * wake-ups of the other nodes' SMS workers (a hint; polling stays the fallback), on one pool and one schema.
 */
export class PostgresEventStore implements EventStoreAdapter {
  private readonly log: PostgresEventLog;
  private readonly listeners = new OutboxListeners();
  private readonly listener: PostgresOutboxListener;
  /** Once closing, connections dropping (ours, or the server going away) are expected, not worth a warning. */
  private closing = false;

  /** Outbox view over the `outbox` table, shared by every node. */
  readonly outbox: OutboxStore;

  private constructor(
    private readonly pool: pg.Pool,
    connectionString: string,
    private readonly options: PostgresEventStoreOptions,
  ) {
    // Tags this store's NOTIFY payloads so it ignores its own (its listeners were called in-process already).
    const instanceId = randomBytes(8).toString("hex");
    this.log = new PostgresEventLog(pool, instanceId, options.beforeCommit);
    this.outbox = new PostgresOutbox(pool);
    this.listener = new PostgresOutboxListener(
      connectionString,
      instanceId,
      () => this.listeners.notify(),
      this.reportError,
    );
  }

  /** Connects, migrates the schema (safe when several nodes start at once) and starts listening for wake-ups. */
  static async open(connectionString: string, options: PostgresEventStoreOptions = {}): Promise<PostgresEventStore> {
    const pool = createPostgresPool(
      { connectionString, max: options.poolSize ?? 10, application_name: "myphone", keepAlive: true },
      (error) => store.reportError(error),
    );
    const store = new PostgresEventStore(pool, connectionString, options);
    try {
      await migrateEventStoreSchema(pool);
      await store.listener.start();
      return store;
    } catch (error) {
      await store.listener.stop();
      await pool.end();
      throw error;
    }
  }

  /** Returns one aggregate's events in sequence order. */
  readStream(aggregateType: string, aggregateId: string, afterSequence?: number): Promise<RecordedEvent[]> {
    return this.log.readStream(aggregateType, aggregateId, afterSequence);
  }

  /** Appends atomically; a lost race is a ConcurrencyError. Wakes this node's listeners when jobs were added. */
  async append(request: AppendRequest): Promise<RecordedEvent[]> {
    const { recorded, addedJobs } = await this.log.append(request);
    if (addedJobs > 0) this.listeners.notify();
    return recorded;
  }

  /** Events after `after` in position order, held back behind writers still running (gap-safe). */
  readAll(after: Position, limit: number): Promise<RecordedEvent[]> {
    return this.log.readAll(after, limit);
  }

  /** Registers a listener called after commits that added outbox jobs, on this node or (via NOTIFY) on others. */
  onOutboxJobs(listener: () => void): () => void {
    return this.listeners.onOutboxJobs(listener);
  }

  /** True when any event carries this owner. */
  ownerExists(owner: string): Promise<boolean> {
    return this.log.ownerExists(owner);
  }

  /** Records this node's code keys in `code_keys` (one upsert) and answers every recorded key. */
  async registerCodeKeys(
    keys: readonly { keyId: string; check: Readonly<Record<string, unknown>> }[],
    activeKeyId: string,
    now: Date,
  ): Promise<RecordedCodeKey[]> {
    await this.pool.query(
      `INSERT INTO ${SCHEMA}.code_keys (key_id, check_value, active_at)
       SELECT k->>'keyId', k->'check', CASE WHEN k->>'keyId' = $2 THEN $3::timestamptz END FROM jsonb_array_elements($1::jsonb) AS k
       ON CONFLICT (key_id) DO UPDATE SET active_at = COALESCE(EXCLUDED.active_at, code_keys.active_at)`,
      [JSON.stringify(keys), activeKeyId, now],
    );
    return this.listCodeKeys();
  }

  /** Every recorded key. */
  async listCodeKeys(): Promise<RecordedCodeKey[]> {
    const { rows } = await this.pool.query<{
      key_id: string;
      check_value: Record<string, unknown>;
      active_at: Date | null;
    }>(`SELECT key_id, check_value, active_at FROM ${SCHEMA}.code_keys ORDER BY key_id`);
    return rows.map((row) => ({ keyId: row.key_id, check: row.check_value, activeAt: row.active_at }));
  }

  /** Runs a trivial query; rejects when the database does not answer or the store is closed. */
  async ping(): Promise<void> {
    await this.pool.query("SELECT 1");
  }

  /** Stops listening and closes every pooled connection. */
  async close(): Promise<void> {
    this.closing = true;
    this.listeners.clear();
    await this.listener.stop();
    if (!this.pool.ended) await this.pool.end();
  }

  private readonly reportError = (error: unknown): void => {
    if (this.closing) return;
    if (this.options.onBackgroundError) this.options.onBackgroundError(error);
    else process.emitWarning(`postgres event store: ${error instanceof Error ? error.message : String(error)}`);
  };
}
