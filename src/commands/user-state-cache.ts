import { evolve, initialState, type UserState } from "../domain/phone-decider.js";
import { parseUserEvent, USER_AGGREGATE } from "../domain/user-events.js";
import type { EventStore, RecordedEvent } from "../eventstore/event-store.js";

/**
 * Per-process LRU cache of folded user states. A load reads only the events after the cached sequence, so callers
 * see every committed event (read-your-writes, across processes too) without replaying long streams.
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
    return this.advance(userId, cached, tail);
  }

  /** Folds events of the user's stream (read, or just appended by the caller) into `state` and remembers the result. */
  advance(userId: string, state: UserState, events: readonly RecordedEvent[]): UserState {
    const after = foldStored(state, events);
    this.remember(userId, after);
    return after;
  }

  /**
   * The cached state without asking the store: it may miss events another process appended since. Only for a
   * decision whose append checks the expected sequence (which refuses it if the stream moved on).
   */
  peek(userId: string): UserState | undefined {
    return this.states.get(userId);
  }

  /** Keeps `state` as the user's latest, unless a newer one is cached already. */
  private remember(userId: string, state: UserState): void {
    if (state.sequence === 0) return; // nothing worth keeping for users that do not exist
    const current = this.states.get(userId);
    // Concurrent loads may finish out of order: never replace a newer state with an older one.
    if (current && current.sequence > state.sequence) return;
    this.states.delete(userId); // re-insert: Map order is the recency order
    this.states.set(userId, state);
    if (this.states.size > this.maxUsers) this.states.delete(this.states.keys().next().value!);
  }
}

/** The user aggregate's store boundary: each recorded event is read as a typed event (parseUserEvent) and folded. */
function foldStored(state: UserState, events: readonly RecordedEvent[]): UserState {
  return events.reduce((folded, event) => evolve(folded, parseUserEvent(event)), state);
}
