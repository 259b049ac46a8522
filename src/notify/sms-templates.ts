import { readFileSync } from "node:fs";

/**
 * SMS texts per language, in ZITADEL's Go-template style (`{{.Code}}`). The English text keeps ZITADEL's
 * VerifyPhone wording (with "phone number" spelled correctly) and, like the others, ends with the code.
 */
export const BUILT_IN_SMS_TEMPLATES: Readonly<Record<string, string>> = {
  en: "Hello {{.DisplayName}}, a new phone number has been added. Please use the following code to verify it {{.Code}}",
  de: "Hallo {{.DisplayName}}, eine neue Telefonnummer wurde hinzugefügt. Bitte verwende den folgenden Code, um sie zu bestätigen: {{.Code}}",
  fr: "Bonjour {{.DisplayName}}, un nouveau numéro de téléphone a été ajouté. Veuillez utiliser le code suivant pour le vérifier : {{.Code}}",
  it: "Ciao {{.DisplayName}}, è stato aggiunto un nuovo numero di telefono. Usa il seguente codice per verificarlo: {{.Code}}",
};

/** The values a template may name. */
export interface SmsTemplateValues {
  readonly Code: string;
  readonly DisplayName: string;
  readonly UserName: string;
}

const PLACEHOLDER = /\{\{\s*\.(\w+)\s*\}\}/g;
const KNOWN_PLACEHOLDERS: ReadonlySet<string> = new Set<keyof SmsTemplateValues>(["Code", "DisplayName", "UserName"]);
const LANGUAGE_TAG = /^[a-z]{2,3}(-[a-z0-9]{2,8})*$/;

/** Fills `{{.Name}}` placeholders from `values`. */
export function renderSmsTemplate(template: string, values: SmsTemplateValues): string {
  return template.replace(PLACEHOLDER, (_, name: string) => (values as unknown as Record<string, string>)[name] ?? "");
}

/** Why a template cannot be used, or undefined when it can: it must show the code and name only known values. */
export function templateProblem(template: string): string | undefined {
  const names = [...template.matchAll(PLACEHOLDER)].map((match) => match[1]!);
  if (!names.includes("Code")) return "has no {{.Code}}";
  const unknown = names.filter((name) => !KNOWN_PLACEHOLDERS.has(name));
  if (unknown.length > 0) return `names unknown values ${unknown.map((name) => `{{.${name}}}`).join(", ")} (known: ${[...KNOWN_PLACEHOLDERS].join(", ")})`;
  return undefined;
}

/** Lower-cases a language tag and turns `de_CH` into `de-ch`. */
export function normaliseLanguage(tag: string): string {
  return tag.trim().toLowerCase().replace(/_/g, "-");
}

/**
 * Reads an operator's template file: a JSON object from language tag to text. Throws an Error saying what is
 * wrong (the caller names the variable).
 */
export function readTemplateFile(file: string): Record<string, string> {
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
      const problem = templateProblem(text);
      if (problem) problems.push(`"${tag}" ${problem}`);
      else templates[language] = text;
    }
  }
  if (problems.length > 0) throw new Error(`${file}: ${problems.join("; ")}`);
  return templates;
}

/** A rendered SMS text and the language of the template it came from. */
export interface ComposedSms {
  readonly language: string;
  readonly text: string;
}

/**
 * Picks the template for a user's preferred language (exact tag, then its primary language, then the default)
 * and renders it, adding the WebOTP line (`@host #code`) when a host is configured.
 */
export class SmsTemplates {
  private readonly templates: ReadonlyMap<string, string>;

  /** Built-in templates with `overrides` on top; throws when the default language has no template. */
  constructor(
    readonly defaultLanguage: string,
    overrides: Readonly<Record<string, string>> = {},
    private readonly webOtpHost?: string,
  ) {
    const merged = new Map<string, string>();
    for (const [language, text] of Object.entries({ ...BUILT_IN_SMS_TEMPLATES, ...overrides })) merged.set(normaliseLanguage(language), text);
    this.templates = merged;
    this.defaultLanguage = normaliseLanguage(defaultLanguage);
    if (!merged.has(this.defaultLanguage)) {
      throw new Error(`no template for "${this.defaultLanguage}" (templates exist for ${[...merged.keys()].sort().join(", ")})`);
    }
  }

  /** The languages that have a template. */
  languages(): string[] {
    return [...this.templates.keys()].sort();
  }

  /** The template language used for a user whose preferred language is `preferred` ("" = none). */
  languageFor(preferred: string): string {
    const tag = normaliseLanguage(preferred);
    if (this.templates.has(tag)) return tag;
    const primary = tag.split("-")[0]!;
    if (this.templates.has(primary)) return primary;
    return this.defaultLanguage;
  }

  /** The SMS text for `values` in the user's language. */
  compose(preferredLanguage: string, values: SmsTemplateValues): ComposedSms {
    const language = this.languageFor(preferredLanguage);
    let text = renderSmsTemplate(this.templates.get(language)!, values);
    // WebOTP (WICG sms-one-time-codes): the last line is "@host #code"; the blank line keeps it apart from the prose.
    if (this.webOtpHost) text += `\n\n@${this.webOtpHost} #${values.Code}`;
    return { language, text };
  }
}
