import { isIP } from "node:net";
import type { SendCap } from "../domain/code-send-rules.js";
import { DomainError, Errors, type ErrorDefinition } from "../domain/errors.js";
import type { Logger } from "../logger.js";
import type { LimitedKey, SendLimiter } from "./send-limiter.js";
import type { SmsScopeStore } from "./sms-scope-store.js";
import {
  GLOBAL_SCOPE,
  scopesOfNumber,
  type BreakerTransition,
  type ScopeHold,
  type ScopeKind,
  type ScopeRules,
} from "./sms-scopes.js";

/**
 * The application side of the abuse limits (SPEC section 5): per accepted code send, reserves budgets and breakers
 * (SmsScopeStore), then the caps spanning users (SendLimiter); feeds verified codes to the breakers; logs every abuse
 * refusal (the decider's or a store's) and every breaker trip and close.
 */

/** The names refusals are logged under (stable; the `limit` field of the log line). */
export type AbuseLimit =
  | "code_attempts"
  | "country"
  | "number_type"
  | "resend_cooldown"
  | "sends_per_user"
  | "sends_per_number"
  | "sends_per_number_per_user"
  | "sends_per_number_per_address"
  | "sends_per_address"
  | "sms_budget_global"
  | "sms_budget_country"
  | "sms_budget_prefix"
  | "sms_breaker";

const LIMIT_OF_ERROR = new Map<string, AbuseLimit>([
  [Errors.codeAttemptsExhausted.id, "code_attempts"],
  [Errors.phoneCountryNotAllowed.id, "country"],
  [Errors.phoneTypeNotAllowed.id, "number_type"],
  [Errors.sendCooldown.id, "resend_cooldown"],
  [Errors.sendCapUser.id, "sends_per_user"],
  [Errors.sendCapNumber.id, "sends_per_number"],
  [Errors.sendCapNumberUser.id, "sends_per_number_per_user"],
  [Errors.sendCapNumberAddress.id, "sends_per_number_per_address"],
  [Errors.sendCapAddress.id, "sends_per_address"],
  [Errors.sendBudgetGlobal.id, "sms_budget_global"],
  [Errors.sendBudgetCountry.id, "sms_budget_country"],
  [Errors.sendBudgetPrefix.id, "sms_budget_prefix"],
  [Errors.sendBreakerOpen.id, "sms_breaker"],
]);

const BUDGET_ERRORS: Record<ScopeKind, ErrorDefinition> = {
  global: Errors.sendBudgetGlobal,
  country: Errors.sendBudgetCountry,
  prefix: Errors.sendBudgetPrefix,
};

/** The limit behind an error, when it is an abuse refusal. */
export function abuseLimitOf(error: DomainError): AbuseLimit | undefined {
  return LIMIT_OF_ERROR.get(error.id);
}

/**
 * The caps spanning users. A number is capped per (number, user) and per (number, address), so others cannot use up
 * what its owner gets, and in all, a higher ceiling on flooding one phone from many accounts and addresses.
 */
export interface SharedSendCaps {
  /** Codes to one number, whoever asks from wherever: the ceiling. */
  readonly perNumber: readonly SendCap[];
  /** Codes to one number for one user. */
  readonly perNumberPerUser: readonly SendCap[];
  /** Codes to one number asked from one client address (IPv6 by its network, as `perAddress`). */
  readonly perNumberPerAddress: readonly SendCap[];
  readonly perAddress: readonly SendCap[];
  /** IPv6 clients are counted by their network of this many bits (default 48). */
  readonly ipv6PrefixLength?: number;
}

/** Budgets and breakers: where their counts live, what they are, and how number ranges are named. */
export interface ScopeGuarding {
  readonly store: SmsScopeStore;
  readonly rules: ScopeRules;
  /** Digits dropped from the end of a number to name its range. */
  readonly prefixDroppedDigits: number;
}

/** One code send about to happen: who asks, to which normalised number, from where. */
export interface CodeSend {
  readonly userId: string;
  readonly phone: string;
  readonly clientAddress?: string;
}

/** Where a refused request came from, for the log line. */
export interface RefusalContext {
  readonly userId: string;
  readonly command: string;
  readonly clientAddress?: string;
}

/** What a reservation took, to give back with `release` when the send does not happen. */
export interface HeldSend {
  readonly limiterId?: string;
  readonly scopeHold?: ScopeHold;
}

export interface SendGuardOptions {
  readonly limiter: SendLimiter;
  readonly caps: SharedSendCaps;
  readonly logger: Logger;
  /** Budgets and breakers; absent = none. */
  readonly scopes?: ScopeGuarding;
  /** Called for every breaker change this process made (metrics). */
  readonly onBreakerTransition?: (transition: BreakerTransition) => void;
}

/** Limiter keys. A number's keys share the text before `|`, so the PostgreSQL limiter takes one lock per number. */
const NUMBER_PREFIX = "number:";
const ADDRESS_PREFIX = "address:";

/** A key to count one send under, with the refusal it answers and whether its wait must be blurred. */
interface CappedKey extends LimitedKey {
  readonly error: ErrorDefinition;
  /** Round the wait up to a quarter of the window: the exact wait of a cap others' sends fill tells when they sent. */
  readonly blurred: boolean;
}

/** Applies the budgets, breakers and shared caps to code sends, and logs abuse refusals. */
export class SendGuard {
  /** The scope behind each budget or breaker refusal, for its log line. */
  private readonly refusedScopes = new WeakMap<DomainError, string>();

  constructor(private readonly options: SendGuardOptions) {}

  /**
   * Reserves one send under budgets, breakers and shared caps; resolves with what it took (undefined when nothing
   * applies) or throws the refusing limit's ResourceExhausted DomainError with its RetryInfo delay. Budgets and
   * breakers come first: they refuse most of a pumping attack, and a refusal writes nothing.
   */
  async reserve(send: CodeSend, now: Date): Promise<HeldSend | undefined> {
    const scopeHold = await this.reserveScopes(send.phone, now);
    let limiterId: string | undefined;
    try {
      limiterId = await this.reserveCaps(send, now);
    } catch (error) {
      if (scopeHold) await this.options.scopes!.store.release(scopeHold);
      throw error;
    }
    if (!scopeHold && limiterId === undefined) return undefined;
    return { ...(limiterId !== undefined && { limiterId }), ...(scopeHold && { scopeHold }) };
  }

  /** Gives back a reservation whose send did not happen. */
  async release(held: HeldSend | undefined): Promise<void> {
    if (held?.limiterId !== undefined) await this.options.limiter.release(held.limiterId);
    if (held?.scopeHold) await this.options.scopes!.store.release(held.scopeHold);
  }

  /** Counts a verified code in its country's and range's breakers; logs, never throws (the verification committed). */
  async verified(phone: string, codeSentAt: Date, now: Date): Promise<void> {
    const scopes = this.options.scopes;
    if (!scopes?.rules.breaker) return;
    const watched = scopesOfNumber(phone, scopes.rules, scopes.prefixDroppedDigits).filter(
      (scope) => scope !== GLOBAL_SCOPE,
    );
    try {
      this.report(await scopes.store.recordVerified(watched, codeSentAt, now));
    } catch (error) {
      this.options.logger.warn({ err: error }, "a verified code could not be counted for the sms breaker");
    }
  }

  /** Logs (warn) `error` when it is an abuse refusal; the wire side counts them (myphone_abuse_refusals_total). */
  refused(error: DomainError, context: RefusalContext): void {
    const limit = abuseLimitOf(error);
    if (!limit) return;
    const scope = this.refusedScopes.get(error);
    // Never the command itself: a VerifyPhone command carries the code.
    this.options.logger.warn(
      {
        limit,
        errorId: error.id,
        userId: context.userId,
        command: context.command,
        clientAddress: context.clientAddress,
        retryAfterSeconds: error.retryAfterSeconds,
        ...(scope !== undefined && { scope }),
      },
      "abuse limit refused a request",
    );
  }

  private async reserveScopes(phone: string, now: Date): Promise<ScopeHold | undefined> {
    const scopes = this.options.scopes;
    if (!scopes) return undefined;
    const keys = scopesOfNumber(phone, scopes.rules, scopes.prefixDroppedDigits);
    if (keys.length === 0) return undefined;
    const reservation = await scopes.store.reserve(keys, now);
    this.report(reservation.transitions);
    if (reservation.allowed) return reservation.hold;
    const definition = reservation.cause === "breaker" ? Errors.sendBreakerOpen : BUDGET_ERRORS[reservation.kind];
    const error = new DomainError(definition, { retryAfterSeconds: reservation.retryAfterSeconds });
    this.refusedScopes.set(error, reservation.scope);
    throw error;
  }

  private async reserveCaps(send: CodeSend, now: Date): Promise<string | undefined> {
    const { perNumber, perNumberPerUser, perNumberPerAddress, perAddress, ipv6PrefixLength } = this.options.caps;
    const number = NUMBER_PREFIX + send.phone;
    const address = send.clientAddress === undefined ? undefined : addressBucket(send.clientAddress, ipv6PrefixLength);
    const candidates: (CappedKey | false)[] = [
      perNumber.length > 0 && { key: number, caps: perNumber, error: Errors.sendCapNumber, blurred: true },
      perNumberPerUser.length > 0 && {
        key: `${number}|user:${send.userId}`,
        caps: perNumberPerUser,
        error: Errors.sendCapNumberUser,
        blurred: false,
      },
      perNumberPerAddress.length > 0 &&
        address !== undefined && {
          key: `${number}|address:${address}`,
          caps: perNumberPerAddress,
          error: Errors.sendCapNumberAddress,
          blurred: true,
        },
      perAddress.length > 0 &&
        address !== undefined && {
          key: ADDRESS_PREFIX + address,
          caps: perAddress,
          error: Errors.sendCapAddress,
          blurred: false,
        },
    ];
    const keys = candidates.filter((key): key is CappedKey => key !== false);
    if (keys.length === 0) return undefined;
    const reservation = await this.options.limiter.reserve(keys, now);
    if (reservation.allowed) return reservation.id;
    const refused = keys.find((key) => key.key === reservation.key)!;
    const retryAfterSeconds = refused.blurred
      ? blurredWaitSeconds(reservation.retryAfterSeconds, reservation.cap)
      : reservation.retryAfterSeconds;
    throw new DomainError(refused.error, { retryAfterSeconds });
  }

  /** Logs breaker changes (trips and closes at warn) and passes them on to the metrics. */
  private report(transitions: readonly BreakerTransition[]): void {
    for (const transition of transitions) {
      const { scope, kind, to } = transition;
      if (to === "open") {
        const { sends = 0, verified = 0, coolOffMs = 0, reopen = false } = transition;
        this.options.logger.warn(
          {
            scope,
            kind,
            reopen,
            sends,
            verified,
            conversion: sends > 0 ? verified / sends : null,
            coolOffSeconds: Math.round(coolOffMs / 1000),
          },
          reopen
            ? "sms breaker tripped again: its trial codes were not verified"
            : "sms breaker tripped: too few codes verified",
        );
      } else if (to === "closed") {
        this.options.logger.warn(
          { scope, kind, trialsSent: transition.sends, trialsVerified: transition.verified },
          "sms breaker closed: its trial codes were verified",
        );
      } else {
        this.options.logger.info({ scope, kind }, "sms breaker half-open: letting trial codes through");
      }
      this.options.onBreakerTransition?.(transition);
    }
  }
}

/** `seconds` rounded up to a whole quarter of `cap`'s window, so the answer does not reveal when others sent. */
export function blurredWaitSeconds(seconds: number, cap: SendCap): number {
  const quarter = Math.max(1, Math.ceil(cap.windowMs / 4 / 1000));
  return Math.ceil(seconds / quarter) * quarter;
}

/**
 * What a client address is counted as: IPv4 as is, IPv6 by its network of `ipv6PrefixLength` bits (default 48),
 * since one subscriber often gets a whole /64 to /48 and could otherwise rotate through addresses for free.
 */
export function addressBucket(address: string, ipv6PrefixLength = 48): string {
  const plain = address.split("%", 1)[0]!;
  if (isIP(plain) !== 6) return plain;
  const groups = ipv6Groups(plain).slice(0, Math.ceil(ipv6PrefixLength / 16));
  const partial = ipv6PrefixLength % 16;
  if (partial !== 0) groups[groups.length - 1]! &= (0xffff << (16 - partial)) & 0xffff;
  const network = groups.map((g) => g.toString(16)).join(":");
  return `${network}${groups.length < 8 ? "::" : ""}/${ipv6PrefixLength}`;
}

/** The eight 16-bit groups of an IPv6 address (with "::" expanded and a trailing dotted IPv4 part converted). */
function ipv6Groups(address: string): number[] {
  const parse = (part: string | undefined): number[] =>
    part
      ? part.split(":").flatMap((group) => {
          if (!group.includes(".")) return [parseInt(group, 16)];
          const [a = 0, b = 0, c = 0, d = 0] = group.split(".").map(Number);
          return [(a << 8) | b, (c << 8) | d];
        })
      : [];
  const [head, tail] = address.split("::") as [string, string | undefined];
  const start = parse(head);
  const end = parse(tail);
  const zeros = tail === undefined ? 0 : 8 - start.length - end.length;
  return [...start, ...Array<number>(zeros).fill(0), ...end];
}
