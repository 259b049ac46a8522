import { createHmac } from "node:crypto";
import { Webhook } from "standardwebhooks";
import {
  PermanentSmsError,
  RetryLaterSmsError,
  retryAfterMs,
  type SmsMessage,
  type SmsProvider,
} from "./sms-provider.js";
import { verifyPhoneTitle } from "./sms-texts.js";

/** The event type ZITADEL's HTTP SMS provider reports for phone verification codes. */
export const PHONE_CODE_EVENT_TYPE = "user.human.phone.code.added";

/** ZITADEL's signature header (pkg/actions/signing.go). */
export const ZITADEL_SIGNATURE_HEADER = "ZITADEL-Signature";

/** Signing: ZITADEL's `ZITADEL-Signature` with its signing key, or Standard Webhooks with a `whsec_` secret. */
export type WebhookSigning =
  | { readonly scheme: "zitadel"; readonly key: string }
  | { readonly scheme: "standard-webhooks"; readonly secret: string };

/** `templateData` keys: `zitadel` = camel case (`text`, ZITADEL since PR #8540), `capitalised` = Go's (`Text`). */
export type WebhookBodyShape = "zitadel" | "capitalised";

export interface WebhookSmsProviderOptions {
  /** Endpoint; user and password in it become HTTP Basic auth. */
  readonly url: string;
  /** Unset: calls are not signed. */
  readonly signing?: WebhookSigning;
  readonly body?: WebhookBodyShape;
  readonly timeoutMs: number;
  /** `contextInfo.provider` of the body. */
  readonly providerId?: string;
  readonly providerDescription?: string;
}

/** ZITADEL's defaults for texts without a label policy (internal/notification/templates/templateData.go). */
const DEFAULT_PRIMARY_COLOR = "#5282C1";
const DEFAULT_BACKGROUND_COLOR = "#fafafa";
const DEFAULT_FONT_COLOR = "#22292f";
const DEFAULT_FONT_FAMILY = "-apple-system, BlinkMacSystemFont, Segoe UI, Lato, Arial, Helvetica, sans-serif";

/**
 * The JSON body ZITADEL's HTTP SMS provider posts (internal/notification/types/user_phone.go); `args` has every
 * VerifyPhone variable, empty where myphone has no data, in Go's order (sorted map keys).
 */
export function webhookSmsBody(
  message: SmsMessage,
  options: Pick<WebhookSmsProviderOptions, "body" | "providerId" | "providerDescription"> = {},
): Record<string, unknown> {
  const v = message.values;
  const title = verifyPhoneTitle(message.language);
  const texts = { title, preHeader: title, subject: title, text: message.text, buttonText: title };
  const templateData =
    options.body === "capitalised"
      ? {
          Title: texts.title,
          PreHeader: texts.preHeader,
          Subject: texts.subject,
          Greeting: "",
          Text: texts.text,
          URL: "",
          ButtonText: texts.buttonText,
          PrimaryColor: DEFAULT_PRIMARY_COLOR,
          BackgroundColor: DEFAULT_BACKGROUND_COLOR,
          FontColor: DEFAULT_FONT_COLOR,
          LogoURL: "",
          FontURL: "",
          FontFaceFamily: "",
          FontFamily: DEFAULT_FONT_FAMILY,
          IncludeFooter: false,
          FooterText: "",
        }
      : {
          ...texts,
          primaryColor: DEFAULT_PRIMARY_COLOR,
          backgroundColor: DEFAULT_BACKGROUND_COLOR,
          fontColor: DEFAULT_FONT_COLOR,
          fontFamily: DEFAULT_FONT_FAMILY,
        };
  const args: Record<string, unknown> = {
    applicationName: "",
    authRequestID: "",
    changeDate: v.ChangeDate,
    code: v.Code,
    codeID: "",
    creationDate: v.CreationDate,
    displayName: v.DisplayName,
    domain: v.Domain,
    // A Go time.Duration in nanoseconds, as ZITADEL marshals it.
    expiry: message.expiryMs * 1_000_000,
    firstName: "",
    lastEmail: "",
    lastName: "",
    lastPhone: v.LastPhone,
    loginName: v.LoginName,
    loginNames: [v.LoginName],
    nickName: "",
    orgID: v.OrgID,
    origin: v.Origin,
    preferredLoginName: v.PreferredLoginName,
    sessionID: "",
    tempUsername: "",
    userID: v.UserID,
    userName: v.UserName,
    verifiedEmail: "",
    verifiedPhone: "",
  };
  return {
    contextInfo: {
      eventType: PHONE_CODE_EVENT_TYPE,
      provider: {
        id: options.providerId ?? "webhook",
        description: options.providerDescription ?? "myphone webhook SMS provider",
      },
      recipientPhoneNumber: message.to,
    },
    templateData,
    args,
  };
}

/**
 * ZITADEL's `ZITADEL-Signature` value: `t=<unix seconds>,v1=<hex HMAC-SHA256(key, "<t>.<body>")>`
 * (pkg/actions/signing.go ComputeSignatureHeader, one key).
 */
export function zitadelSignature(key: string, body: string, at: Date): string {
  const t = Math.floor(at.getTime() / 1000);
  return `t=${t},v1=${createHmac("sha256", key).update(`${t}.${body}`).digest("hex")}`;
}

/** 4xx answers that say "not now" rather than "never": retried like 5xx. */
const RETRYABLE_CLIENT_STATUSES = new Set([408, 409, 425, 429]);

/**
 * Posts each SMS as ZITADEL's JSON body, signed as configured; `webhook-id` is the job's idempotency key on every
 * retry, so the receiver can drop duplicates. 3xx and 4xx other than those above cancel; the rest are retried.
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
    this.signer = options.signing?.scheme === "standard-webhooks" ? new Webhook(options.signing.secret) : undefined;
  }

  async send(message: SmsMessage): Promise<void> {
    const body = JSON.stringify(webhookSmsBody(message, this.options));
    const timestamp = new Date();
    const headers: Record<string, string> = {
      "content-type": "application/json",
      "user-agent": "myphone",
      "webhook-id": message.idempotencyKey,
    };
    // Signed per attempt: the timestamp is part of the signature and receivers reject old ones.
    const signing = this.options.signing;
    if (signing?.scheme === "zitadel") {
      headers[ZITADEL_SIGNATURE_HEADER.toLowerCase()] = zitadelSignature(signing.key, body, timestamp);
    } else if (signing?.scheme === "standard-webhooks") {
      headers["webhook-timestamp"] = String(Math.floor(timestamp.getTime() / 1000));
      headers["webhook-signature"] = this.signer!.sign(message.idempotencyKey, timestamp, body);
    }
    if (this.authorization) headers.authorization = this.authorization;

    let response: Response;
    try {
      response = await fetch(this.endpoint, {
        method: "POST",
        headers,
        body,
        redirect: "manual",
        signal: AbortSignal.timeout(this.options.timeoutMs),
      });
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
    if (status >= 300 && status < 400)
      throw new PermanentSmsError(`webhook answered a redirect (HTTP ${status}); configure the final URL`);
    throw new PermanentSmsError(`webhook refused the message (HTTP ${status}); not retried`);
  }
}

/** A fetch failure in a few words, without the URL (it may carry credentials or a token). */
export function describeFetchFailure(error: unknown, timeoutMs: number): string {
  // Duck-typed: the timeout arrives as a DOMException, which is not an Error of every realm.
  const { name, cause } = (typeof error === "object" && error !== null ? error : {}) as {
    name?: unknown;
    cause?: { code?: unknown };
  };
  if (name === "TimeoutError" || name === "AbortError") return `no answer within ${timeoutMs} ms`;
  if (cause && typeof cause.code === "string") return cause.code;
  return typeof name === "string" ? name : "unknown error";
}
