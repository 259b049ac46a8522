/**
 * Language tags as myphone matches them, for SMS texts and error messages alike: lower case, `_` read as `-`,
 * an exact tag first, then its primary language (`de-CH` finds `de`).
 */

/** The languages ZITADEL ships its texts in (internal/static/i18n and internal/notification/static/i18n). */
export const ZITADEL_LANGUAGES = [
  "ar",
  "bg",
  "cs",
  "de",
  "en",
  "es",
  "fr",
  "hu",
  "id",
  "it",
  "ja",
  "ko",
  "mk",
  "nl",
  "pl",
  "pt",
  "ro",
  "ru",
  "sv",
  "tr",
  "uk",
  "zh",
] as const;

/** One of ZITADEL_LANGUAGES. */
export type ZitadelLanguage = (typeof ZITADEL_LANGUAGES)[number];

/** A BCP 47-ish tag as myphone stores and compares it: `de`, `de-ch`, `zh-hant-tw`. */
export const LANGUAGE_TAG = /^[a-z]{2,3}(-[a-z0-9]{2,8})*$/;

/** Lower-cases a language tag and turns `de_CH` into `de-ch`. */
export function normaliseLanguage(tag: string): string {
  return tag.trim().toLowerCase().replace(/_/g, "-");
}

/** The first of `candidates` (most wanted first) that `available` has, exactly or by primary language. */
export function pickLanguage(candidates: Iterable<string>, available: ReadonlySet<string>): string | undefined {
  for (const candidate of candidates) {
    const tag = normaliseLanguage(candidate);
    if (tag === "") continue;
    if (available.has(tag)) return tag;
    const primary = tag.split("-")[0]!;
    if (available.has(primary)) return primary;
  }
  return undefined;
}
