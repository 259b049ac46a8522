import type { StreamRequest, UnaryRequest } from "@connectrpc/connect";
import { ERROR_LANGUAGES } from "../domain/error-messages.js";
import { pickLanguage } from "../domain/language-tags.js";
import { callerKey } from "./caller-context.js";
import type { ErrorLanguage } from "./wire-errors.js";

export interface ErrorLanguageOptions {
  /** The caller's preferred language from their own events ("" = none); asked only when a call fails. */
  readonly preferredLanguageOf: (userId: string) => Promise<string>;
  /** The language when neither the user nor `Accept-Language` names a known one (ZITADEL: the instance default). */
  readonly defaultLanguage: string;
}

/**
 * ZITADEL's order for error texts (internal/i18n/translator.go, langsFromCtx): the user's preferred language, then
 * `Accept-Language` (every protocol carries it as is), then the default.
 */
export function errorLanguage(options: ErrorLanguageOptions): ErrorLanguage {
  const fallback = pickLanguage([options.defaultLanguage], ERROR_LANGUAGES) ?? "en";
  return async (request: UnaryRequest | StreamRequest) => {
    const candidates: string[] = [];
    const caller = request.contextValues.get(callerKey);
    if (caller) {
      // A failed read must not turn the answer into another error: the header and the default still apply.
      const preferred = await options.preferredLanguageOf(caller.userId).catch(() => "");
      if (preferred) candidates.push(preferred);
    }
    candidates.push(...acceptedLanguages(request.header.get("accept-language")));
    return pickLanguage(candidates, ERROR_LANGUAGES) ?? fallback;
  };
}

/** Longest Accept-Language value read; anything beyond is ignored (the header is the caller's to make up). */
const MAX_ACCEPT_LANGUAGE_LENGTH = 512;

/**
 * The tags of an `Accept-Language` header (RFC 9110 12.5.4), most wanted first: ordered by quality value, ties in
 * header order; `q=0` and `*` dropped, malformed entries skipped.
 */
export function acceptedLanguages(header: string | null): string[] {
  if (!header) return [];
  const ranked: { tag: string; quality: number; index: number }[] = [];
  header
    .slice(0, MAX_ACCEPT_LANGUAGE_LENGTH)
    .split(",")
    .forEach((entry, index) => {
      const [range = "", ...parameters] = entry.split(";").map((part) => part.trim());
      if (!/^[A-Za-z]{1,8}(-[A-Za-z0-9]{1,8})*$/.test(range)) return;
      let quality = 1;
      for (const parameter of parameters) {
        const match = /^q\s*=\s*(0(\.\d{0,3})?|1(\.0{0,3})?)$/i.exec(parameter);
        if (match) quality = Number(match[1]);
        else if (/^q\s*=/i.test(parameter)) quality = -1;
      }
      if (quality > 0) ranked.push({ tag: range, quality, index });
    });
  return ranked.sort((a, b) => b.quality - a.quality || a.index - b.index).map((entry) => entry.tag);
}
