import { isIP } from "node:net";
import type { SendCap } from "../domain/code-send-rules.js";
import { DomainError, Errors, type ErrorDefinition } from "../domain/errors.js";
import type { Logger } from "../logger.js";
import type { LimitedKey, SendLimiter } from "./send-limiter.js";

/**
 * The application side of the abuse limits (SPEC section 5): reserves the caps that span users (per destination
 * number, per client address) for each code send the decider accepted, and logs every abuse refusal,
 * whether the decider made it (country, cooldown, per-user caps, failed attempts) or the limiter did.
 */

/** The names refusals are logged under (stable; the `limit` field of the log line). */
export type AbuseLimit = "code_attempts" | "country" | "resend_cooldown" | "sends_per_user" | "sends_per_number" | "sends_per_address";

const LIMIT_OF_ERROR = new Map<string, AbuseLimit>([
  [Errors.codeAttemptsExhausted.id, "code_attempts"],
  [Errors.phoneCountryNotAllowed.id, "country"],
  [Errors.sendCooldown.id, "resend_cooldown"],
  [Errors.sendCapUser.id, "sends_per_user"],
  [Errors.sendCapNumber.id, "sends_per_number"],
  [Errors.sendCapAddress.id, "sends_per_address"],
]);

/** The limit behind an error, when it is an abuse refusal. */
export function abuseLimitOf(error: DomainError): AbuseLimit | undefined {
  return LIMIT_OF_ERROR.get(error.id);
}

export interface SharedSendCaps {
  readonly perNumber: readonly SendCap[];
  readonly perAddress: readonly SendCap[];
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

export interface SendGuardOptions {
  readonly limiter: SendLimiter;
  readonly caps: SharedSendCaps;
  readonly logger: Logger;
}

const NUMBER_PREFIX = "number:";
const ADDRESS_PREFIX = "address:";

export class SendGuard {
  constructor(private readonly options: SendGuardOptions) {}

  /**
   * Reserves one send under the shared caps; resolves with the reservation id (undefined when no cap applies)
   * or throws the ResourceExhausted DomainError of the refusing cap, with its RetryInfo delay.
   */
  async reserve(send: CodeSend, now: Date): Promise<string | undefined> {
    const keys: LimitedKey[] = [];
    const { perNumber, perAddress } = this.options.caps;
    if (perNumber.length > 0) keys.push({ key: NUMBER_PREFIX + send.phone, caps: perNumber });
    if (perAddress.length > 0 && send.clientAddress) keys.push({ key: ADDRESS_PREFIX + addressBucket(send.clientAddress), caps: perAddress });
    if (keys.length === 0) return undefined;
    const reservation = await this.options.limiter.reserve(keys, now);
    if (reservation.allowed) return reservation.id;
    const error: ErrorDefinition = reservation.key.startsWith(NUMBER_PREFIX) ? Errors.sendCapNumber : Errors.sendCapAddress;
    throw new DomainError(error, { retryAfterSeconds: reservation.retryAfterSeconds });
  }

  /** Gives back a reservation whose send did not happen. */
  async release(id: string | undefined): Promise<void> {
    if (id !== undefined) await this.options.limiter.release(id);
  }

  /**
   * Logs (warn) `error` when it is an abuse refusal; other errors are not this guard's business. Counting is
   * done on the wire side (myphone_abuse_refusals_total, src/server/rpc-telemetry.ts), per error id.
   */
  refused(error: DomainError, context: RefusalContext): void {
    const limit = abuseLimitOf(error);
    if (!limit) return;
    // Never the command itself: a VerifyPhone command carries the code.
    this.options.logger.warn(
      {
        limit,
        errorId: error.id,
        userId: context.userId,
        command: context.command,
        clientAddress: context.clientAddress,
        retryAfterSeconds: error.retryAfterSeconds,
      },
      "abuse limit refused a request",
    );
  }
}

/**
 * What a client address is counted as: an IPv4 address as is, an IPv6 address by its /64 network, since one
 * subscriber usually gets a whole /64 and could otherwise rotate through addresses for free.
 */
export function addressBucket(address: string): string {
  const plain = address.split("%", 1)[0]!;
  if (isIP(plain) !== 6) return plain;
  const groups = ipv6Groups(plain);
  return `${groups.slice(0, 4).map((g) => g.toString(16)).join(":")}::/64`;
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
