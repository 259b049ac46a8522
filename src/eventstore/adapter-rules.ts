import type { ExpectedSequence, RecordedEvent } from "./event-store.js";

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
