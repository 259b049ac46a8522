import type { ExternalCodeChecker } from "../domain/external-code-service.js";
import type { SmsTemplateValues } from "./sms-templates.js";

/** One SMS to deliver. `idempotencyKey` is stable across retries of the same job, for providers that dedupe. */
export interface SmsMessage {
  /** Recipient in E.164. */
  readonly to: string;
  /** The rendered text, code included. */
  readonly text: string;
  readonly idempotencyKey: string;
  /** The verification code alone, for providers that pass it on separately (the webhook's `args.code`). */
  readonly code: string;
  /** Language of the template the text was rendered from. */
  readonly language: string;
  /** How long the code lives (the webhook's `args.expiry`). */
  readonly expiryMs: number;
  /** Every template variable's value for this SMS (ZITADEL's names: `Code`, `UserName`, `OrgID`, ...). */
  readonly values: SmsTemplateValues;
}

/** A verification to start: the service makes the code and sends it to `to`. */
export interface VerificationStart {
  readonly to: string;
  readonly idempotencyKey: string;
}

/** A provider that generates, sends and checks codes itself (Twilio Verify). */
export interface VerificationService extends ExternalCodeChecker {
  /** Starts a verification; resolves with the service's id of it once the service accepted it. */
  startVerification(start: VerificationStart): Promise<{ readonly verificationId: string }>;
}

/** The port every SMS gateway adapter implements. Resolves once the provider accepted the message. */
export interface SmsProvider {
  readonly name: string;
  send(message: SmsMessage): Promise<void>;
  /** Set when the provider makes the codes itself: code events then name it, and it sends and checks them. */
  readonly verification?: VerificationService;
}

/** A failure retrying cannot fix (bad number, recipient opted out, rejected by policy): the job is dead at once. */
export class PermanentSmsError extends Error {
  override name = "PermanentSmsError";
}

/** A failure the provider asked us to retry no sooner than `retryAfterMs` from now (429 or 503 with Retry-After). */
export class RetryLaterSmsError extends Error {
  override name = "RetryLaterSmsError";

  constructor(
    message: string,
    readonly retryAfterMs: number,
  ) {
    super(message);
  }
}

/** An HTTP Retry-After header (seconds or an HTTP date) as milliseconds from now; undefined when absent or bad. */
export function retryAfterMs(header: string | null, now = Date.now()): number | undefined {
  if (header === null || header.trim() === "") return undefined;
  if (/^\d+$/.test(header.trim())) return Number(header.trim()) * 1000;
  const date = Date.parse(header);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/**
 * `text` with every occurrence of `code` replaced by `[code]`, then cut to `maxChars`. Redacting comes first:
 * a cut through a code would leave a fragment no later redaction recognises (`…verify it BQD`).
 */
export function redactCode(text: string, code: string | undefined, maxChars = Infinity): string {
  const redacted = code ? text.split(code).join("[code]") : text;
  return redacted.length > maxChars ? redacted.slice(0, maxChars) : redacted;
}
