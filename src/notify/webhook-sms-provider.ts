import { Webhook } from "standardwebhooks";
import { PermanentSmsError, RetryLaterSmsError, retryAfterMs, type SmsMessage, type SmsProvider } from "./sms-provider.js";

/** The event type ZITADEL's HTTP SMS provider reports for phone verification codes. */
export const PHONE_CODE_EVENT_TYPE = "user.human.phone.code.added";

export interface WebhookSmsProviderOptions {
  /** Endpoint; user and password in it become HTTP Basic auth. */
  readonly url: string;
  /** Standard Webhooks secret (`whsec_...`); unset: calls are not signed. */
  readonly secret?: string;
  readonly timeoutMs: number;
  /** Sent as `args.domain` (ZITADEL sends the requested domain); the WebOTP host when configured. */
  readonly domain?: string;
  /** `contextInfo.provider` of the body. */
  readonly providerId?: string;
  readonly providerDescription?: string;
}

/** The JSON body ZITADEL's HTTP SMS provider posts (SPEC section 6), so existing receivers work unchanged. */
export interface WebhookSmsBody {
  readonly contextInfo: {
    readonly recipientPhoneNumber: string;
    readonly eventType: string;
    readonly provider: { readonly id: string; readonly description: string };
  };
  readonly templateData: { readonly Text: string };
  readonly args: Readonly<Record<string, string>>;
}

/** Builds the ZITADEL-compatible body: template values go to `args` with lower-camel-case names, like ZITADEL's. */
export function webhookSmsBody(message: SmsMessage, options: Pick<WebhookSmsProviderOptions, "domain" | "providerId" | "providerDescription">): WebhookSmsBody {
  const args: Record<string, string> = {};
  for (const [name, value] of Object.entries(message.values)) args[name.charAt(0).toLowerCase() + name.slice(1)] = value;
  Object.assign(args, { code: message.code, lastPhone: message.to, preferredLanguage: message.language });
  if (options.domain) args.domain = options.domain;
  return {
    contextInfo: {
      recipientPhoneNumber: message.to,
      eventType: PHONE_CODE_EVENT_TYPE,
      provider: { id: options.providerId ?? "webhook", description: options.providerDescription ?? "myphone webhook SMS provider" },
    },
    templateData: { Text: message.text },
    args,
  };
}

/** 4xx answers that say "not now" rather than "never": retried like 5xx. */
const RETRYABLE_CLIENT_STATUSES = new Set([408, 409, 425, 429]);

/**
 * Posts each SMS as ZITADEL's JSON body to an HTTP endpoint, signed per Standard Webhooks when a secret is set.
 * `webhook-id` is the job's idempotency key, the same on every retry, so the receiver can drop duplicates.
 * 2xx = accepted; 408/409/425/429 and 5xx, timeouts and connection errors are retried; other 4xx and 3xx cancel.
 */
export class WebhookSmsProvider implements SmsProvider {
  readonly name = "webhook";
  private readonly endpoint: URL;
  private readonly authorization: string | undefined;
  private readonly signer: Webhook | undefined;

  constructor(private readonly options: WebhookSmsProviderOptions) {
    const endpoint = new URL(options.url);
    if (endpoint.username !== "" || endpoint.password !== "") {
      const credentials = `${decodeURIComponent(endpoint.username)}:${decodeURIComponent(endpoint.password)}`;
      this.authorization = `Basic ${Buffer.from(credentials, "utf8").toString("base64")}`;
      // fetch refuses URLs with credentials; they travel in the header instead.
      endpoint.username = "";
      endpoint.password = "";
    }
    this.endpoint = endpoint;
    this.signer = options.secret ? new Webhook(options.secret) : undefined;
  }

  async send(message: SmsMessage): Promise<void> {
    const body = JSON.stringify(webhookSmsBody(message, this.options));
    const timestamp = new Date();
    const headers: Record<string, string> = {
      "content-type": "application/json",
      "user-agent": "myphone",
      "webhook-id": message.idempotencyKey,
      "webhook-timestamp": String(Math.floor(timestamp.getTime() / 1000)),
    };
    // Signed per attempt: the timestamp is part of the signature and receivers reject old ones.
    if (this.signer) headers["webhook-signature"] = this.signer.sign(message.idempotencyKey, timestamp, body);
    if (this.authorization) headers.authorization = this.authorization;

    let response: Response;
    try {
      response = await fetch(this.endpoint, { method: "POST", headers, body, redirect: "manual", signal: AbortSignal.timeout(this.options.timeoutMs) });
      // Read and dropped: lets the connection be reused; never logged, since a receiver may echo the code.
      await response.arrayBuffer();
    } catch (error) {
      throw new Error(`webhook call failed: ${describeFetchFailure(error, this.options.timeoutMs)}`);
    }
    if (response.ok) return;
    const status = response.status;
    if (status >= 500 || RETRYABLE_CLIENT_STATUSES.has(status)) {
      const wait = retryAfterMs(response.headers.get("retry-after"));
      const message = `webhook answered HTTP ${status}`;
      throw wait === undefined ? new Error(message) : new RetryLaterSmsError(message, wait);
    }
    if (status >= 300 && status < 400) throw new PermanentSmsError(`webhook answered a redirect (HTTP ${status}); configure the final URL`);
    throw new PermanentSmsError(`webhook refused the message (HTTP ${status}); not retried`);
  }
}

/** A fetch failure in a few words, without the URL (it may carry credentials or a token). */
export function describeFetchFailure(error: unknown, timeoutMs: number): string {
  // Duck-typed: the timeout arrives as a DOMException, which is not an Error of every realm.
  const { name, cause } = (typeof error === "object" && error !== null ? error : {}) as { name?: unknown; cause?: { code?: unknown } };
  if (name === "TimeoutError" || name === "AbortError") return `no answer within ${timeoutMs} ms`;
  if (cause && typeof cause.code === "string") return cause.code;
  return typeof name === "string" ? name : "unknown error";
}
