/**
 * The event store port. Every adapter (memory, SQLite, PostgreSQL) passes the same contract suite
 * (test/eventstore/contract.test.ts). Vocabulary follows Marten/EventStoreDB: per-aggregate sequence with
 * expected-version checks, plus a global position that readers follow without skipping events.
 */

/** An event about to be appended: a stable type name and a JSON-serialisable payload. */
export interface NewEvent {
  readonly type: string;
  readonly data: Record<string, unknown> | null;
}

/** An event as stored. `sequence` is 1..n without gaps per aggregate; `position` orders all events. */
export interface RecordedEvent {
  readonly aggregateType: string;
  readonly aggregateId: string;
  /** The organisation the aggregate belongs to (ZITADEL's resource owner). */
  readonly owner: string;
  readonly sequence: number;
  readonly position: Position;
  readonly type: string;
  readonly data: Record<string, unknown> | null;
  /** Commit time as assigned by the store; all events of one append share it. */
  readonly createdAt: Date;
}

/**
 * Opaque, totally ordered position in the global log. Compare only with `comparePositions`; persist with
 * `String(position)`. A bigint today; adapters may change the representation without touching callers.
 */
export type Position = bigint & { readonly __brand?: "Position" };

/** The position before the first event. */
export const START: Position = 0n;

/** Orders two positions as a sort comparator does (negative, 0, positive). */
export function comparePositions(a: Position, b: Position): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * What the writer believes the aggregate's last sequence is: `"any"` skips the check, `"no_stream"` demands an empty
 * stream, a number exactly that last sequence. An `"any"` append never loses to another `"any"` append, but where
 * writers overlap (PostgreSQL) it can lose to an exact expectation and then gets a ConcurrencyError.
 */
export type ExpectedSequence = "any" | "no_stream" | number;

/** A delivery job committed together with the events (transactional outbox). */
export interface NewOutboxJob {
  /** What to do, e.g. "sms.phone_verification". */
  readonly kind: string;
  /** Unique per job; a second job with the same key is not added and the first is kept (idempotent append). */
  readonly idempotencyKey: string;
  readonly payload: Record<string, unknown>;
  /**
   * The code key a worker needs to carry the job out (the key its code is encrypted with); claims may ask for
   * the jobs of their keys only, so a node lacking a key leaves its jobs to nodes that have it.
   */
  readonly keyId?: string;
}

export interface AppendRequest {
  readonly aggregateType: string;
  readonly aggregateId: string;
  readonly owner: string;
  readonly expectedSequence: ExpectedSequence;
  readonly events: readonly NewEvent[];
  readonly outbox?: readonly NewOutboxJob[];
}

/**
 * Thrown by `append` when the expected sequence does not hold or another writer took it first; nothing was written.
 * Stores never retry: the caller decided on a stale state and only it can decide again (UserCommands does).
 */
export class ConcurrencyError extends Error {
  constructor(
    readonly aggregateId: string,
    readonly expected: ExpectedSequence,
    readonly actual: number,
  ) {
    super(`aggregate ${aggregateId}: expected sequence ${String(expected)}, found ${actual}`);
    this.name = "ConcurrencyError";
  }
}

/** A claimed outbox job. The claim is a lease: unless settled before `leaseUntil`, others may claim the job. */
export interface OutboxJob {
  readonly id: string;
  readonly kind: string;
  readonly idempotencyKey: string;
  readonly aggregateId: string;
  readonly payload: Record<string, unknown>;
  /** Delivery attempts before this claim. */
  readonly attempts: number;
  readonly createdAt: Date;
  readonly leaseUntil: Date;
  /** The error of the last failed attempt (a retry or the one that killed the job); null while none failed. */
  readonly lastError: string | null;
  /** When the job became done or dead (the store's clock); null while pending. */
  readonly settledAt: Date | null;
}

/** Where a job is: pending (due, leased or waiting for a retry), done (sent or skipped) or dead (given up). */
export type OutboxState = "pending" | "done" | "dead";

export interface OutboxClaim {
  /** Identifies the worker holding the lease (e.g. `${hostname}:${pid}:${random}`). */
  readonly workerId: string;
  readonly leaseMs: number;
  readonly limit: number;
  /** Claim only jobs due at or before this instant; defaults to now. */
  readonly now?: Date;
  /**
   * The code keys this worker holds: jobs that need another key are left for workers that hold it, until they
   * are `otherKeysAfterMs` old (by then their codes have expired, and skipping one needs no key). Absent: any job.
   */
  readonly keyIds?: readonly string[];
  readonly otherKeysAfterMs?: number;
}

export type OutboxOutcome =
  | { readonly state: "done" }
  /** Give the job back for another attempt not before `retryAt` (attempts is incremented). */
  | { readonly state: "retry"; readonly retryAt: Date; readonly error: string }
  /** Give up: the job stays visible for operators. */
  | { readonly state: "dead"; readonly error: string };

export interface OutboxPurge {
  /** Done jobs settled longer ago than this are deleted. */
  readonly retentionMs: number;
  /** Most jobs deleted by this call, so one call never holds a long write lock. */
  readonly limit: number;
  /** The instant retention is counted back from; defaults to now (the database's clock where there is one). */
  readonly now?: Date;
}

export interface OutboxStore {
  /** Leases up to `limit` due jobs not leased by anyone else, earliest due first (then oldest first). */
  claim(request: OutboxClaim): Promise<OutboxJob[]>;
  /** Settles a job held by `workerId`; returns false when the lease was lost (someone else owns it now). */
  settle(jobId: string, workerId: string, outcome: OutboxOutcome): Promise<boolean>;
  /** Jobs by state, for operators and tests. */
  list(state: OutboxState): Promise<OutboxJob[]>;
  /** How many jobs are in each of `states` (only jobs of `kind` when given), counted without reading the rows. */
  countByState<S extends OutboxState>(states: readonly S[], kind?: string): Promise<Record<S, number>>;
  /**
   * Deletes up to `limit` done jobs settled before `now - retentionMs`, oldest first; returns how many. Pending
   * (leased or not) and dead jobs are never deleted. A deleted job's idempotency key is forgotten with it. Safe to
   * run from several processes at once.
   */
  purgeDone(request: OutboxPurge): Promise<number>;
}

export interface EventStore {
  /**
   * The events of one aggregate in sequence order, those with sequence > `afterSequence` (default 0: all);
   * empty when the aggregate does not exist. The tail read lets callers cache state without going stale.
   */
  readStream(aggregateType: string, aggregateId: string, afterSequence?: number): Promise<RecordedEvent[]>;
  /**
   * Appends atomically (events and outbox jobs in one transaction) after checking the expected sequence.
   * Resolves only once the commit is durable. Throws ConcurrencyError when the expectation fails.
   */
  append(request: AppendRequest): Promise<RecordedEvent[]>;
  /**
   * Events with position > `after`, in position order, at most `limit`. Never skips an event that commits later;
   * to guarantee that, a store whose writers overlap (PostgreSQL) holds back events committed after a writer
   * that is still running, so this may briefly lag behind what `readStream` already shows.
   */
  readAll(after: Position, limit: number): Promise<RecordedEvent[]>;
  readonly outbox: OutboxStore;
  /** Checks the store answers (for readiness). */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** The outbox worker's wake-up port: hints that new outbox jobs may be due, so it need not wait for its next poll. */
export interface OutboxWakeups {
  /** Registers a listener called after commits that added jobs; returns an unsubscribe function. */
  onOutboxJobs(listener: () => void): () => void;
}

/** A code key as the deployment recorded it (nodes must agree on their code keys). */
export interface RecordedCodeKey {
  readonly keyId: string;
  /** A fixed text encrypted with the key: a node holding the same key under this id can decrypt it. */
  readonly check: Readonly<Record<string, unknown>>;
  /** The last time a node reported encrypting new codes with this key; null when none ever did. */
  readonly activeAt: Date | null;
}

/** Which code keys the nodes of a deployment use, recorded next to the events they encrypt codes in. */
export interface CodeKeyRegistry {
  /** Every recorded key, by id. */
  listCodeKeys(): Promise<RecordedCodeKey[]>;
  /**
   * Records the keys not recorded yet (a recorded key keeps its first check value), marks `activeKeyId` as
   * active at `now`, and answers every recorded key.
   */
  registerCodeKeys(
    keys: readonly { keyId: string; check: Readonly<Record<string, unknown>> }[],
    activeKeyId: string,
    now: Date,
  ): Promise<RecordedCodeKey[]>;
}

/**
 * What each adapter serves from the same data: the event log, the outbox worker's wake-ups, the auth layer's
 * organisation lookup and the code key registry. The composition root hands each consumer only its port.
 */
export interface EventStoreAdapter extends EventStore, OutboxWakeups, CodeKeyRegistry {
  /** True when any event has this owner (organisation): serves `OrganisationLookup` (src/auth). */
  ownerExists(owner: string): Promise<boolean>;
}
