import { v7 as timeOrderedUuid } from "uuid";
import { capWaitMs, retryAfterSeconds, type SendCap } from "../domain/code-send-rules.js";

/**
 * The SendLimiter port: caps on code sends spanning users (per number, per client address), whose counts every
 * process on one database shares. Adapters: memory, SQLite (the events' file) and PostgreSQL.
 */

/**
 * One counted thing (`number:+41791234567`, `address:203.0.113.7`) with its caps. Keys sharing the text before a `|`
 * (`number:+41791234567|user:42`) are one family, which adapters that lock per key may lock once.
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
   * Atomically across processes: when one more send at `now` fits every cap of every key, records and allows it;
   * otherwise records nothing and answers the refusing limit with the longest wait.
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

/** The decision every adapter makes in its transaction: the refusal with the longest wait, or undefined if it fits. */
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
  return (
    worst && { allowed: false, key: worst.key, cap: worst.cap, retryAfterSeconds: retryAfterSeconds(worst.waitMs) }
  );
}

/** The longest window among `keys`: older sends can never count again and may be forgotten. */
export function longestWindowMs(keys: readonly LimitedKey[]): number {
  return Math.max(0, ...keys.flatMap((k) => k.caps.map((cap) => cap.windowMs)));
}

/** How long sends are kept unless told otherwise: the longest window the defaults use. */
export const DEFAULT_RETENTION_MS = 86_400_000;

/** Forgetting old sends is housekeeping (counts filter by time): adapters do it at most once per this. */
export const FORGET_INTERVAL_MS = 60_000;

/** The distinct keys a reservation records a send for (keys without caps count nothing). */
export function countedKeys(keys: readonly LimitedKey[]): string[] {
  return [...new Set(keys.filter((k) => k.caps.length > 0).map((k) => k.key))];
}

/**
 * A new reservation id: a version 7 UUID, ordered by creation time. The stores index these for `release`; ordered
 * ids append to the index's last page, which a batch shares, where random ones dirtied a leaf (a WAL frame) each.
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
