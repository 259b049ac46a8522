import { ALL_CLIENTS, closeAllClients, prepareBufSchema, type ClientFactory } from "../support/clients.js";
import { caught, seenError } from "../support/wire-assertions.js";
import { startTestServer, type TestServer } from "../support/test-server.js";

/**
 * Issue 20, item 5, over every client (grpc-js, connect-node gRPC/gRPC-Web/Connect on HTTP/1.1 and h2c, connect-web,
 * curl on REST, buf curl): error messages come in the user's preferred language (from their user.human.added), else
 * in the best language of Accept-Language, else English; the grpc-message / Connect message / REST message and
 * ErrorDetail.message are translated, the id never is. The expected texts are written out here, not read from the
 * catalogue, so a changed translation fails this test too.
 */

let server: TestServer;

beforeAll(async () => {
  // Abuse limits on: the resend cooldown gives a ResourceExhausted refusal to translate. The SMS budgets and the
  // breaker are off: this file's users all take numbers of one range, which a budget would soon refuse.
  const limits = {
    MYPHONE_ABUSE_LIMITS: "on",
    MYPHONE_SMS_BUDGET: "off",
    MYPHONE_SMS_BUDGET_PER_COUNTRY: "off",
    MYPHONE_SMS_BUDGET_PER_PREFIX: "off",
    MYPHONE_SMS_BREAKER_MIN_CONVERSION: "0",
  };
  [server] = await Promise.all([startTestServer(limits), prepareBufSchema()]);
}, 60_000);

afterAll(async () => {
  closeAllClients();
  await server?.stop();
});

let counter = 0;

/** A human user with this preferred language, whose phone is already +41 79 6xx xx xx; returns its token. */
async function userWithPhone(language?: string): Promise<{ token: string; phone: string }> {
  const userId = `${Date.now()}${String(++counter).padStart(5, "0")}`;
  await server.commands.execute(
    userId,
    { type: "AddHumanUser", userName: `user${counter}`, preferredLanguage: language },
    "200000000000000001",
  );
  const phone = `+417960${String(counter).padStart(5, "0")}`;
  await server.commands.execute(userId, { type: "SetPhone", phone });
  return { token: await server.issuer.mint(userId, 600), phone };
}

const notChanged = (text: string) => ({
  code: 9,
  message: `${text} (COMMAND-wF94r)`,
  detailId: "COMMAND-wF94r",
  detailMessage: text,
});

describe.each(ALL_CLIENTS)("$name", (client: ClientFactory) => {
  /** The refusal a user preferring `language` gets for setting the phone it has, asking in `acceptLanguage`. */
  async function samePhoneRefusal(language: string | undefined, acceptLanguage: string) {
    const { token, phone } = await userWithPhone(language);
    return seenError(await caught(client.create(server.url, token, { "accept-language": acceptLanguage }).set(phone)));
  }

  test("the user's preferred language wins over Accept-Language", async () => {
    expect(await samePhoneRefusal("de-CH", "ja")).toEqual(notChanged("Die Telefonnummer ist unverändert"));
  });

  test("without one, Accept-Language decides by quality value (non-ASCII reaches every client exactly)", async () => {
    expect(await samePhoneRefusal(undefined, "fr-CH;q=0.4, ja;q=0.9, *;q=0.1")).toEqual(
      notChanged("電話番号は変更されていません"),
    );
  });

  test("a preferred language without texts falls through to Accept-Language", async () => {
    expect(await samePhoneRefusal("rm", "sv")).toEqual(notChanged("Telefonnumret har inte ändrats"));
  });

  test("neither: English", async () => {
    const { token, phone } = await userWithPhone();
    expect(seenError(await caught(client.create(server.url, token).set(phone)))).toEqual(
      notChanged("Phone not changed"),
    );
    expect(seenError(await caught(client.create(server.url, token, { "accept-language": "tlh" }).set(phone)))).toEqual(
      notChanged("Phone not changed"),
    );
  });

  test("errors before the user is known follow Accept-Language: bad token, missing header (bare, no id)", async () => {
    const badToken = await caught(client.create(server.url, "not-a-token", { "accept-language": "uk" }).get());
    expect(seenError(badToken)).toEqual({
      code: 16,
      message: "Недійсний токен (AUTH-7fs1e)",
      detailId: "AUTH-7fs1e",
      detailMessage: "Недійсний токен",
    });
    const missing = await caught(client.create(server.url, undefined, { "accept-language": "ko" }).get());
    expect(seenError(missing)).toEqual({
      code: 16,
      message: "인증 헤더가 없습니다",
      detailId: undefined,
      detailMessage: undefined,
    });
  });

  test("other kinds of refusal too: a wrong code (recorded) and the resend cooldown (429, RetryInfo)", async () => {
    const { token } = await userWithPhone("pl");
    const api = client.create(server.url, token);
    const wrong = await caught(api.verify("WRONG1"));
    expect(seenError(wrong)).toEqual({
      code: 3,
      message: "Kod jest nieprawidłowy (COMMAND-sM0cs)",
      detailId: "COMMAND-sM0cs",
      detailMessage: "Kod jest nieprawidłowy",
    });
    const cooldown = await caught(api.resend());
    const text = "Kod został przed chwilą wysłany (odczekaj przed prośbą o kolejny)";
    expect(seenError(cooldown)).toEqual({
      code: 8,
      message: `${text} (MYPHONE-SnCdn)`,
      detailId: "MYPHONE-SnCdn",
      detailMessage: text,
    });
    if (client.kind === "curl-rest") expect(cooldown.httpStatus).toBe(429);
  });
});
