import { DomainError, Errors } from "../domain/errors.js";
import { decide, evolve, replay, validateCommand, type DecideEnv, type UserCommand, type UserState } from "../domain/phone-decider.js";
import { USER_AGGREGATE, UserEventType } from "../domain/user-events.js";
import { ConcurrencyError, type EventStore, type NewOutboxJob, type RecordedEvent } from "../eventstore/event-store.js";

/** Outbox job kind for "send the SMS with the code of event `codeSequence` of user `userId`". */
export const SMS_PHONE_CODE_JOB = "sms.phone_code";

export interface SmsPhoneCodeJobPayload {
  readonly userId: string;
  readonly codeSequence: number;
}

/** The result of a command that was accepted: what was appended and the state after it. */
export interface CommandResult {
  readonly appended: RecordedEvent[];
  readonly state: UserState;
}

export interface UserCommandsOptions {
  /** Builds the decision environment per attempt (fresh `now`). */
  readonly env: () => DecideEnv;
  /** Attempts before a command losing every optimistic-concurrency race gives up. */
  readonly maxAttempts?: number;
}

/**
 * Runs commands against user streams: load → replay → decide → append with the expected sequence. A lost race
 * (ConcurrencyError) re-runs the whole command on fresh state, so no write is lost or applied twice.
 */
export class UserCommands {
  private readonly maxAttempts: number;

  constructor(
    private readonly store: EventStore,
    private readonly options: UserCommandsOptions,
  ) {
    this.maxAttempts = options.maxAttempts ?? 1000;
  }

  /** The user's current state, read from its stream (read-your-writes). */
  async load(userId: string): Promise<UserState> {
    return replay(await this.store.readStream(USER_AGGREGATE, userId));
  }

  /**
   * Executes a command for `userId`. `owner` is only used when the command creates the user.
   * Throws DomainError when refused (after appending whatever the refusal records, e.g. a failed attempt).
   */
  async execute(userId: string, command: UserCommand, owner?: string): Promise<CommandResult> {
    const invalid = validateCommand(command);
    if (invalid) throw invalid;
    for (let attempt = 1; ; attempt++) {
      const state = await this.load(userId);
      const decision = decide(command, state, this.options.env());
      if (decision.events.length === 0) {
        if (decision.error) throw decision.error;
        return { appended: [], state };
      }
      const aggregateOwner = state.owner || owner;
      if (!aggregateOwner) throw new DomainError(Errors.internal, { message: "user has no owner" });
      try {
        const appended = await this.store.append({
          aggregateType: USER_AGGREGATE,
          aggregateId: userId,
          owner: aggregateOwner,
          expectedSequence: state.sequence === 0 ? "no_stream" : state.sequence,
          events: decision.events,
          outbox: smsJobsFor(userId, state.sequence, decision.events),
        });
        if (decision.error) throw decision.error;
        return { appended, state: appended.reduce(evolve, state) };
      } catch (error) {
        if (!(error instanceof ConcurrencyError) || attempt >= this.maxAttempts) throw error;
        await backoff(attempt);
      }
    }
  }
}

/** One SMS job per code.added event; its sequence is known before the append because the expectation is exact. */
function smsJobsFor(userId: string, lastSequence: number, events: readonly { type: string }[]): NewOutboxJob[] {
  const jobs: NewOutboxJob[] = [];
  events.forEach((event, index) => {
    if (event.type !== UserEventType.phoneCodeAdded) return;
    const codeSequence = lastSequence + index + 1;
    const payload: SmsPhoneCodeJobPayload = { userId, codeSequence };
    jobs.push({ kind: SMS_PHONE_CODE_JOB, idempotencyKey: `phone-code:${userId}:${codeSequence}`, payload: { ...payload } });
  });
  return jobs;
}

/** Jittered wait that grows with contention, so racing writers spread out instead of colliding again. */
function backoff(attempt: number): Promise<void> {
  const ms = Math.random() * Math.min(20, attempt);
  return new Promise((resolve) => setTimeout(resolve, ms));
}
