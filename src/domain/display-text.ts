/**
 * User-controlled names reach SMS texts and webhook bodies, where a newline, a bidi override (U+202E) or zero-width
 * characters could forge or hide text. Names are made plain where they enter, and again where they reach a template
 * (for events written before this rule).
 */

/** Longest user name or display name stored, in characters (ZITADEL's limit for both). */
export const MAX_NAME_CHARS = 200;

/** Longest name put into an SMS: a long name would cost extra SMS segments per code and crowd out the text. */
export const MAX_SMS_NAME_CHARS = 64;

// Any whitespace (U+2028/U+2029 and no-break spaces too) becomes one space; the rest of Unicode's "Other" category
// goes: controls, format characters (bidi controls, zero-width ones, the BOM), surrogates, private use, unassigned.
const WHITESPACE_RUNS = /[\s\p{Zl}\p{Zp}]+/gu;
const OTHER_CHARACTERS = /\p{C}/gu;

const graphemes = new Intl.Segmenter(undefined, { granularity: "grapheme" });

/**
 * `text` as plain one-line text: whitespace runs made one space, invisible characters removed, trimmed, and cut to
 * at most `maxChars` code points at a grapheme boundary (never inside an emoji or between a letter and its accents).
 */
export function plainName(text: string, maxChars: number): string {
  const plain = text
    .normalize("NFC")
    .replace(WHITESPACE_RUNS, " ")
    .replace(OTHER_CHARACTERS, "")
    .replace(WHITESPACE_RUNS, " ")
    .trim();
  if ([...plain].length <= maxChars) return plain;
  let cut = "";
  let chars = 0;
  for (const { segment } of graphemes.segment(plain)) {
    const length = [...segment].length;
    if (chars + length > maxChars) break;
    cut += segment;
    chars += length;
  }
  return cut.trimEnd();
}
