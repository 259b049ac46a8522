import { ERROR_LANGUAGES, errorMessage, translationsOf } from "../../src/domain/error-messages.js";
import { DomainError, Errors, type ErrorDefinition } from "../../src/domain/errors.js";
import { ZITADEL_LANGUAGES, pickLanguage } from "../../src/domain/language-tags.js";

/**
 * Issue 20, item 5: every error of the table has a message in every language ZITADEL ships (ar bg cs de en es fr hu
 * id it ja ko mk nl pl pt ro ru sv tr uk zh). Generic over `Errors`, so an error added later must bring its
 * translations; and every translation must reach a @grpc/grpc-js client unchanged.
 */

const entries = Object.entries(Errors) as [string, ErrorDefinition][];
const cases = entries.flatMap(([name, definition]) =>
  ZITADEL_LANGUAGES.map((language) => [name, language, definition] as const),
);

test("the shipped languages are ZITADEL's 22", () => {
  expect([...ERROR_LANGUAGES].sort()).toEqual(
    "ar bg cs de en es fr hu id it ja ko mk nl pl pt ro ru sv tr uk zh".split(" "),
  );
});

test.each(cases)("%s has a %s message that grpc-js reads back exactly", (_name, language, definition) => {
  const message = translationsOf(definition)[language];
  expect(typeof message).toBe("string");
  expect(message!.trim()).toBe(message);
  expect(message!.length).toBeGreaterThan(0);
  // connect writes grpc-message with encodeURIComponent; grpc-js reads it with decodeURI.
  const wire = `${message} (${definition.id})`;
  expect(decodeURI(encodeURIComponent(wire))).toBe(wire);
  expect(errorMessage(new DomainError(definition), language)).toBe(message);
});

test("an entry without translations would be caught", () => {
  const added = Object.freeze({
    id: "MYPHONE-NewEr",
    kind: "InvalidArgument",
    message: "A new error nobody translated",
  } as const);
  expect(translationsOf(added).de).toBeUndefined();
});

test("other languages differ from English (spot checks), and the id never changes", () => {
  expect(errorMessage(new DomainError(Errors.phoneNotChanged), "de")).toBe("Die Telefonnummer ist unverändert");
  expect(errorMessage(new DomainError(Errors.codeInvalid), "ja")).toBe("コードが無効です");
  expect(errorMessage(new DomainError(Errors.codeInvalid), "en")).toBe("Code is invalid");
  // Shared English texts share their translation.
  expect(errorMessage(new DomainError(Errors.userNotFoundOnSet), "fr")).toBe(
    errorMessage(new DomainError(Errors.userNotFoundOnGet), "fr"),
  );
});

test("an unknown language answers English; English keeps a message the error was raised with", () => {
  expect(errorMessage(new DomainError(Errors.codeInvalid), "rm")).toBe("Code is invalid");
  const custom = new DomainError(Errors.internal, { message: "user has no owner" });
  expect(errorMessage(custom, "en")).toBe("user has no owner");
  expect(errorMessage(custom, "de")).toBe("Ein interner Fehler ist aufgetreten");
});

test.each([
  [["de-CH"], "de"],
  [["DE_ch"], "de"],
  [["zh-Hant-TW"], "zh"],
  [["rm", "fr"], "fr"],
  [["", "it"], "it"],
  [["rm"], undefined],
])("pickLanguage(%j) = %s", (candidates, language) => {
  expect(pickLanguage(candidates, ERROR_LANGUAGES)).toBe(language);
});
