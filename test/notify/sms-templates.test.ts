import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConfigError, loadConfig } from "../../src/config.js";
import { createLogger } from "../../src/logger.js";
import { startMyphone } from "../../src/server/myphone-server.js";
import {
  BUILT_IN_SMS_TEMPLATES,
  SmsTemplates,
  TEMPLATE_VARIABLES,
  goDuration,
  readTemplateFile,
  renderSmsTemplate,
  templateProblem,
  type UserTemplateValues,
} from "../../src/notify/sms-templates.js";
import { startTestServer, type TestServer } from "../support/test-server.js";
import {
  FAST_RETRIES,
  addUser,
  outboxSettled,
  setPhone,
  swissMobile,
  verifyCode,
  webhookUnderTest,
  type ProviderUnderTest,
} from "./notify-kit.js";

/**
 * Issue 20, item 3 (and issue 4, acceptance 3): the SMS text is the template of the user's language with the code;
 * ZITADEL's English VerifyPhone sentence exactly, ZITADEL's 22 languages, no greeting and no user-controlled value
 * in any default text; operator templates may name ZITADEL's variables myphone has data for, any other stops start-up.
 */

/** ZITADEL's English VerifyPhone text (internal/notification/static/i18n/en.yaml at a97999e5), written out here. */
const ZITADEL_ENGLISH = "A new phone number has been added. Please use the following code to verify it {{.Code}}";
const ZITADEL_LANGUAGES = "ar bg cs de en es fr hu id it ja ko mk nl pl pt ro ru sv tr uk zh".split(" ");

const values: UserTemplateValues = {
  Code: "AB12CD",
  UserName: "alice",
  DisplayName: "Alice <script>",
  LoginName: "alice",
  PreferredLoginName: "alice",
  UserID: "179562832114850280",
  OrgID: "179562832114941392",
  LastPhone: "+41791234567",
  Expiry: "1h0m0s",
  CreationDate: "2026-07-01T10:00:00.000Z",
  ChangeDate: "2026-07-01T10:05:00.000Z",
};

describe("built-in texts", () => {
  const templates = new SmsTemplates("en");

  test("English is ZITADEL's sentence exactly, no greeting", () => {
    expect(BUILT_IN_SMS_TEMPLATES.en).toBe(ZITADEL_ENGLISH);
    expect(templates.compose("en", values).text).toBe(
      "A new phone number has been added. Please use the following code to verify it AB12CD",
    );
  });

  test("every language ZITADEL ships VerifyPhone in is built in", () => {
    expect(templates.languages()).toEqual(ZITADEL_LANGUAGES);
  });

  test.each(ZITADEL_LANGUAGES)("%s: our own wording, the code last, no value a user controls", (language) => {
    const template = BUILT_IN_SMS_TEMPLATES[language as keyof typeof BUILT_IN_SMS_TEMPLATES];
    expect(template.endsWith(" {{.Code}}")).toBe(true);
    expect([...template.matchAll(/\{\{\s*\.(\w+)\s*\}\}/g)].map((match) => match[1])).toEqual(["Code"]);
    if (language !== "en") expect(template).not.toBe(ZITADEL_ENGLISH);
    const { text } = templates.compose(language, values);
    expect(text.split(/\s+/).at(-1)).toBe("AB12CD");
    expect(text).not.toContain("alice");
    expect(text).not.toContain("Alice");
  });

  test.each([
    ["de", "de"],
    ["de-CH", "de"],
    ["DE_ch", "de"],
    ["pt-BR", "pt"],
    ["zh-Hant-TW", "zh"],
    ["rm", "en"],
    ["", "en"],
    ["not a tag", "en"],
  ])("preferred language %j uses the %s template", (preferred, language) => {
    expect(templates.languageFor(preferred)).toBe(language);
  });

  test("the default language is configurable and must have a template", () => {
    expect(new SmsTemplates("fr").languageFor("rm")).toBe("fr");
    expect(() => new SmsTemplates("rm")).toThrow(/no template for "rm"/);
    expect(new SmsTemplates("rm", { rm: "Tes code: {{.Code}}" }).compose("", values).text).toBe("Tes code: AB12CD");
  });

  test("an exact regional template wins over its primary language", () => {
    const regional = new SmsTemplates("en", { "de-CH": "Grüezi {{.DisplayName}}, din Code: {{.Code}}" });
    expect(regional.compose("de-ch", values)).toMatchObject({
      language: "de-ch",
      text: "Grüezi Alice <script>, din Code: AB12CD",
    });
    expect(regional.compose("de-AT", values).language).toBe("de");
  });

  test("with a WebOTP host the last line is `@host #code`", () => {
    const text = new SmsTemplates("en", {}, { webOtpHost: "login.example.com" }).compose("de", values).text;
    expect(text.split("\n").at(-1)).toBe("@login.example.com #AB12CD");
    expect(text.startsWith("Diese Telefonnummer")).toBe(true);
  });
});

describe("template variables", () => {
  test("ZITADEL's variables myphone has data for", () => {
    expect([...TEMPLATE_VARIABLES].sort()).toEqual(
      [
        "ChangeDate",
        "Code",
        "CreationDate",
        "DisplayName",
        "Domain",
        "Expiry",
        "LastPhone",
        "LoginName",
        "OrgID",
        "Origin",
        "PreferredLoginName",
        "UserID",
        "UserName",
      ].sort(),
    );
  });

  test("each renders its value; Domain and Origin come from the configured site", () => {
    const all = TEMPLATE_VARIABLES.map((name) => `${name}={{.${name}}}`).join(" ");
    const site = { origin: "https://login.example.com", domain: "login.example.com" };
    expect(templateProblem(all, site)).toBeUndefined();
    expect(new SmsTemplates("en", { en: all }, site).compose("en", values).text).toBe(
      "Code=AB12CD UserName=alice DisplayName=Alice <script> LoginName=alice PreferredLoginName=alice UserID=179562832114850280 " +
        "OrgID=179562832114941392 LastPhone=+41791234567 Expiry=1h0m0s CreationDate=2026-07-01T10:00:00.000Z " +
        "ChangeDate=2026-07-01T10:05:00.000Z Domain=login.example.com Origin=https://login.example.com",
    );
  });

  test.each([
    ["Code: {{.Code}} for {{ .UserName }}", {}, undefined],
    ["no code here", {}, /has no \{\{\.Code\}\}/],
    ["{{.Code}} {{.FirstName}}", {}, /names \{\{\.FirstName\}\}, a ZITADEL variable myphone has no data for/],
    ["{{.Code}} {{.VerifiedEmail}}", {}, /VerifiedEmail/],
    ["{{.Code}} {{.Whatever}}", {}, /names \{\{\.Whatever\}\}, not a template variable/],
    ["{{.Code}} {{.Origin}}", {}, /names \{\{\.Origin\}\}, which needs MYPHONE_PUBLIC_ORIGIN/],
    ["{{.Code}} {{.Domain}}", {}, /names \{\{\.Domain\}\}, which needs MYPHONE_PUBLIC_ORIGIN/],
    ["{{.Code}} {{.Domain}}", { domain: "login.example.com" }, undefined],
  ])("templateProblem(%j, %j)", (template, site, problem) => {
    const found = templateProblem(template, site);
    if (problem === undefined) expect(found).toBeUndefined();
    else {
      expect(found).toMatch(problem);
      expect(found).not.toContain("\n");
    }
  });

  test("rendering fills known names and leaves nothing of unknown ones", () => {
    expect(renderSmsTemplate("{{.UserName}}: {{ .Code }}{{.Nope}}", values)).toBe("alice: AB12CD");
  });

  test.each([
    [0, "0s"],
    [500, "500ms"],
    [1500, "1.5s"],
    [90_000, "1m30s"],
    [600_000, "10m0s"],
    [3_600_000, "1h0m0s"],
    [5_400_000, "1h30m0s"],
  ])("Expiry of %i ms prints as Go's time.Duration: %s", (ms, text) => {
    expect(goDuration(ms)).toBe(text);
  });
});

describe("template files", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "myphone-templates-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  test("JSON object of language → text; every problem is reported", () => {
    const good = join(dir, "good.json");
    writeFileSync(good, JSON.stringify({ DE: "Code {{.Code}}", rm: "Tes code {{.Code}}" }));
    expect(readTemplateFile(good)).toEqual({ de: "Code {{.Code}}", rm: "Tes code {{.Code}}" });
    const bad = join(dir, "bad.json");
    writeFileSync(bad, JSON.stringify({ de: "kein Code", "x y": "{{.Code}}", it: 3 }));
    expect(() => readTemplateFile(bad)).toThrow(
      /"de" has no \{\{\.Code\}\}; "x y" is not a language tag; "it" must be a string/,
    );
    writeFileSync(bad, "[1]");
    expect(() => readTemplateFile(bad)).toThrow(/must hold a JSON object/);
    writeFileSync(bad, "{");
    expect(() => readTemplateFile(bad)).toThrow(/cannot read .* as JSON/);
    expect(() => readTemplateFile(join(dir, "missing.json"))).toThrow(/ENOENT/);
  });

  test("a template naming a variable myphone lacks stops start-up with one line naming it", async () => {
    const file = join(dir, "templates.json");
    writeFileSync(file, JSON.stringify({ de: "Hallo {{.FirstName}}, dein Code: {{.Code}}" }));
    const config = loadConfig({
      MYPHONE_HOST: "127.0.0.1",
      MYPHONE_PORT: "0",
      MYPHONE_DATA_DIR: dir,
      MYPHONE_SMS_TEMPLATES: file,
    });
    const error = await startMyphone(config, { logger: createLogger("silent") }).then(
      async (server) => {
        await server.close();
        return undefined;
      },
      (failure: unknown) => failure as Error,
    );
    expect(error).toBeInstanceOf(ConfigError);
    const lines = error!.message.split("\n").slice(1);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      /^ {2}MYPHONE_SMS_TEMPLATES: .*templates\.json: "de" names \{\{\.FirstName\}\}, a ZITADEL variable myphone has no data for \(myphone has Code, UserName/,
    );
  });
});

describe("the SMS a user receives (webhook)", () => {
  let provider: ProviderUnderTest;
  let server: TestServer;
  let dir: string;

  beforeEach(async () => {
    provider = await webhookUnderTest();
    dir = mkdtempSync(join(tmpdir(), "myphone-templates-"));
  });

  afterEach(async () => {
    await server.stop();
    await provider.fake.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test("is the template of the user's preferred language with the code; unknown or missing languages get MYPHONE_DEFAULT_LANGUAGE", async () => {
    server = await startTestServer({ ...FAST_RETRIES, ...provider.env, MYPHONE_DEFAULT_LANGUAGE: "it" });
    const people = [
      { language: "en", template: "en" },
      { language: "de", template: "de" },
      { language: "ja", template: "ja" },
      { language: "ar", template: "ar" },
      { language: "de-CH", template: "de" },
      { language: "rm", template: "it" },
      { language: undefined, template: "it" },
    ];
    const users = await Promise.all(
      people.map((person, i) => addUser(server, { language: person.language, displayName: `Person ${i}` })),
    );
    await Promise.all(users.map((user, i) => setPhone(server, user.token, swissMobile(700 + i))));
    await provider.fake.waitForDeliveries(people.length);
    await outboxSettled(server.store);
    expect(provider.fake.rejected).toEqual([]);

    for (const [i, person] of people.entries()) {
      const sms = provider.fake.delivered.find((request) => request.to === swissMobile(700 + i))!;
      const template = BUILT_IN_SMS_TEMPLATES[person.template as keyof typeof BUILT_IN_SMS_TEMPLATES];
      expect({ language: person.language, text: sms.text }).toEqual({
        language: person.language,
        text: template.replace("{{.Code}}", sms.code),
      });
      expect(sms.text).not.toContain(`Person ${i}`);
    }
    const german = provider.fake.delivered.find((request) => request.to === swissMobile(701))!;
    expect(await verifyCode(server, users[1]!.token, german.code)).toBe(200);
  });

  test("an operator's template file overrides and adds languages, with variables; the WebOTP line ends the text", async () => {
    const file = join(dir, "templates.json");
    writeFileSync(
      file,
      JSON.stringify({
        de: "Hallo {{.DisplayName}} ({{.LoginName}}), dein Code für {{.Domain}}, {{.Expiry}} gültig: {{.Code}}",
        rm: "Tes code: {{.Code}}",
      }),
    );
    server = await startTestServer({
      ...FAST_RETRIES,
      ...provider.env,
      MYPHONE_SMS_TEMPLATES: file,
      MYPHONE_WEBOTP_HOST: "Login.Example.com",
      MYPHONE_PUBLIC_ORIGIN: "https://id.example.com",
      MYPHONE_CODE_TTL: "10m",
    });
    const german = await addUser(server, { language: "de", userName: "carla", displayName: "Carla C." });
    const romansh = await addUser(server, { language: "rm" });
    await setPhone(server, german.token, swissMobile(760));
    await setPhone(server, romansh.token, swissMobile(761));
    await provider.fake.waitForDeliveries(2);
    const toGerman = provider.fake.delivered.find((request) => request.to === swissMobile(760))!;
    const toRomansh = provider.fake.delivered.find((request) => request.to === swissMobile(761))!;
    expect(toGerman.text).toBe(
      `Hallo Carla C. (carla), dein Code für id.example.com, 10m0s gültig: ${toGerman.code}\n\n@login.example.com #${toGerman.code}`,
    );
    expect(toRomansh.text).toBe(`Tes code: ${toRomansh.code}\n\n@login.example.com #${toRomansh.code}`);
    expect((toGerman.body as any).args).toMatchObject({
      domain: "id.example.com",
      origin: "https://id.example.com",
      expiry: 600_000_000_000,
    });
    expect(await verifyCode(server, romansh.token, toRomansh.code)).toBe(200);
  });
});
