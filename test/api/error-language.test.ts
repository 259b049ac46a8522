import { ConnectError, createContextValues, type UnaryRequest } from "@connectrpc/connect";
import { ErrorDetailSchema } from "../../gen/zitadel/message_pb.js";
import { callerKey } from "../../src/api/caller-context.js";
import { acceptedLanguages, errorLanguage } from "../../src/api/error-language.js";
import { errorMappingInterceptor } from "../../src/api/wire-errors.js";
import { DomainError, Errors } from "../../src/domain/errors.js";

/** Issue 20, item 5: which language an error answer is in (user's preference, Accept-Language, default) and when it is asked. */

function requestOf(headers: Record<string, string>, userId?: string): UnaryRequest {
  const contextValues = createContextValues();
  if (userId) contextValues.set(callerKey, { userId });
  return {
    header: new Headers(headers),
    contextValues,
    url: "http://localhost/zitadel.auth.v1.AuthService/SetMyPhone",
  } as unknown as UnaryRequest;
}

describe("acceptedLanguages (RFC 9110 Accept-Language)", () => {
  test.each([
    [null, []],
    ["", []],
    ["de", ["de"]],
    ["fr-CH, fr;q=0.9, en;q=0.8, de;q=0.7, *;q=0.5", ["fr-CH", "fr", "en", "de"]],
    ["en;q=0.2, ja;q=0.9, ko", ["ko", "ja", "en"]],
    ["de;q=0, it", ["it"]],
    ["sv;q=0.500, nl;q=0.5", ["sv", "nl"]],
    ["x;q=2, !!, pl;q=abc, tr ; q = 0.3", ["tr"]],
  ])("%j → %j", (header, expected) => {
    expect(acceptedLanguages(header)).toEqual(expected);
  });
});

describe("errorLanguage", () => {
  const languages: Record<string, string> = { alice: "de", bruno: "rm", carla: "" };
  const preferredLanguageOf = jest.fn(async (userId: string) => languages[userId] ?? "");
  const pick = errorLanguage({ preferredLanguageOf, defaultLanguage: "en" });

  test("the user's preferred language comes first, then Accept-Language by quality, then the default", async () => {
    expect(await pick(requestOf({ "accept-language": "ja" }, "alice"))).toBe("de");
    expect(await pick(requestOf({ "accept-language": "rm, sv;q=0.8, ja;q=0.9" }, "bruno"))).toBe("ja");
    expect(await pick(requestOf({}, "carla"))).toBe("en");
    expect(await pick(requestOf({ "accept-language": "pt-BR" }))).toBe("pt");
    expect(await pick(requestOf({ "accept-language": "rm" }))).toBe("en");
  });

  test("a default language with error texts replaces English; one without falls back to English", async () => {
    expect(await errorLanguage({ preferredLanguageOf, defaultLanguage: "fr-ch" })(requestOf({}))).toBe("fr");
    expect(await errorLanguage({ preferredLanguageOf, defaultLanguage: "rm" })(requestOf({}))).toBe("en");
  });

  test("a failing read of the user's language does not change the answer's error", async () => {
    const broken = errorLanguage({
      preferredLanguageOf: () => Promise.reject(new Error("store down")),
      defaultLanguage: "en",
    });
    expect(await broken(requestOf({ "accept-language": "it" }, "alice"))).toBe("it");
  });
});

describe("errorMappingInterceptor with a language", () => {
  test("asks for the language only when the call fails; translates message and ErrorDetail, keeps the id", async () => {
    const language = jest.fn(async () => "de");
    const interceptor = errorMappingInterceptor(() => undefined, language);
    const ok = interceptor(async () => ({ message: {} }) as never);
    await ok(requestOf({}, "alice"));
    expect(language).not.toHaveBeenCalled();

    const failing = interceptor(async () => {
      throw new DomainError(Errors.phoneNotChanged);
    });
    const error = await failing(requestOf({}, "alice")).then(
      () => undefined,
      (thrown: unknown) => thrown as ConnectError,
    );
    expect(language).toHaveBeenCalledTimes(1);
    expect(error?.rawMessage).toBe("Die Telefonnummer ist unverändert (COMMAND-wF94r)");
    expect(error?.findDetails(ErrorDetailSchema)).toEqual([
      expect.objectContaining({ id: "COMMAND-wF94r", message: "Die Telefonnummer ist unverändert" }),
    ]);
  });

  test("an error without an id goes out bare, translated too", async () => {
    const interceptor = errorMappingInterceptor(
      () => undefined,
      async () => "ko",
    );
    const error = await interceptor(async () => {
      throw new DomainError(Errors.authHeaderMissing);
    })(requestOf({})).then(
      () => undefined,
      (thrown: unknown) => thrown as ConnectError,
    );
    expect(error?.rawMessage).toBe("인증 헤더가 없습니다");
    expect(error?.details).toEqual([]);
  });
});
