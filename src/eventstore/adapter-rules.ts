import type { ExpectedSequence, OutboxJob, Position, RecordedEvent } from "./event-store.js";

/** Rules every EventStore adapter applies the same way; kept in one place so the adapters cannot drift. */

/** Whether the writer's belief about the last sequence matches `last` (0 for an empty stream). */
export function expectationHolds(expected: ExpectedSequence, last: number): boolean {
  if (expected === "any") return true;
  if (expected === "no_stream") return last === 0;
  return expected === last;
}

/** Rejects negative or fractional counts, which SQL would read as "no limit" or round. */
export function assertCount(name: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`${name} must be a non-negative integer`);
}

/** What an adapter's append wrote: the events as recorded and how many outbox jobs were new (not idempotent repeats). */
export interface AppendResult {
  readonly recorded: RecordedEvent[];
  readonly addedJobs: number;
}

/** The stream an event belongs to, as an append request or an event row names it. */
interface StreamOf {
  readonly aggregateType: string;
  readonly aggregateId: string;
  readonly owner: string;
}

/**
 * The port's event from the values an adapter has converted. Built field by field on purpose: V8 copies objects
 * by spread or rest far more slowly than it builds a literal, and every event read or appended passes here.
 */
export function recordedEvent(
  stream: StreamOf,
  sequence: number,
  position: Position,
  type: string,
  data: Record<string, unknown> | null,
  createdAt: Date,
): RecordedEvent {
  return { aggregateType: stream.aggregateType, aggregateId: stream.aggregateId, owner: stream.owner, sequence, position, type, data, createdAt };
}

/** The columns of a job every adapter keeps as the port shows them. */
interface JobColumns {
  readonly kind: string;
  readonly idempotencyKey: string;
  readonly aggregateId: string;
  readonly attempts: number;
  readonly lastError: string | null;
}

/** The port's job from the values an adapter has converted; an unleased job reports the epoch as its (long expired) lease end. */
export function outboxJob(
  row: JobColumns,
  id: string,
  payload: Record<string, unknown>,
  createdAt: Date,
  leaseUntil: Date | null,
  settledAt: Date | null,
): OutboxJob {
  return {
    id,
    kind: row.kind,
    idempotencyKey: row.idempotencyKey,
    aggregateId: row.aggregateId,
    payload,
    attempts: row.attempts,
    createdAt,
    leaseUntil: leaseUntil ?? new Date(0),
    lastError: row.lastError,
    settledAt,
  };
}
