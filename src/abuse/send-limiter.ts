import { v7 as timeOrderedUuid } from "uuid";
import { capWaitMs, retryAfterSeconds, type SendCap } from "../domain/code-send-rules.js";

/**
 * The SendLimiter port: caps on code sends that span users (per destination number, per client address), so
 * their counts must be shared by every server process on one database. Adapters: memory (one process), SQLite
 * (same file as the events) and PostgreSQL; all pass test/abuse/send-limiter.test.ts.
 */

/**
 * One counted thing, e.g. `number:+41791234567` or `address:203.0.113.7`, with the caps that apply to it. Keys
 * that share the text before a `|` (`number:+41791234567|user:42`) are one family: adapters that lock per key may
 * lock a family once.
 */
export interface LimitedKey {
  readonly key: string;
  readonly caps: readonly SendCap[];
}

/** The outcome of `reserve`: allowed (with an id to release it by), or the limit that refused and how long to wait. */
export type Reservation =
  | { readonly allowed: true; readonly id: string }
  | { readonly allowed: false; readonly key: string; readonly cap: SendCap; readonly retryAfterSeconds: number };

export interface SendLimiter {
  /**
   * Atomically, across processes: when one more send at `now` fits under every cap of every key, records it
   * for every key and allows it; otherwise records nothing and answers the refusing limit with the longest wait.
   */
  reserve(keys: readonly LimitedKey[], now: Date): Promise<Reservation>;
  /** Takes back an allowed reservation whose send did not happen (its append failed or was not needed). */
  release(id: string): Promise<void>;
  close(): Promise<void>;
}

/** A send that was counted for `key` at `sentAtMs` under reservation `reservation`. */
export interface CountedSend {
  readonly sentAtMs: number;
  readonly reservation: string;
}

/**
 * The decision every adapter makes inside its transaction: given the recorded send times per key, the refusal
 * with the longest wait, or undefined when the send fits. Shared so that all adapters decide identically.
 */
export function refusalOf(
  keys: readonly LimitedKey[],
  sentAtOf: (key: string) => readonly number[],
  nowMs: number,
): Extract<Reservation, { allowed: false }> | undefined {
  let worst: { key: string; cap: SendCap; waitMs: number } | undefined;
  for (const { key, caps } of keys) {
    if (caps.length === 0) continue;
    const times = sentAtOf(key);
    for (const cap of caps) {
      const waitMs = capWaitMs(times, cap, nowMs);
      if (waitMs > 0 && (!worst || waitMs > worst.waitMs)) worst = { key, cap, waitMs };
    }
  }
  return worst && { allowed: false, key: worst.key, cap: worst.cap, retryAfterSeconds: retryAfterSeconds(worst.waitMs) };
}

/** The longest window among `keys`: older sends can never count again and may be forgotten. */
export function longestWindowMs(keys: readonly LimitedKey[]): number {
  return Math.max(0, ...keys.flatMap((k) => k.caps.map((cap) => cap.windowMs)));
}

/** How long sends are kept unless told otherwise: the longest window the defaults use. */
export const DEFAULT_RETENTION_MS = 86_400_000;

/** Forgetting old sends is housekeeping, not correctness (counts filter by time): adapters do it at most once per this. */
export const FORGET_INTERVAL_MS = 60_000;

/** The distinct keys a reservation records a send for (keys without caps count nothing). */
export function countedKeys(keys: readonly LimitedKey[]): string[] {
  return [...new Set(keys.filter((k) => k.caps.length > 0).map((k) => k.key))];
}

/**
 * A new reservation id: a version 7 UUID, which sorts by creation time (and, within one process, in creation
 * order). The stores index reservation ids for `release`; random ids put every insert into a random leaf of that
 * index, and on SQLite that leaf was a WAL frame of its own per reservation, about a third of the limiter's
 * commit (docs/performance.md, step 18). Time-ordered ids append to the index's last page, which a batch shares.
 */
export function newReservationId(): string {
  return timeOrderedUuid();
}

/** Counts in this process only: for MYPHONE_STORE=memory and tests. */
export class MemorySendLimiter implements SendLimiter {
  private readonly sends = new Map<string, CountedSend[]>();

  async reserve(keys: readonly LimitedKey[], now: Date): Promise<Reservation> {
    const nowMs = now.getTime();
    const horizon = nowMs - longestWindowMs(keys);
    for (const { key } of keys) {
      const kept = (this.sends.get(key) ?? []).filter((send) => send.sentAtMs > horizon);
      if (kept.length > 0) this.sends.set(key, kept);
      else this.sends.delete(key);
    }
    const refusal = refusalOf(keys, (key) => (this.sends.get(key) ?? []).map((send) => send.sentAtMs), nowMs);
    if (refusal) return refusal;
    const id = newReservationId();
    for (const key of countedKeys(keys)) {
      this.sends.set(key, [...(this.sends.get(key) ?? []), { sentAtMs: nowMs, reservation: id }]);
    }
    return { allowed: true, id };
  }

  async release(id: string): Promise<void> {
    for (const [key, sends] of this.sends) {
      const kept = sends.filter((send) => send.reservation !== id);
      if (kept.length > 0) this.sends.set(key, kept);
      else this.sends.delete(key);
    }
  }

  async close(): Promise<void> {
    this.sends.clear();
  }
}
