import type { Logger } from "../logger.js";
import type { SmsMessage, SmsProvider } from "./sms-provider.js";

/**
 * Development provider: one JSON log line per SMS with recipient and text. The text contains the code on
 * purpose (that is how a developer reads it); never use this provider in production.
 */
export class ConsoleSmsProvider implements SmsProvider {
  readonly name = "console";

  constructor(private readonly logger: Logger) {}

  async send(message: SmsMessage): Promise<void> {
    // Logged under `sms`, not `code`, so the logger's redaction of `code` fields does not hide the text.
    this.logger.info(
      { sms: { provider: this.name, to: message.to, text: message.text, id: message.idempotencyKey } },
      "sms",
    );
  }
}

/** Drops every message; codes are still created and can be verified if obtained another way. */
export class NoSmsProvider implements SmsProvider {
  readonly name = "none";

  async send(): Promise<void> {}
}
