import type { HeldSend, SendGuard } from "../abuse/send-guard.js";
import { DomainError, Errors } from "../domain/errors.js";
import { CodeServiceUnavailableError, type ExternalCodeChecker } from "../domain/external-code-service.js";
import {
  decide,
  externalCodeCheck,
  validateCommand,
  type DecideEnv,
  type ExternalCodeCheck,
  type ExternalCodeVerdict,
  type UserCommand,
  type UserState,
} from "../domain/phone-decider.js";
import { SMS_PHONE_CODE_JOB, type SmsPhoneCodeJobPayload } from "../domain/sms-jobs.js";
import { isSentCode, USER_AGGREGATE, UserEventType, type UserEvent } from "../domain/user-events.js";
import { UserStateCache } from "./user-state-cache.js";
import { ConcurrencyError, type EventStore, type NewOutboxJob, type RecordedEvent } from "../eventstore/event-store.js";

/** The result of a command that was accepted: what was appended and the state after it. */
export interface CommandResult {
  readonly appended: RecordedEvent[];
  readonly state: UserState;
  /** The plain code a v2 `return_code` asked for (never logged; its event holds it encrypted). */
  readonly returnedCode?: string;
}

export interface UserCommandsOptions {
  /** Builds the decision environment per attempt (fresh `now`). */
  readonly env: () => DecideEnv;
  /** Attempts before a command losing every optimistic-concurrency race gives up. */
  readonly maxAttempts?: number;
  /** Budgets, breakers, shared send caps and the refusal log; absent = no abuse limits here. */
  readonly sendGuard?: SendGuard;
  /** The external service that holds codes (Twilio Verify), asked before a VerifyPhone on one of its codes. */
  readonly codeChecker?: ExternalCodeChecker;
}

/** Where a command came from, as far as abuse limits care. */
export interface CommandOrigin {
  /** The client's address (per-address send caps). */
  readonly clientAddress?: string;
}

/**
 * Runs commands against user streams: state (cached, plus the stream's tail) → decide → append with the expected
 * sequence. A lost race (ConcurrencyError) re-runs the command on fresh state: the only retry, since only this layer
 * can read and decide again (stores never retry an append).
 */
export class UserCommands {
  private readonly maxAttempts: number;
  private readonly states: UserStateCache;

  constructor(
    private readonly store: EventStore,
    private readonly options: UserCommandsOptions,
  ) {
    this.maxAttempts = options.maxAttempts ?? 1000;
    this.states = new UserStateCache(store);
  }

  /** The user's current state: every committed event of its stream, folded (read-your-writes). */
  async load(userId: string): Promise<UserState> {
    return this.states.load(userId);
  }

  /**
   * Executes a command for `userId`. `owner` is only used when the command creates the user.
   * Throws DomainError when refused (after appending whatever the refusal records, e.g. a failed attempt).
   */
  async execute(
    userId: string,
    command: UserCommand,
    owner?: string,
    origin: CommandOrigin = {},
  ): Promise<CommandResult> {
    try {
      return await this.run(userId, command, owner, origin);
    } catch (error) {
      if (error instanceof DomainError) {
        this.options.sendGuard?.refused(error, { userId, command: command.type, clientAddress: origin.clientAddress });
      }
      throw error;
    }
  }

  private async run(
    userId: string,
    command: UserCommand,
    owner: string | undefined,
    origin: CommandOrigin,
  ): Promise<CommandResult> {
    const invalid = validateCommand(command);
    if (invalid) throw invalid;
    const guard = this.options.sendGuard;
    /** The shared-cap reservation for the code this command sends; kept across concurrency retries. */
    let held: { send: HeldSend | undefined; phone: string } | undefined;
    /** The external code service's answer, kept across retries while the same code is pending (asking spends it). */
    let verdict: { codeSequence: number; verdict: ExternalCodeVerdict } | undefined;
    for (let attempt = 1; ; attempt++) {
      // Attempt 1 decides on the cached state without reading the tail. An append is safe on it (it expects the
      // cached sequence, so a newer event makes it a ConcurrencyError); a decision appending nothing checks nothing,
      // so it is only trusted on a state read from the store.
      let cached = attempt === 1 ? this.states.peek(userId) : undefined;
      // An external service is asked about the stored pending code only: its answer cannot be asked for twice.
      if (command.type === "VerifyPhone" && cached?.pendingCode?.generatorId) cached = undefined;
      const state = cached ?? (await this.load(userId));
      const env = this.options.env();
      let decided = command;
      const check = externalCodeCheck(command, state, env);
      if (check && command.type === "VerifyPhone") {
        if (verdict?.codeSequence !== check.codeSequence)
          verdict = { codeSequence: check.codeSequence, verdict: await this.askCodeService(check) };
        // The command as it came (v1 or v2, whose ids differ), with the service's answer.
        decided = { ...command, externalVerdict: verdict.verdict };
      }
      const decision = decide(decided, state, env);
      if (cached && decision.events.length === 0) continue;
      if (guard) {
        // SPEC 3.5: the shared caps come after every check of the decider, right before the append.
        const phone = decision.error ? undefined : codeRecipient(state, decision.events);
        if (held && held.phone !== phone) {
          await guard.release(held.send);
          held = undefined;
        }
        if (phone !== undefined && !held) {
          held = { send: await guard.reserve({ userId, phone, clientAddress: origin.clientAddress }, env.now), phone };
        }
      }
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
        const after = this.states.advance(userId, state, appended);
        // The conversion breaker learns of every verified code; the domain only records the event.
        if (guard && state.pendingCode && decision.events.some((event) => event.type === UserEventType.phoneVerified)) {
          await guard.verified(state.phone, state.pendingCode.createdAt, env.now);
        }
        return decision.returnedCode === undefined
          ? { appended, state: after }
          : { appended, state: after, returnedCode: decision.returnedCode };
      } catch (error) {
        if (!(error instanceof ConcurrencyError)) throw error;
        if (attempt >= this.maxAttempts) {
          // Nothing was written, so the send did not happen; other failures may have committed and keep theirs.
          await guard?.release(held?.send);
          throw error;
        }
        // A stale cache is not contention: read the tail and try again at once.
        if (!cached) await backoff(attempt);
      }
    }
  }

  /**
   * The external service's verdict on a code it holds. A code of another service (the provider was changed since)
   * cannot be checked and counts as wrong, as in ZITADEL; a service that cannot be asked is Unavailable.
   */
  private async askCodeService(check: ExternalCodeCheck): Promise<ExternalCodeVerdict> {
    const checker = this.options.codeChecker;
    if (!checker || checker.generatorId !== check.generatorId) return "rejected";
    try {
      return await checker.check(check);
    } catch (error) {
      if (error instanceof CodeServiceUnavailableError) throw new DomainError(Errors.codeCheckUnavailable);
      throw error;
    }
  }
}

/** The number a decision sends a code to (the new number of a SetPhone, else the current one), if it sends one. */
function codeRecipient(state: UserState, events: readonly UserEvent[]): string | undefined {
  if (!events.some(isSentCode)) return undefined;
  const changed = events.find(
    (event): event is Extract<UserEvent, { type: typeof UserEventType.phoneChanged }> =>
      event.type === UserEventType.phoneChanged,
  );
  return changed?.data.phone ?? state.phone;
}

/** One SMS job per sent code.added event; its sequence is known before the append because the expectation is exact. */
function smsJobsFor(userId: string, lastSequence: number, events: readonly UserEvent[]): NewOutboxJob[] {
  const jobs: NewOutboxJob[] = [];
  events.forEach((event, index) => {
    if (!isSentCode(event)) return;
    const codeSequence = lastSequence + index + 1;
    const payload: SmsPhoneCodeJobPayload = { userId, codeSequence };
    // The job names the key of its code, so a node without that key leaves it to one that has it.
    // (An external service's code, Twilio Verify, is not encrypted here: any node can start its verification.)
    const keyId =
      event.type === UserEventType.phoneCodeAdded && "code" in event.data ? event.data.code.KeyID : undefined;
    jobs.push({
      kind: SMS_PHONE_CODE_JOB,
      idempotencyKey: `phone-code:${userId}:${codeSequence}`,
      payload: { ...payload },
      keyId,
    });
  });
  return jobs;
}

/** Jittered wait that grows with contention, so racing writers spread out instead of colliding again. */
function backoff(attempt: number): Promise<void> {
  const ms = Math.random() * Math.min(20, attempt);
  return new Promise((resolve) => setTimeout(resolve, ms));
}
