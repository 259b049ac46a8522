import type { OutboxWakeups } from "./event-store.js";

/**
 * The in-process side of an adapter's outbox wake-ups: listeners called after a commit of this process added jobs
 * (and, on PostgreSQL, when another node's commit is announced).
 */
export class OutboxListeners implements OutboxWakeups {
  private readonly listeners = new Set<() => void>();

  /** Registers a listener; returns an unsubscribe function. */
  onOutboxJobs(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Calls every listener after the commit; a failing hint must not fail an append that is already durable. */
  notify(): void {
    for (const listener of this.listeners) {
      queueMicrotask(() => {
        try {
          listener();
        } catch (error) {
          process.emitWarning(`outbox listener failed: ${String(error)}`);
        }
      });
    }
  }

  /** Forgets every listener (the store is closing). */
  clear(): void {
    this.listeners.clear();
  }
}
