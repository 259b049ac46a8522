/**
 * User-controlled names (a token's `preferred_username`, a display name) travel into SMS texts and webhook bodies.
 * There a newline starts a line of the attacker's choosing ("Your code is 123456 — call +1 …"), a bidi override
 * (U+202E) reverses what the phone shows, and zero-width or other format characters hide text. Names are made
 * plain where they enter (provisioning, AddHumanUser) and again where they reach a template, for events written
 * before this rule.
 */

/** Longest user name or display name stored, in characters (ZITADEL's limit for both). */
export const MAX_NAME_CHARS = 200;

/** Longest name put into an SMS: a long name would cost extra SMS segments per code and crowd out the text. */
export const MAX_SMS_NAME_CHARS = 64;

// Whitespace of any kind (tabs, newlines, U+2028/U+2029, no-break and ideographic spaces) becomes one space; the
// other characters of Unicode's "Other" category go: controls, format characters (bidi embeddings, overrides and
// isolates, zero-width joiners and spaces, the BOM, invisible operators), surrogates, private use and unassigned.
const WHITESPACE_RUNS = /[\s\p{Zl}\p{Zp}]+/gu;
const OTHER_CHARACTERS = /\p{C}/gu;

const graphemes = new Intl.Segmenter(undefined, { granularity: "grapheme" });

/**
 * `text` as plain one-line text: whitespace runs made one space, control, format and other invisible characters
 * removed, trimmed, and cut to at most `maxChars` code points at a grapheme boundary (never inside an emoji or
 * between a letter and its accents).
 */
export function plainName(text: string, maxChars: number): string {
  const plain = text.normalize("NFC").replace(WHITESPACE_RUNS, " ").replace(OTHER_CHARACTERS, "").replace(WHITESPACE_RUNS, " ").trim();
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
