import { MAX_SMS_NAME_CHARS, plainName } from "../../src/domain/display-text.js";

/** Names as they may reach an SMS: one line, no invisible or direction-changing characters, bounded. */

describe("plainName", () => {
  it.each([
    ["line breaks and tabs become one space", "Ann\r\n\tBerg", "Ann Berg"],
    ["Unicode line and paragraph separators too", "Ann\u2028\u2029Berg", "Ann Berg"],
    ["C0 and C1 controls go", "A\u0000n\u0007n\u001b[31m\u0085\u009b", "Ann[31m"],
    ["bidi overrides, embeddings, isolates and marks go", "\u202Eabc\u202C\u2066d\u2069\u200E\u200F\u061C", "abcd"],
    ["zero-width and other format characters go", "A\u200Bn\u200Cn\u200D\uFEFF\u00AD\u2060\u2062", "Ann"],
    ["private use and lone surrogates go", "A\uE000nn\uD800", "Ann"],
    [
      "no-break and ideographic spaces become one space, and the ends are trimmed",
      "\u00A0 Ann\u3000\u00A0Berg ",
      "Ann Berg",
    ],
    [
      "accents and non-Latin scripts stay (composed)",
      "Zoe\u0301 \u738B\u5C0F\u660E \u0645\u062D\u0645\u062F",
      "Zoé 王小明 محمد",
    ],
    ["emoji stay", "Ann \u{1F600}", "Ann \u{1F600}"],
  ])("%s", (_case, input, expected) => {
    expect(plainName(input, 200)).toBe(expected);
  });

  it("cuts at a grapheme boundary within the limit (in code points)", () => {
    expect(plainName("abcdef", 4)).toBe("abcd");
    // "e" + combining acute that NFC cannot compose with "q": the pair is kept or dropped together.
    expect(plainName("abcq\u0301x", 4)).toBe("abc");
    expect(plainName(`${"x".repeat(63)}\u{1F1E8}\u{1F1ED}`, 64)).toBe("x".repeat(63));
    expect(plainName(`${"x".repeat(62)}\u{1F1E8}\u{1F1ED}`, 64)).toBe(`${"x".repeat(62)}\u{1F1E8}\u{1F1ED}`);
    // Joiners are format characters, so a joined emoji falls apart into its parts; each part is whole.
    expect(plainName("\u{1F468}\u200D\u{1F469}", 64)).toBe("\u{1F468}\u{1F469}");
    expect(plainName("ab cdef", 3)).toBe("ab");
    expect([...plainName("y".repeat(500), MAX_SMS_NAME_CHARS)]).toHaveLength(64);
  });
});
