import {
  PermanentSmsError,
  redactCode,
  RetryLaterSmsError,
  retryAfterMs,
  type SmsMessage,
  type SmsProvider,
} from "./sms-provider.js";
import { describeFetchFailure } from "./webhook-sms-provider.js";

export interface TwilioSmsProviderOptions {
  readonly accountSid: string;
  readonly authToken: string;
  /** Sender number, short code or alphanumeric sender id; needed unless a messaging service picks the sender. */
  readonly from?: string;
  readonly messagingServiceSid?: string;
  /** `https://api.twilio.com`, or a local fake in tests. */
  readonly baseUrl: string;
  readonly timeoutMs: number;
}

/**
 * Twilio errors about the recipient, which no retry changes, so the job is cancelled (twilio.com/docs/api/errors):
 * bad, short-code, unverified (trial), STOP-ed, unreachable, non-mobile or landline `To`, or its region not enabled.
 * The rest is retried: 429, 5xx, timeouts, and account or sender errors an operator can fix before attempts run out.
 */
export const TWILIO_CANCEL_CODES: ReadonlySet<number> = new Set([
  21211, 21265, 21408, 21608, 21610, 21612, 21614, 21635,
]);

/** Characters of Twilio's error message kept in the job's error and the logs. */
const MAX_QUOTED_ERROR_CHARS = 200;

/** Twilio's REST error body. */
export interface TwilioError {
  readonly code?: number;
  readonly message?: string;
  readonly status?: number;
}

/**
 * Sends through Twilio's Messages API. The job's key travels as `I-Twilio-Idempotency-Token`, but the Messages API
 * does not document deduplicating on it, so delivery stays at-least-once after a crash.
 */
export class TwilioSmsProvider implements SmsProvider {
  readonly name = "twilio";
  private readonly endpoint: URL;
  private readonly authorization: string;

  constructor(private readonly options: TwilioSmsProviderOptions) {
    const base = options.baseUrl.replace(/\/+$/, "");
    this.endpoint = new URL(`${base}/2010-04-01/Accounts/${encodeURIComponent(options.accountSid)}/Messages.json`);
    this.authorization = twilioAuthorization(options.accountSid, options.authToken);
  }

  async send(message: SmsMessage): Promise<void> {
    const form = new URLSearchParams({ To: message.to, Body: message.text });
    if (this.options.from) form.set("From", this.options.from);
    if (this.options.messagingServiceSid) form.set("MessagingServiceSid", this.options.messagingServiceSid);
    const answer = await postTwilioForm(this.endpoint, form, {
      authorization: this.authorization,
      idempotencyKey: message.idempotencyKey,
      timeoutMs: this.options.timeoutMs,
      label: "twilio",
    });
    if (answer.response.ok) return;
    // Twilio's message may quote the Body, code included.
    throw twilioFailure("twilio", answer, TWILIO_CANCEL_CODES, message.code);
  }
}

/** Twilio's HTTP Basic credentials: account SID and auth token. */
export function twilioAuthorization(accountSid: string, authToken: string): string {
  return `Basic ${Buffer.from(`${accountSid}:${authToken}`, "utf8").toString("base64")}`;
}

/** A Twilio answer: the response and its body text (read whole, so the connection can be reused). */
export interface TwilioAnswer {
  readonly response: Response;
  readonly text: string;
  readonly error: TwilioError;
}

/** POSTs a form to Twilio; network failures and timeouts throw naming `label`, never the URL (it names the account). */
export async function postTwilioForm(
  url: URL,
  form: URLSearchParams,
  options: {
    readonly authorization: string;
    readonly idempotencyKey?: string;
    readonly timeoutMs: number;
    readonly label: string;
  },
): Promise<TwilioAnswer> {
  const headers: Record<string, string> = {
    authorization: options.authorization,
    "content-type": "application/x-www-form-urlencoded",
    accept: "application/json",
    "user-agent": "myphone",
  };
  if (options.idempotencyKey) headers["i-twilio-idempotency-token"] = options.idempotencyKey;
  try {
    const response = await fetch(url, {
      method: "POST",
      headers,
      body: form.toString(),
      redirect: "manual",
      signal: AbortSignal.timeout(options.timeoutMs),
    });
    const text = await response.text();
    return { response, text, error: response.ok ? {} : parseTwilioError(text) };
  } catch (error) {
    throw new Error(`${options.label} call failed: ${describeFetchFailure(error, options.timeoutMs)}`);
  }
}

/**
 * The error a failed Twilio answer means for an SMS job: cancelled for `cancelCodes`, else retried (honouring
 * Retry-After). Twilio's message is quoted with `code` redacted, then cut.
 */
export function twilioFailure(
  label: string,
  answer: TwilioAnswer,
  cancelCodes: ReadonlySet<number>,
  code?: string,
): Error {
  const { response, error } = answer;
  const quoted = error.message ? `: ${redactCode(error.message, code, MAX_QUOTED_ERROR_CHARS)}` : "";
  const described = `${label} answered HTTP ${response.status}${error.code ? ` with error ${error.code}` : ""}${quoted}`;
  if (error.code !== undefined && cancelCodes.has(error.code))
    return new PermanentSmsError(`${described}; not retried`);
  const wait = retryAfterMs(response.headers.get("retry-after"));
  return wait === undefined ? new Error(described) : new RetryLaterSmsError(described, wait);
}

/** The fields of Twilio's error body, as far as they are there. */
export function parseTwilioError(text: string): TwilioError {
  try {
    const parsed = JSON.parse(text) as unknown;
    if (typeof parsed !== "object" || parsed === null) return {};
    const { code, message, status } = parsed as Record<string, unknown>;
    return {
      code: typeof code === "number" ? code : undefined,
      message: typeof message === "string" ? message : undefined,
      status: typeof status === "number" ? status : undefined,
    };
  } catch {
    return {};
  }
}
