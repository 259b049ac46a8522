import type Database from "better-sqlite3";

interface QueuedWrite {
  readonly work: () => unknown;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: unknown) => void;
}

type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

/** A write that failed after it may have written: the batch it ran in must not commit. */
class WriteFailed extends Error {
  constructor(readonly failure: unknown) {
    super("a write of the batch failed");
  }
}

/**
 * Group commit for SQLite: writes queued in one turn of the event loop share ONE immediate transaction and fsync;
 * promises settle after COMMIT, so an acknowledged write is on disk. No savepoint per write (two statements each):
 * a write either refuses before writing (`refusesBeforeWriting`) and the batch goes on without it, or any other
 * failure (which may have half-written) rolls the batch back and reruns its writes one transaction each.
 */
export class SqliteWriteBatcher {
  private queue: QueuedWrite[] = [];
  private scheduled = false;
  private readonly commitBatch: Database.Transaction<(batch: QueuedWrite[]) => Outcome[]>;
  private readonly commitOne: Database.Transaction<(work: () => unknown) => unknown>;

  constructor(db: Database.Database, refusesBeforeWriting: (error: unknown) => boolean) {
    this.commitBatch = db.transaction((batch: QueuedWrite[]) =>
      batch.map((item): Outcome => {
        try {
          return { ok: true, value: item.work() };
        } catch (error) {
          if (refusesBeforeWriting(error)) return { ok: false, error };
          throw new WriteFailed(error);
        }
      }),
    );
    this.commitOne = db.transaction((work: () => unknown) => work());
  }

  /**
   * Queues `work` for the next group commit. It runs in the batch's transaction (never starts one) and either throws
   * a refusal before writing anything or writes all it means to.
   */
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
      if (error instanceof WriteFailed && batch.length > 1) return this.commitEachAlone(batch);
      // BEGIN or COMMIT failed (busy, disk full), or the only write did: nothing of the batch is durable.
      const cause = error instanceof WriteFailed ? error.failure : error;
      for (const item of batch) item.reject(cause);
      return;
    }
    batch.forEach((item, index) => {
      const outcome = outcomes[index]!;
      if (outcome.ok) item.resolve(outcome.value);
      else item.reject(outcome.error);
    });
  }

  /** After a batch was rolled back for one write's failure: every write in a transaction of its own. */
  private commitEachAlone(batch: QueuedWrite[]): void {
    for (const item of batch) {
      try {
        item.resolve(this.commitOne.immediate(item.work));
      } catch (error) {
        item.reject(error);
      }
    }
  }
}
