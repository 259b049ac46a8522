/**
 * A tiny emmett-style given/when/then harness for the phone decider. Pure: no I/O, no timers.
 *
 *   given([humanAdded]).when({ type: "SetPhone", phone: "079 123 45 67" }).then([...events])
 *   given([...]).when({ type: "VerifyPhone", code: "WRONG1" }).thenFails("COMMAND-sM0cs", "InvalidArgument", {
 *     events: [{ type: UserEventType.phoneVerificationFailed, data: null }],
 *   })
 *
 * `then`/`thenFails` return a new `Scenario` whose history is the old one plus the appended events, so
 * steps can be chained: given(...).when(a).then(...).when(b).thenFails(...).
 */
import { DomainError, type ErrorKind } from "../../src/domain/errors.js";
import type { PhonePolicy } from "../../src/domain/phone-number.js";
import {
  decide,
  replay,
  type DecideEnv,
  type Decision,
  type UserCommand,
  type UserState,
} from "../../src/domain/phone-decider.js";
import type { UserEvent, UserEventEnvelope } from "../../src/domain/user-events.js";
import {
  CodeCipher,
  DEFAULT_CODE_POLICY,
  type EncryptedCode,
  type RandomBytes,
} from "../../src/domain/verification-code.js";

export const OWNER = "org1";
export const KEY_ID = "k1";
/** A fixed 32-byte key: 0x00, 0x01, ..., 0x1f. */
export const KEY = Buffer.from(Array.from({ length: 32 }, (_, i) => i));

/** Stored events are 1 second apart, starting at this instant (event n has createdAt = EPOCH + (n-1) s). */
export const EVENT_CLOCK_START = new Date("2024-05-01T10:00:00.000Z");
/** `now` of every decision unless overridden: 30 minutes after the first stored event. */
export const NOW = new Date("2024-05-01T10:30:00.000Z");

/** The phone numbers and the code the decider tests use. */
export const PHONE = "+41791234567";
export const OTHER_PHONE = "+41781234567";
export const CODE = "ABC123";
/** An hour in the nanoseconds of a code's expiry. */
export const ONE_HOUR_NS = 3_600_000_000_000;

export const TEST_PHONE_POLICY: PhonePolicy = { defaultRegion: "CH", check: "possible", mobileOnly: false };

/** Creation time of the stored event with this sequence. */
export function eventTime(sequence: number): Date {
  return new Date(EVENT_CLOCK_START.getTime() + (sequence - 1) * 1000);
}

/** A deterministic byte source: 0, 1, 2, ..., 255, 0, 1, ... (a fresh counter per call of this factory). */
export function counterBytes(start = 0): RandomBytes {
  let next = start;
  return (size: number) => {
    const out = Buffer.alloc(size);
    for (let i = 0; i < size; i++) {
      out[i] = next & 0xff;
      next++;
    }
    return out;
  };
}

/** The cipher the tests use (fixed key, deterministic IVs). */
export function testCipher(random: RandomBytes = counterBytes(100)): CodeCipher {
  return new CodeCipher(new Map([[KEY_ID, KEY]]), KEY_ID, random);
}

/** A cipher with the same key, for decrypting codes in assertions. */
export const reader = testCipher();

export function decryptCode(code: EncryptedCode): string {
  return reader.decrypt(code);
}

export function makeEnv(overrides: Partial<DecideEnv> = {}): DecideEnv {
  return {
    now: NOW,
    phonePolicy: TEST_PHONE_POLICY,
    codePolicy: DEFAULT_CODE_POLICY,
    cipher: testCipher(),
    random: counterBytes(0),
    ...overrides,
  };
}

function isEnvelope(event: UserEvent | UserEventEnvelope): event is UserEventEnvelope {
  return "sequence" in event && typeof (event as UserEventEnvelope).sequence === "number";
}

/** Wraps decider events into stored-event envelopes (owner org1, sequence from+1.., fixed clock). */
export function toEnvelopes(events: readonly UserEvent[], from = 0): UserEventEnvelope[] {
  return events.map((event, index) => {
    const sequence = from + index + 1;
    return { ...event, owner: OWNER, sequence, createdAt: eventTime(sequence) };
  });
}

export interface ThenContext {
  readonly state: UserState;
  readonly env: DecideEnv;
  readonly decision: Decision;
}

export type EventsPredicate = (events: UserEvent[], context: ThenContext) => boolean | void;

export interface Scenario {
  /** The stored history (envelopes). */
  readonly history: readonly UserEventEnvelope[];
  /** The state folded from the history. */
  readonly state: UserState;
  when(command: UserCommand, envOverrides?: Partial<DecideEnv>): When;
}

export interface When {
  readonly decision: Decision;
  readonly env: DecideEnv;
  /** Asserts success with exactly these events (jest asymmetric matchers allowed) or a predicate. */
  then(expected: readonly UserEvent[] | EventsPredicate): Scenario;
  /** Asserts a DomainError with this id and kind, and exactly `events` appended (default: none). */
  thenFails(errorId: string, kind: ErrorKind, options?: { events?: readonly UserEvent[]; message?: string }): Scenario;
}

export function given(events: readonly UserEventEnvelope[] | readonly UserEvent[] = []): Scenario {
  const list = events as readonly (UserEvent | UserEventEnvelope)[];
  const history: UserEventEnvelope[] = list.map((event, index) =>
    isEnvelope(event) ? event : toEnvelopes([event], index)[0]!,
  );
  return scenario(history);
}

function scenario(history: readonly UserEventEnvelope[]): Scenario {
  const state = replay(history);
  return {
    history,
    state,
    when(command, envOverrides = {}) {
      const env = makeEnv(envOverrides);
      const decision = decide(command, state, env);
      const next = (): Scenario =>
        scenario([...history, ...toEnvelopes(decision.events, history.at(-1)?.sequence ?? 0)]);
      return {
        decision,
        env,
        then(expected) {
          if (decision.error) {
            throw new Error(
              `expected success, got ${decision.error.id} (${decision.error.kind}) "${decision.error.message}"`,
            );
          }
          if (typeof expected === "function") {
            const verdict = expected(decision.events, { state, env, decision });
            if (verdict === false) throw new Error(`predicate refused events ${JSON.stringify(decision.events)}`);
          } else {
            expect(decision.events).toEqual(expected);
          }
          return next();
        },
        thenFails(errorId, kind, options = {}) {
          expect(decision.error).toBeInstanceOf(DomainError);
          expect({ id: decision.error?.id, kind: decision.error?.kind }).toEqual({ id: errorId, kind });
          if (options.message !== undefined) expect(decision.error?.message).toBe(options.message);
          expect(decision.events).toEqual(options.events ?? []);
          return next();
        },
      };
    },
  };
}
