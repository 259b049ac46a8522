import { ConfigError, type Config } from "../config.js";
import type { Logger } from "../logger.js";
import { ConsoleSmsProvider, NoSmsProvider } from "../notify/console-sms-provider.js";
import type { SmsProvider } from "../notify/sms-provider.js";
import { SmsTemplates, readTemplateFile, type SmsSite } from "../notify/sms-templates.js";
import { TwilioSmsProvider } from "../notify/twilio-sms-provider.js";
import { TwilioVerifyProvider } from "../notify/twilio-verify-provider.js";
import { WebhookSmsProvider, type WebhookSigning } from "../notify/webhook-sms-provider.js";

/** The configured SMS provider and the templates its texts come from. */
export interface SmsDelivery {
  readonly provider: SmsProvider;
  readonly templates: SmsTemplates;
}

type SmsConfig = Pick<
  Config,
  | "MYPHONE_SMS_PROVIDER"
  | "MYPHONE_SMS_LEASE"
  | "MYPHONE_SMS_TIMEOUT"
  | "MYPHONE_SMS_WEBHOOK_URL"
  | "MYPHONE_SMS_WEBHOOK_SECRET"
  | "MYPHONE_SMS_WEBHOOK_SIGNING"
  | "MYPHONE_SMS_WEBHOOK_BODY"
  | "MYPHONE_TWILIO_ACCOUNT_SID"
  | "MYPHONE_TWILIO_AUTH_TOKEN"
  | "MYPHONE_TWILIO_FROM"
  | "MYPHONE_TWILIO_MESSAGING_SERVICE_SID"
  | "MYPHONE_TWILIO_BASE_URL"
  | "MYPHONE_TWILIO_VERIFY_SERVICE_SID"
  | "MYPHONE_TWILIO_VERIFY_BASE_URL"
  | "MYPHONE_PUBLIC_ORIGIN"
  | "MYPHONE_DEFAULT_LANGUAGE"
  | "MYPHONE_SMS_TEMPLATES"
  | "MYPHONE_WEBOTP_HOST"
>;

/**
 * The SMS provider and templates, checked now so a mistake stops start-up with the variable's name instead of
 * killing jobs later; the ConfigError names every problem at once.
 */
export function createSmsDelivery(config: SmsConfig, logger: Logger): SmsDelivery {
  const problems: string[] = [];
  const required = (name: keyof SmsConfig) => {
    if (config[name] === undefined)
      problems.push(`${name}: required when MYPHONE_SMS_PROVIDER=${config.MYPHONE_SMS_PROVIDER}`);
  };
  const provider = config.MYPHONE_SMS_PROVIDER;
  const remote = provider === "webhook" || provider === "twilio" || provider === "twilio-verify";
  if (provider === "webhook") required("MYPHONE_SMS_WEBHOOK_URL");
  if (provider === "twilio" || provider === "twilio-verify") {
    required("MYPHONE_TWILIO_ACCOUNT_SID");
    required("MYPHONE_TWILIO_AUTH_TOKEN");
  }
  if (
    provider === "twilio" &&
    config.MYPHONE_TWILIO_FROM === undefined &&
    config.MYPHONE_TWILIO_MESSAGING_SERVICE_SID === undefined
  ) {
    problems.push(
      "MYPHONE_TWILIO_FROM: required when MYPHONE_SMS_PROVIDER=twilio, unless MYPHONE_TWILIO_MESSAGING_SERVICE_SID is set",
    );
  }
  if (provider === "twilio-verify") required("MYPHONE_TWILIO_VERIFY_SERVICE_SID");
  // A lease shorter than the provider's timeout would let a second worker send the same code while the first waits.
  if (remote && config.MYPHONE_SMS_TIMEOUT >= config.MYPHONE_SMS_LEASE) {
    problems.push("MYPHONE_SMS_TIMEOUT: must be shorter than MYPHONE_SMS_LEASE");
  }

  const site = smsSiteOf(config);
  let overrides: Record<string, string> = {};
  if (config.MYPHONE_SMS_TEMPLATES !== undefined) {
    try {
      overrides = readTemplateFile(config.MYPHONE_SMS_TEMPLATES, site);
    } catch (error) {
      problems.push(`MYPHONE_SMS_TEMPLATES: ${(error as Error).message}`);
    }
  }
  let templates: SmsTemplates | undefined;
  try {
    templates = new SmsTemplates(config.MYPHONE_DEFAULT_LANGUAGE, overrides, site);
  } catch (error) {
    problems.push(`MYPHONE_DEFAULT_LANGUAGE: ${(error as Error).message}`);
  }

  if (problems.length > 0 || !templates) throw new ConfigError(`invalid configuration\n  ${problems.join("\n  ")}`);
  return { provider: providerFor(config, logger), templates };
}

/** Where users reach the service, for `{{.Origin}}`, `{{.Domain}}` and the WebOTP line. */
function smsSiteOf(config: SmsConfig): SmsSite {
  const origin = config.MYPHONE_PUBLIC_ORIGIN;
  // ZITADEL's Domain is the requested host without a port; without an origin the WebOTP host is the best we know.
  const domain = origin ? new URL(origin).hostname : config.MYPHONE_WEBOTP_HOST?.split(":")[0];
  return { origin, domain, webOtpHost: config.MYPHONE_WEBOTP_HOST };
}

/** The provider itself; settings were checked by the caller. */
function providerFor(config: SmsConfig, logger: Logger): SmsProvider {
  switch (config.MYPHONE_SMS_PROVIDER) {
    case "console":
      return new ConsoleSmsProvider(logger);
    case "none":
      return new NoSmsProvider();
    case "webhook":
      return new WebhookSmsProvider({
        url: config.MYPHONE_SMS_WEBHOOK_URL!,
        signing: webhookSigning(config),
        body: config.MYPHONE_SMS_WEBHOOK_BODY,
        timeoutMs: config.MYPHONE_SMS_TIMEOUT,
      });
    case "twilio":
      return new TwilioSmsProvider({
        accountSid: config.MYPHONE_TWILIO_ACCOUNT_SID!,
        authToken: config.MYPHONE_TWILIO_AUTH_TOKEN!,
        from: config.MYPHONE_TWILIO_FROM,
        messagingServiceSid: config.MYPHONE_TWILIO_MESSAGING_SERVICE_SID,
        baseUrl: config.MYPHONE_TWILIO_BASE_URL,
        timeoutMs: config.MYPHONE_SMS_TIMEOUT,
      });
    case "twilio-verify":
      return new TwilioVerifyProvider({
        accountSid: config.MYPHONE_TWILIO_ACCOUNT_SID!,
        authToken: config.MYPHONE_TWILIO_AUTH_TOKEN!,
        serviceSid: config.MYPHONE_TWILIO_VERIFY_SERVICE_SID!,
        baseUrl: config.MYPHONE_TWILIO_VERIFY_BASE_URL,
        timeoutMs: config.MYPHONE_SMS_TIMEOUT,
      });
  }
}

/** The webhook's signing scheme and key, when a key is set (its form was checked by loadConfig). */
function webhookSigning(config: SmsConfig): WebhookSigning | undefined {
  const secret = config.MYPHONE_SMS_WEBHOOK_SECRET;
  if (secret === undefined) return undefined;
  return config.MYPHONE_SMS_WEBHOOK_SIGNING === "zitadel"
    ? { scheme: "zitadel", key: secret }
    : { scheme: "standard-webhooks", secret };
}
