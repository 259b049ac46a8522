import type Database from "better-sqlite3";

interface QueuedWrite {
  readonly work: () => unknown;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: unknown) => void;
}

type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

/**
 * Group commit for SQLite: writes queued during one turn of the event loop run in ONE immediate transaction,
 * so they share one fsync instead of paying one each. Each write runs in its own savepoint (better-sqlite3 turns a
 * transaction function called inside a transaction into a savepoint), so a write that throws (say, a failed
 * expected-sequence check) is rolled back alone. Promises settle only after the COMMIT returned: an acknowledged
 * write is on disk (synchronous=FULL).
 */
export class SqliteWriteBatcher {
  private queue: QueuedWrite[] = [];
  private scheduled = false;
  private readonly commitBatch: Database.Transaction<(batch: QueuedWrite[]) => Outcome[]>;

  constructor(db: Database.Database) {
    this.commitBatch = db.transaction((batch: QueuedWrite[]) =>
      batch.map((item): Outcome => {
        try {
          return { ok: true, value: item.work() };
        } catch (error) {
          return { ok: false, error };
        }
      }),
    );
  }

  /** Queues `work` (a better-sqlite3 transaction function, so it becomes a savepoint) for the next group commit. */
  run<T>(work: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ work, resolve: resolve as (value: unknown) => void, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        // setImmediate runs after the I/O callbacks of this turn: every request parsed in the turn joins the batch.
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.scheduled = false;
    const batch = this.queue;
    this.queue = [];
    let outcomes: Outcome[];
    try {
      outcomes = this.commitBatch.immediate(batch);
    } catch (error) {
      // BEGIN or COMMIT failed (e.g. busy past busy_timeout, disk full): nothing of the batch is durable.
      for (const item of batch) item.reject(error);
      return;
    }
    batch.forEach((item, index) => {
      const outcome = outcomes[index]!;
      if (outcome.ok) item.resolve(outcome.value);
      else item.reject(outcome.error);
    });
  }
}
