import { readFileSync } from "node:fs";
import { LANGUAGE_TAG, normaliseLanguage, pickLanguage } from "../domain/language-tags.js";
import { BUILT_IN_SMS_TEMPLATES } from "./sms-texts.js";

export { BUILT_IN_SMS_TEMPLATES } from "./sms-texts.js";

/**
 * SMS texts per language in ZITADEL's Go-template style (`{{.Code}}`), with the template variables of ZITADEL's
 * VerifyPhone notification (internal/notification/types/user_email.go mapNotifyUserToArgs, domain/notification.go)
 * that myphone has data for.
 */

/** The variables a template may name, all of ZITADEL's that myphone has data for. */
export const TEMPLATE_VARIABLES = [
  "Code",
  "UserName",
  "DisplayName",
  "LoginName",
  "PreferredLoginName",
  "UserID",
  "OrgID",
  "LastPhone",
  "Expiry",
  "CreationDate",
  "ChangeDate",
  "Domain",
  "Origin",
] as const;

export type TemplateVariable = (typeof TEMPLATE_VARIABLES)[number];

/** The value of every variable for one SMS. */
export type SmsTemplateValues = Readonly<Record<TemplateVariable, string>>;

/** The values that come from the user and the code; Domain and Origin come from the configuration. */
export type UserTemplateValues = Omit<SmsTemplateValues, "Domain" | "Origin">;

/** ZITADEL's other variables: myphone keeps no such data (names, e-mail, sessions), so templates cannot use them. */
const ZITADEL_VARIABLES_WITHOUT_DATA: ReadonlySet<string> = new Set([
  "FirstName",
  "LastName",
  "NickName",
  "LastEmail",
  "VerifiedEmail",
  "VerifiedPhone",
  "LoginNames",
  "TempUsername",
  "ApplicationName",
  "CodeID",
  "SessionID",
  "AuthRequestID",
  "OTP",
]);

const PLACEHOLDER = /\{\{\s*\.(\w+)\s*\}\}/g;

/** Where the service is reached: ZITADEL's instance origin, for `{{.Origin}}` and `{{.Domain}}`. */
export interface SmsSite {
  /** `https://login.example.com`; unset: templates cannot name `{{.Origin}}`. */
  readonly origin?: string;
  /** `login.example.com` (the origin's host, else the WebOTP host); unset: templates cannot name `{{.Domain}}`. */
  readonly domain?: string;
  /** WebOTP host: each text gets the line `@host #code`. */
  readonly webOtpHost?: string;
}

/** Fills `{{.Name}}` placeholders from `values` (a name without a value renders empty). */
export function renderSmsTemplate(template: string, values: Partial<SmsTemplateValues>): string {
  return template.replace(PLACEHOLDER, (_, name: string) => (values as Record<string, string | undefined>)[name] ?? "");
}

/**
 * Why a template cannot be used, in one line, or undefined when it can: it must show the code and name only
 * variables myphone has a value for (`site` tells whether Domain and Origin have one).
 */
export function templateProblem(template: string, site: SmsSite = {}): string | undefined {
  const names = [...template.matchAll(PLACEHOLDER)].map((match) => match[1]!);
  if (!names.includes("Code")) return "has no {{.Code}}";
  for (const name of names) {
    if (name === "Origin" && !site.origin) return "names {{.Origin}}, which needs MYPHONE_PUBLIC_ORIGIN";
    if (name === "Domain" && !site.domain)
      return "names {{.Domain}}, which needs MYPHONE_PUBLIC_ORIGIN (or MYPHONE_WEBOTP_HOST)";
    if ((TEMPLATE_VARIABLES as readonly string[]).includes(name)) continue;
    const why = ZITADEL_VARIABLES_WITHOUT_DATA.has(name)
      ? "a ZITADEL variable myphone has no data for"
      : "not a template variable";
    return `names {{.${name}}}, ${why} (myphone has ${TEMPLATE_VARIABLES.join(", ")})`;
  }
  return undefined;
}

/**
 * Reads an operator's template file: a JSON object from language tag to text, each checked like the built-in ones.
 * Throws an Error saying what is wrong, one problem per line (the caller names the variable).
 */
export function readTemplateFile(file: string, site: SmsSite = {}): Record<string, string> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, "utf8"));
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? (error instanceof Error ? error.message : String(error));
    throw new Error(`cannot read ${file} as JSON (${reason})`);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new Error(`${file} must hold a JSON object like {"de": "... {{.Code}}"}`);
  }
  const templates: Record<string, string> = {};
  const problems: string[] = [];
  for (const [tag, text] of Object.entries(parsed)) {
    const language = normaliseLanguage(tag);
    if (!LANGUAGE_TAG.test(language)) problems.push(`"${tag}" is not a language tag`);
    else if (typeof text !== "string") problems.push(`"${tag}" must be a string`);
    else {
      const problem = templateProblem(text, site);
      if (problem) problems.push(`"${tag}" ${problem}`);
      else templates[language] = text;
    }
  }
  if (problems.length > 0) throw new Error(`${file}: ${problems.join("; ")}`);
  return templates;
}

/** A rendered SMS text, the language of the template it came from and every value it could use. */
export interface ComposedSms {
  readonly language: string;
  readonly text: string;
  readonly values: SmsTemplateValues;
}

/**
 * Picks the template for a user's preferred language (exact tag, then its primary language, then the default)
 * and renders it, adding the WebOTP line (`@host #code`) when a host is configured.
 */
export class SmsTemplates {
  private readonly templates: ReadonlyMap<string, string>;
  private readonly languageSet: ReadonlySet<string>;
  readonly defaultLanguage: string;

  /** Built-in templates with `overrides` on top; throws when the default language has no template. */
  constructor(
    defaultLanguage: string,
    overrides: Readonly<Record<string, string>> = {},
    private readonly site: SmsSite = {},
  ) {
    const merged = new Map<string, string>();
    for (const [language, text] of Object.entries({ ...BUILT_IN_SMS_TEMPLATES, ...overrides }))
      merged.set(normaliseLanguage(language), text);
    this.templates = merged;
    this.languageSet = new Set(merged.keys());
    this.defaultLanguage = normaliseLanguage(defaultLanguage);
    if (!merged.has(this.defaultLanguage)) {
      throw new Error(
        `no template for "${this.defaultLanguage}" (templates exist for ${[...merged.keys()].sort().join(", ")})`,
      );
    }
  }

  /** The languages that have a template. */
  languages(): string[] {
    return [...this.templates.keys()].sort();
  }

  /** The template language used for a user whose preferred language is `preferred` ("" = none). */
  languageFor(preferred: string): string {
    return pickLanguage([preferred], this.languageSet) ?? this.defaultLanguage;
  }

  /** The SMS text for `values` in the user's language. */
  compose(preferredLanguage: string, userValues: UserTemplateValues): ComposedSms {
    const language = this.languageFor(preferredLanguage);
    const values: SmsTemplateValues = { ...userValues, Domain: this.site.domain ?? "", Origin: this.site.origin ?? "" };
    let text = renderSmsTemplate(this.templates.get(language)!, values);
    // WebOTP (WICG sms-one-time-codes): the last line is "@host #code"; the blank line keeps it apart from the prose.
    if (this.site.webOtpHost) text += `\n\n@${this.site.webOtpHost} #${values.Code}`;
    return { language, text, values };
  }
}

/** A duration as Go's time.Duration prints it in ZITADEL's templates (`1h0m0s`, `10m0s`, `1m30s`, `500ms`). */
export function goDuration(ms: number): string {
  if (ms === 0) return "0s";
  if (ms < 1000) return `${ms}ms`;
  const hours = Math.floor(ms / 3_600_000);
  const minutes = Math.floor((ms % 3_600_000) / 60_000);
  const seconds = `${(ms % 60_000) / 1000}s`;
  if (hours > 0) return `${hours}h${minutes}m${seconds}`;
  return minutes > 0 ? `${minutes}m${seconds}` : seconds;
}
