/** ZITADEL's English VerifyPhone text (with "phone number" spelled correctly). */
export const DEFAULT_PHONE_CODE_TEMPLATE =
  "A new phone number has been added. Please use the following code to verify it {{.Code}}";

/** Fills a Go-template-style text: `{{.Name}}` is replaced by `values.Name` (unknown names become empty). */
export function renderSmsText(template: string, values: Readonly<Record<string, string>>): string {
  return template.replace(/\{\{\s*\.(\w+)\s*\}\}/g, (_, name: string) => values[name] ?? "");
}
