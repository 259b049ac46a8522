import { PermanentSmsError, redactCode, RetryLaterSmsError, retryAfterMs, type SmsMessage, type SmsProvider } from "./sms-provider.js";
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
 * Twilio error codes that mean this message can never be sent, so the job is cancelled instead of retried.
 * All concern the recipient, which no retry changes (https://www.twilio.com/docs/api/errors/<code>):
 * - 21211 invalid 'To' phone number
 * - 21265 'To' number cannot be a short code
 * - 21408 permission to send an SMS has not been enabled for the region (the destination country)
 * - 21608 'To' number not verified (trial accounts may only message verified numbers)
 * - 21610 attempt to send to an unsubscribed recipient (the recipient replied STOP)
 * - 21612 the 'To' number cannot be reached by SMS from this sender
 * - 21614 'To' number is not a valid mobile number
 * - 21635 'To' number cannot be a landline
 * Everything else is retried with backoff until the attempt limit: 429 / 20429 (Twilio: "never processed and
 * always safe to retry"), 5xx, timeouts, and 4xx about our own account or sender (20003 authentication, 21606
 * 'From' not SMS-capable), which an operator can fix before the job runs out of attempts.
 */
export const TWILIO_CANCEL_CODES: ReadonlySet<number> = new Set([21211, 21265, 21408, 21608, 21610, 21612, 21614, 21635]);

/** Characters of Twilio's error message kept in the job's error and the logs. */
const MAX_QUOTED_ERROR_CHARS = 200;

/** Twilio's REST error body. */
interface TwilioError {
  readonly code?: number;
  readonly message?: string;
  readonly status?: number;
}

/**
 * Sends through Twilio's Messages API: `POST {base}/2010-04-01/Accounts/{sid}/Messages.json`, form-encoded
 * `To`, `Body` and `From` and/or `MessagingServiceSid`, HTTP Basic auth with SID and token. The job's idempotency
 * key travels as `I-Twilio-Idempotency-Token`, the header Twilio uses for its own idempotency tokens; the
 * Messages API does not document deduplicating on it, so delivery stays at-least-once after a crash.
 */
export class TwilioSmsProvider implements SmsProvider {
  readonly name = "twilio";
  private readonly endpoint: URL;
  private readonly authorization: string;

  constructor(private readonly options: TwilioSmsProviderOptions) {
    const base = options.baseUrl.replace(/\/+$/, "");
    this.endpoint = new URL(`${base}/2010-04-01/Accounts/${encodeURIComponent(options.accountSid)}/Messages.json`);
    this.authorization = `Basic ${Buffer.from(`${options.accountSid}:${options.authToken}`, "utf8").toString("base64")}`;
  }

  async send(message: SmsMessage): Promise<void> {
    const form = new URLSearchParams({ To: message.to, Body: message.text });
    if (this.options.from) form.set("From", this.options.from);
    if (this.options.messagingServiceSid) form.set("MessagingServiceSid", this.options.messagingServiceSid);

    let response: Response;
    let text: string;
    try {
      response = await fetch(this.endpoint, {
        method: "POST",
        headers: {
          authorization: this.authorization,
          "content-type": "application/x-www-form-urlencoded",
          accept: "application/json",
          "user-agent": "myphone",
          "i-twilio-idempotency-token": message.idempotencyKey,
        },
        body: form.toString(),
        redirect: "manual",
        signal: AbortSignal.timeout(this.options.timeoutMs),
      });
      text = await response.text();
    } catch (error) {
      throw new Error(`twilio call failed: ${describeFetchFailure(error, this.options.timeoutMs)}`);
    }
    if (response.ok) return;

    const error = parseTwilioError(text);
    // Twilio's message may quote the Body, code included.
    const quoted = error.message ? `: ${redactCode(error.message, message.code, MAX_QUOTED_ERROR_CHARS)}` : "";
    const described = `twilio answered HTTP ${response.status}${error.code ? ` with error ${error.code}` : ""}${quoted}`;
    if (error.code !== undefined && TWILIO_CANCEL_CODES.has(error.code)) throw new PermanentSmsError(`${described}; not retried`);
    const wait = retryAfterMs(response.headers.get("retry-after"));
    throw wait === undefined ? new Error(described) : new RetryLaterSmsError(described, wait);
  }
}

function parseTwilioError(text: string): TwilioError {
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
