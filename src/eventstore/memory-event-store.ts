import {
  ConcurrencyError,
  type AppendRequest,
  type EventStoreAdapter,
  type NewOutboxJob,
  type OutboxClaim,
  type OutboxJob,
  type OutboxOutcome,
  type OutboxPurge,
  type OutboxState,
  type OutboxStore,
  type Position,
  type RecordedCodeKey,
  type RecordedEvent,
} from "./event-store.js";
import { expectationHolds, assertCount, keyAllowsClaim, mergeCodeKeys } from "./adapter-rules.js";
import { outboxJobOf, recordedEventOf } from "./json-text-rows.js";
import { OutboxListeners } from "./outbox-listeners.js";

/** One outbox row, shaped like the SQLite table so both adapters share lease semantics. */
interface StoredJob {
  readonly id: number;
  readonly kind: string;
  readonly idempotencyKey: string;
  readonly aggregateId: string;
  /** Serialised once at append, so later mutation of the caller's object cannot change the job. */
  readonly payload: string;
  readonly createdAt: number;
  readonly keyId: string | null;
  dueAt: number;
  attempts: number;
  state: OutboxState;
  leaseOwner: string | null;
  leaseUntil: number | null;
  lastError: string | null;
  settledAt: number | null;
}

/** An event as kept in memory: data stays serialised so readers always get a fresh copy, as from SQLite. */
interface StoredEvent {
  readonly aggregateType: string;
  readonly aggregateId: string;
  readonly owner: string;
  readonly sequence: number;
  readonly position: Position;
  readonly type: string;
  readonly data: string | null;
  readonly createdAt: number;
}

/**
 * In-process event store for tests and `MYPHONE_STORE=memory`. Every operation runs synchronously inside its
 * async function, so each append (check + write) is atomic and appends are serialised by the event loop.
 */
export class MemoryEventStore implements EventStoreAdapter {
  /** The global log; position n is at index n-1, so positions are contiguous from 1n. */
  private readonly log: StoredEvent[] = [];
  private readonly streams = new Map<string, StoredEvent[]>();
  private readonly jobs = new MemoryOutbox();
  private readonly listeners = new OutboxListeners();
  private readonly codeKeys = new Map<string, RecordedCodeKey>();
  private closed = false;

  /** Outbox view over the jobs committed with appends. */
  readonly outbox: OutboxStore = this.jobs;

  /** Returns one aggregate's events after `afterSequence` in sequence order (index = sequence - 1: gapless). */
  async readStream(aggregateType: string, aggregateId: string, afterSequence = 0): Promise<RecordedEvent[]> {
    this.assertOpen();
    return (this.streams.get(streamKey(aggregateType, aggregateId)) ?? [])
      .slice(Math.max(0, afterSequence))
      .map(recordedEventOf);
  }

  /** Checks the expectation and appends events and outbox jobs in one synchronous step. */
  async append(request: AppendRequest): Promise<RecordedEvent[]> {
    this.assertOpen();
    const key = streamKey(request.aggregateType, request.aggregateId);
    const stream = this.streams.get(key) ?? [];
    const last = stream.length;
    if (!expectationHolds(request.expectedSequence, last)) {
      throw new ConcurrencyError(request.aggregateId, request.expectedSequence, last);
    }
    // Serialise before touching state so an unserialisable payload leaves the store unchanged.
    const createdAt = Date.now();
    const pending = request.events.map((event, index): StoredEvent => ({
      aggregateType: request.aggregateType,
      aggregateId: request.aggregateId,
      owner: request.owner,
      sequence: last + index + 1,
      position: BigInt(this.log.length + index + 1),
      type: event.type,
      data: event.data === null ? null : JSON.stringify(event.data),
      createdAt,
    }));
    const jobs = this.jobs.prepare(request.aggregateId, request.outbox ?? [], createdAt);
    this.log.push(...pending);
    if (pending.length > 0) this.streams.set(key, stream.concat(pending));
    const added = this.jobs.insert(jobs);
    if (added > 0) this.listeners.notify();
    return pending.map(recordedEventOf);
  }

  /** Returns events after `after` in position order, at most `limit`. */
  async readAll(after: Position, limit: number): Promise<RecordedEvent[]> {
    this.assertOpen();
    assertCount("limit", limit);
    const start = after < 0n ? 0 : Number(after);
    return this.log.slice(start, start + limit).map(recordedEventOf);
  }

  /** Registers a listener called after each append that added outbox jobs. */
  onOutboxJobs(listener: () => void): () => void {
    return this.listeners.onOutboxJobs(listener);
  }

  async ownerExists(owner: string): Promise<boolean> {
    this.assertOpen();
    return this.log.some((event) => event.owner === owner);
  }

  /** Every key this process recorded. */
  async listCodeKeys(): Promise<RecordedCodeKey[]> {
    this.assertOpen();
    return mergeCodeKeys(this.codeKeys, [], "", new Date());
  }

  /** The registry of this process alone (a memory store has no other nodes). */
  async registerCodeKeys(
    keys: readonly { keyId: string; check: Readonly<Record<string, unknown>> }[],
    activeKeyId: string,
    now: Date,
  ): Promise<RecordedCodeKey[]> {
    this.assertOpen();
    return mergeCodeKeys(this.codeKeys, keys, activeKeyId, now);
  }

  /** Resolves while the store is open. */
  async ping(): Promise<void> {
    this.assertOpen();
  }

  /** Marks the store closed so later use fails like a closed database would. */
  async close(): Promise<void> {
    this.closed = true;
    this.jobs.close();
    this.listeners.clear();
  }

  private assertOpen(): void {
    if (this.closed) throw new Error("event store is closed");
  }
}

/** The in-memory outbox; mirrors the SQLite statements condition for condition. */
class MemoryOutbox implements OutboxStore {
  private readonly rows = new Map<number, StoredJob>();
  private readonly keys = new Set<string>();
  private nextId = 1;
  private closed = false;

  /** Builds rows for an append without storing them, so a failing serialisation aborts the whole append. */
  prepare(aggregateId: string, jobs: readonly NewOutboxJob[], createdAt: number): Omit<StoredJob, "id">[] {
    return jobs.map((job) => ({
      kind: job.kind,
      idempotencyKey: job.idempotencyKey,
      aggregateId,
      payload: JSON.stringify(job.payload),
      createdAt,
      keyId: job.keyId ?? null,
      dueAt: createdAt,
      attempts: 0,
      state: "pending",
      leaseOwner: null,
      leaseUntil: null,
      lastError: null,
      settledAt: null,
    }));
  }

  /** Stores prepared rows, skipping known idempotency keys; returns how many were added. */
  insert(jobs: readonly Omit<StoredJob, "id">[]): number {
    let added = 0;
    for (const job of jobs) {
      if (this.keys.has(job.idempotencyKey)) continue;
      this.keys.add(job.idempotencyKey);
      const id = this.nextId++;
      this.rows.set(id, { ...job, id });
      added++;
    }
    return added;
  }

  /** Leases the earliest due, unleased pending jobs (the oldest first among jobs due at the same time). */
  async claim(request: OutboxClaim): Promise<OutboxJob[]> {
    this.assertOpen();
    assertCount("limit", request.limit);
    assertCount("leaseMs", request.leaseMs);
    const now = (request.now ?? new Date()).getTime();
    const claimable = [...this.rows.values()]
      .filter((job) => isClaimable(job, now) && keyAllowsClaim(job.keyId, job.createdAt, request, now))
      .sort((a, b) => a.dueAt - b.dueAt || a.id - b.id)
      .slice(0, request.limit);
    for (const job of claimable) {
      job.leaseOwner = request.workerId;
      job.leaseUntil = now + request.leaseMs;
    }
    return claimable.map(outboxJobOf);
  }

  /** Applies the outcome only while `workerId` still holds the pending job. */
  async settle(jobId: string, workerId: string, outcome: OutboxOutcome): Promise<boolean> {
    this.assertOpen();
    const job = this.rows.get(Number(jobId));
    if (job === undefined || String(job.id) !== jobId) return false;
    if (job.state !== "pending" || job.leaseOwner !== workerId) return false;
    applyOutcome(job, outcome, Date.now());
    return true;
  }

  /** Lists jobs in one state, oldest first. */
  async list(state: OutboxState): Promise<OutboxJob[]> {
    this.assertOpen();
    return [...this.rows.values()]
      .filter((job) => job.state === state)
      .sort((a, b) => a.id - b.id)
      .map(outboxJobOf);
  }

  /** Counts jobs per asked state (of one kind when given). */
  async countByState<S extends OutboxState>(states: readonly S[], kind?: string): Promise<Record<S, number>> {
    this.assertOpen();
    const counts = Object.fromEntries(states.map((state) => [state, 0])) as Record<S, number>;
    for (const job of this.rows.values()) {
      if ((kind === undefined || job.kind === kind) && job.state in counts) counts[job.state as S]++;
    }
    return counts;
  }

  /** Deletes the oldest done jobs settled before the cutoff, at most `limit`, and forgets their idempotency keys. */
  async purgeDone(request: OutboxPurge): Promise<number> {
    this.assertOpen();
    assertCount("limit", request.limit);
    assertCount("retentionMs", request.retentionMs);
    const cutoff = (request.now ?? new Date()).getTime() - request.retentionMs;
    const expired = [...this.rows.values()]
      .filter((job) => job.state === "done" && job.settledAt !== null && job.settledAt < cutoff)
      .sort((a, b) => a.settledAt! - b.settledAt! || a.id - b.id)
      .slice(0, request.limit);
    for (const job of expired) {
      this.rows.delete(job.id);
      this.keys.delete(job.idempotencyKey);
    }
    return expired.length;
  }

  /** Makes later calls fail, as they would on a closed database. */
  close(): void {
    this.closed = true;
  }

  private assertOpen(): void {
    if (this.closed) throw new Error("event store is closed");
  }
}

/** Same predicate as the SQLite claim: pending, due, and not under a live lease (which holds through leaseUntil). */
function isClaimable(job: StoredJob, now: number): boolean {
  return job.state === "pending" && job.dueAt <= now && (job.leaseUntil === null || job.leaseUntil < now);
}

/** Mutates the row the way the SQLite settle statements do. */
function applyOutcome(job: StoredJob, outcome: OutboxOutcome, settledAt: number): void {
  switch (outcome.state) {
    case "done":
      job.state = "done";
      job.settledAt = settledAt;
      return;
    case "retry":
      job.attempts += 1;
      job.dueAt = outcome.retryAt.getTime();
      job.leaseOwner = null;
      job.leaseUntil = null;
      job.lastError = outcome.error;
      return;
    case "dead":
      job.state = "dead";
      job.lastError = outcome.error;
      job.settledAt = settledAt;
      return;
  }
}

/** JSON-encoded so no choice of separator can make two different (type, id) pairs collide. */
function streamKey(aggregateType: string, aggregateId: string): string {
  return JSON.stringify([aggregateType, aggregateId]);
}
