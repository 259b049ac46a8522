import { evolve, initialState, type UserState } from "../domain/phone-decider.js";
import { USER_AGGREGATE } from "../domain/user-events.js";
import type { EventStore } from "../eventstore/event-store.js";

/**
 * Per-process cache of folded user states. A load reads only the events after the cached sequence and folds
 * them in, so callers still see every committed event (read-your-writes, also across processes) while a long
 * stream is not replayed from the start on every call. Bounded: the least recently used users are dropped.
 */
export class UserStateCache {
  private readonly states = new Map<string, UserState>();

  constructor(
    private readonly store: EventStore,
    private readonly maxUsers = 10_000,
  ) {}

  /** The user's state as of the last committed event. */
  async load(userId: string): Promise<UserState> {
    const cached = this.states.get(userId) ?? initialState();
    const tail = await this.store.readStream(USER_AGGREGATE, userId, cached.sequence);
    const state = tail.reduce(evolve, cached);
    this.remember(userId, state);
    return state;
  }

  /**
   * The cached state without asking the store: it may miss events another process appended since. Only for a
   * decision whose append checks the expected sequence (which refuses it if the stream moved on).
   */
  peek(userId: string): UserState | undefined {
    return this.states.get(userId);
  }

  /** Records a state the caller just produced by folding its own appended events. */
  remember(userId: string, state: UserState): void {
    if (state.sequence === 0) return; // nothing worth keeping for users that do not exist
    const current = this.states.get(userId);
    // Concurrent loads may finish out of order: never replace a newer state with an older one.
    if (current && current.sequence > state.sequence) return;
    this.states.delete(userId); // re-insert: Map order is the recency order
    this.states.set(userId, state);
    if (this.states.size > this.maxUsers) this.states.delete(this.states.keys().next().value!);
  }
}
