import type {
  ExpectedSequence,
  OutboxClaim,
  OutboxJob,
  Position,
  RecordedCodeKey,
  RecordedEvent,
} from "./event-store.js";

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

/** What an adapter's append wrote: the recorded events and how many outbox jobs were new (not idempotent repeats). */
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
 * The port's event from the values an adapter has converted. Built field by field: V8 builds a literal much faster
 * than it copies by spread or rest, and every event read or appended passes here.
 */
export function recordedEvent(
  stream: StreamOf,
  sequence: number,
  position: Position,
  type: string,
  data: Record<string, unknown> | null,
  createdAt: Date,
): RecordedEvent {
  return {
    aggregateType: stream.aggregateType,
    aggregateId: stream.aggregateId,
    owner: stream.owner,
    sequence,
    position,
    type,
    data,
    createdAt,
  };
}

/** The columns of a job every adapter keeps as the port shows them. */
interface JobColumns {
  readonly kind: string;
  readonly idempotencyKey: string;
  readonly aggregateId: string;
  readonly attempts: number;
  readonly lastError: string | null;
}

/** The port's job from an adapter's converted values; an unleased job reports the epoch as its (expired) lease end. */
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

/** Whether a claim's worker may take a job needing code key `keyId` (OutboxClaim.keyIds); the SQL stores mirror it. */
export function keyAllowsClaim(keyId: string | null, createdAtMs: number, claim: OutboxClaim, nowMs: number): boolean {
  if (keyId === null || claim.keyIds === undefined || claim.keyIds.includes(keyId)) return true;
  return createdAtMs < nowMs - (claim.otherKeysAfterMs ?? Infinity);
}

/**
 * The registry's merge for stores that keep it in memory: new keys are added with their check value, the active one
 * gets `now`; answers the record sorted by key id.
 */
export function mergeCodeKeys(
  recorded: Map<string, RecordedCodeKey>,
  keys: readonly { keyId: string; check: Readonly<Record<string, unknown>> }[],
  activeKeyId: string,
  now: Date,
): RecordedCodeKey[] {
  for (const { keyId, check } of keys) {
    const known = recorded.get(keyId);
    const activeAt = keyId === activeKeyId ? now : (known?.activeAt ?? null);
    recorded.set(keyId, { keyId, check: known?.check ?? check, activeAt });
  }
  return [...recorded.values()].sort((a, b) => (a.keyId < b.keyId ? -1 : a.keyId > b.keyId ? 1 : 0));
}
