import { CodeServiceUnavailableError } from "../domain/external-code-service.js";
import type { ExternalCodeCheck, ExternalCodeVerdict } from "../domain/phone-decider.js";
import {
  PermanentSmsError,
  type SmsProvider,
  type VerificationService,
  type VerificationStart,
} from "./sms-provider.js";
import { postTwilioForm, twilioAuthorization, twilioFailure, type TwilioAnswer } from "./twilio-sms-provider.js";

export interface TwilioVerifyProviderOptions {
  readonly accountSid: string;
  readonly authToken: string;
  /** The Verify service (`VA…`); it makes, sends and checks the codes, and names them in the code events. */
  readonly serviceSid: string;
  /** `https://verify.twilio.com`, or a local fake in tests. */
  readonly baseUrl: string;
  readonly timeoutMs: number;
}

/**
 * Errors starting a verification that no retry fixes (https://www.twilio.com/docs/api/errors/<code>): bad `To`,
 * Twilio's send limit per verification (ZITADEL cancels on it too), landline, Fraud Guard, geo-permissions, and the
 * Messages API's recipient errors. Everything else is retried.
 */
export const TWILIO_VERIFY_CANCEL_CODES: ReadonlySet<number> = new Set([
  60200, 60203, 60205, 60410, 60605, 21211, 21408, 21610, 21614,
]);

/** Twilio's "max check attempts reached" (HTTP 429): the verification is spent, the code counts as wrong. */
const MAX_CHECK_ATTEMPTS = 60202;
const VERIFICATION_SID = /^VE[0-9a-fA-F]{32}$/;

/**
 * Twilio Verify as ZITADEL uses it (internal/notification/channels/twilio): Twilio makes, sends and checks the code;
 * the verification's `VE…` sid goes into `code.sent`, and checks name it (or `To` before it is known).
 */
export class TwilioVerifyProvider implements SmsProvider, VerificationService {
  readonly name = "twilio-verify";
  readonly generatorId: string;
  readonly verification: VerificationService = this;
  private readonly verifications: URL;
  private readonly checks: URL;
  private readonly authorization: string;

  constructor(private readonly options: TwilioVerifyProviderOptions) {
    const service = `${options.baseUrl.replace(/\/+$/, "")}/v2/Services/${encodeURIComponent(options.serviceSid)}`;
    this.verifications = new URL(`${service}/Verifications`);
    this.checks = new URL(`${service}/VerificationCheck`);
    this.authorization = twilioAuthorization(options.accountSid, options.authToken);
    this.generatorId = options.serviceSid;
  }

  /** Codes myphone made (before the provider was switched to Twilio Verify) cannot go through Verify. */
  async send(): Promise<void> {
    throw new PermanentSmsError(
      "twilio-verify sends only codes Twilio makes; this code was made by myphone (the user must request a new one)",
    );
  }

  async startVerification(start: VerificationStart): Promise<{ verificationId: string }> {
    const form = new URLSearchParams({ To: start.to, Channel: "sms" });
    const answer = await this.post(this.verifications, form, start.idempotencyKey, "twilio verify");
    if (!answer.response.ok) throw twilioFailure("twilio verify", answer, TWILIO_VERIFY_CANCEL_CODES);
    const sid = jsonField(answer.text, "sid");
    if (!sid || !VERIFICATION_SID.test(sid))
      throw new Error(`twilio verify answered HTTP ${answer.response.status} without a verification sid`);
    return { verificationId: sid };
  }

  async check(check: ExternalCodeCheck): Promise<ExternalCodeVerdict> {
    const form = new URLSearchParams({ Code: check.code });
    if (check.verificationId) form.set("VerificationSid", check.verificationId);
    else form.set("To", check.phone);
    let answer: TwilioAnswer;
    try {
      answer = await this.post(this.checks, form, undefined, "twilio verify check");
    } catch (error) {
      throw new CodeServiceUnavailableError((error as Error).message);
    }
    const { status } = answer.response;
    if (answer.response.ok) return jsonField(answer.text, "status") === "approved" ? "approved" : "rejected";
    // 404: no pending verification (expired, already approved, never started); 400: a code Twilio cannot take;
    // 60202: five wrong checks spent it. All mean "this code does not verify".
    if (status === 404 || status === 400 || answer.error.code === MAX_CHECK_ATTEMPTS) return "rejected";
    throw new CodeServiceUnavailableError(
      `twilio verify check answered HTTP ${status}${answer.error.code ? ` with error ${answer.error.code}` : ""}`,
    );
  }

  private post(
    url: URL,
    form: URLSearchParams,
    idempotencyKey: string | undefined,
    label: string,
  ): Promise<TwilioAnswer> {
    return postTwilioForm(url, form, {
      authorization: this.authorization,
      idempotencyKey,
      timeoutMs: this.options.timeoutMs,
      label,
    });
  }
}

/** A string field of a JSON object body, if the body is one and has it. */
function jsonField(text: string, name: string): string | undefined {
  try {
    const value = (JSON.parse(text) as Record<string, unknown> | null)?.[name];
    return typeof value === "string" ? value : undefined;
  } catch {
    return undefined;
  }
}
