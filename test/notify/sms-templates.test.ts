import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Webhook } from "standardwebhooks";
import { BUILT_IN_SMS_TEMPLATES, SmsTemplates, readTemplateFile, renderSmsTemplate, templateProblem } from "../../src/notify/sms-templates.js";
import { startTestServer, type TestServer } from "../support/test-server.js";
import { FAST_RETRIES, addUser, outboxSettled, setPhone, swissMobile, verifyCode, webhookUnderTest, type ProviderUnderTest } from "./notify-kit.js";

/** Issue 4, acceptance 3: the SMS text is the template of the user's language with the code; unknown languages fall back. */

describe("SmsTemplates", () => {
  const templates = new SmsTemplates("en");
  const values = { Code: "AB12CD", DisplayName: "Alice A.", UserName: "alice" };

  test("built in: en, de, fr, it, each with the code and the display name", () => {
    expect(templates.languages()).toEqual(["de", "en", "fr", "it"]);
    for (const language of templates.languages()) {
      const { text } = templates.compose(language, values);
      expect(text).toContain("AB12CD");
      expect(text).toContain("Alice A.");
      expect(text).not.toContain("{{");
    }
    expect(templates.compose("de", values).text).toBe(
      "Hallo Alice A., eine neue Telefonnummer wurde hinzugefügt. Bitte verwende den folgenden Code, um sie zu bestätigen: AB12CD",
    );
  });

  test.each([
    ["de", "de"],
    ["de-CH", "de"],
    ["DE_ch", "de"],
    ["fr-CA", "fr"],
    ["it", "it"],
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
    expect(regional.compose("de-ch", values)).toEqual({ language: "de-ch", text: "Grüezi Alice A., din Code: AB12CD" });
    expect(regional.compose("de-AT", values).language).toBe("de");
  });

  test("with a WebOTP host the last line is `@host #code`", () => {
    const text = new SmsTemplates("en", {}, "login.example.com").compose("de", values).text;
    expect(text.split("\n").at(-1)).toBe("@login.example.com #AB12CD");
    expect(text.startsWith("Hallo Alice A.")).toBe(true);
  });

  test("template checks: the code must be shown, only known values may be named", () => {
    expect(templateProblem("Code: {{.Code}} for {{ .UserName }}")).toBeUndefined();
    expect(templateProblem("no code here")).toMatch(/\{\{\.Code\}\}/);
    expect(templateProblem("{{.Code}} {{.FirstName}}")).toMatch(/FirstName/);
    expect(renderSmsTemplate("{{.UserName}}: {{ .Code }}", values)).toBe("alice: AB12CD");
  });

  test("template files: JSON object of language → text; every problem is reported", () => {
    const dir = mkdtempSync(join(tmpdir(), "myphone-templates-"));
    try {
      const good = join(dir, "good.json");
      writeFileSync(good, JSON.stringify({ DE: "Code {{.Code}}", rm: "Tes code {{.Code}}" }));
      expect(readTemplateFile(good)).toEqual({ de: "Code {{.Code}}", rm: "Tes code {{.Code}}" });
      const bad = join(dir, "bad.json");
      writeFileSync(bad, JSON.stringify({ de: "kein Code", "x y": "{{.Code}}", it: 3 }));
      expect(() => readTemplateFile(bad)).toThrow(/"de" has no \{\{\.Code\}\}; "x y" is not a language tag; "it" must be a string/);
      writeFileSync(bad, "[1]");
      expect(() => readTemplateFile(bad)).toThrow(/must hold a JSON object/);
      writeFileSync(bad, "{");
      expect(() => readTemplateFile(bad)).toThrow(/cannot read .* as JSON/);
      expect(() => readTemplateFile(join(dir, "missing.json"))).toThrow(/ENOENT/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
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
      { language: "fr", template: "fr" },
      { language: "it", template: "it" },
      { language: "de-CH", template: "de" },
      { language: "rm", template: "it" },
      { language: undefined, template: "it" },
    ];
    const users = await Promise.all(people.map((person, i) => addUser(server, { language: person.language, displayName: `Person ${i}` })));
    await Promise.all(users.map((user, i) => setPhone(server, user.token, swissMobile(700 + i))));
    await provider.fake.waitForDeliveries(people.length);
    await outboxSettled(server.store);
    expect(provider.fake.rejected).toEqual([]);

    for (const [i, person] of people.entries()) {
      const sms = provider.fake.delivered.find((request) => request.to === swissMobile(700 + i))!;
      const expected = renderSmsTemplate(BUILT_IN_SMS_TEMPLATES[person.template]!, { Code: sms.code, DisplayName: `Person ${i}`, UserName: users[i]!.userName });
      expect({ language: person.language, text: sms.text }).toEqual({ language: person.language, text: expected });
      expect((sms.body as any).args.preferredLanguage).toBe(person.template);
    }
    const german = provider.fake.delivered.find((request) => request.to === swissMobile(701))!;
    expect(await verifyCode(server, users[1]!.token, german.code)).toBe(200);
  });

  test("carries ZITADEL's body and Standard Webhooks headers; the display name falls back to the user name", async () => {
    server = await startTestServer({ ...FAST_RETRIES, ...provider.env });
    const user = await addUser(server, { userName: "bob" });
    await setPhone(server, user.token, swissMobile(750));
    const [sms] = await provider.fake.waitForDeliveries(1);
    expect(sms!.body).toEqual({
      contextInfo: { recipientPhoneNumber: swissMobile(750), eventType: "user.human.phone.code.added", provider: { id: "webhook", description: expect.any(String) } },
      templateData: { Text: `Hello bob, a new phone number has been added. Please use the following code to verify it ${sms!.code}` },
      args: { code: sms!.code, displayName: "bob", userName: "bob", lastPhone: swissMobile(750), preferredLanguage: "en" },
    });
    expect(sms!.headers["webhook-id"]).toBe(sms!.id);
    expect(sms!.headers["webhook-signature"]).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
    // The fake verified the signature already; a wrong secret must not verify it.
    const forged = new Webhook(`whsec_${Buffer.alloc(32, 7).toString("base64")}`);
    const headers = { "webhook-id": sms!.id, "webhook-timestamp": String(sms!.headers["webhook-timestamp"]), "webhook-signature": String(sms!.headers["webhook-signature"]) };
    expect(() => forged.verify(JSON.stringify(sms!.body), headers)).toThrow();
  });

  test("an operator's template file overrides and adds languages; the WebOTP line ends the text", async () => {
    const file = join(dir, "templates.json");
    writeFileSync(file, JSON.stringify({ de: "{{.UserName}}, dein Code: {{.Code}}", rm: "Tes code: {{.Code}}" }));
    server = await startTestServer({ ...FAST_RETRIES, ...provider.env, MYPHONE_SMS_TEMPLATES: file, MYPHONE_WEBOTP_HOST: "Login.Example.com" });
    const german = await addUser(server, { language: "de", userName: "carla" });
    const romansh = await addUser(server, { language: "rm" });
    await setPhone(server, german.token, swissMobile(760));
    await setPhone(server, romansh.token, swissMobile(761));
    await provider.fake.waitForDeliveries(2);
    const toGerman = provider.fake.delivered.find((request) => request.to === swissMobile(760))!;
    const toRomansh = provider.fake.delivered.find((request) => request.to === swissMobile(761))!;
    expect(toGerman.text).toBe(`carla, dein Code: ${toGerman.code}\n\n@login.example.com #${toGerman.code}`);
    expect(toRomansh.text).toBe(`Tes code: ${toRomansh.code}\n\n@login.example.com #${toRomansh.code}`);
    expect((toGerman.body as any).args.domain).toBe("login.example.com");
    expect(await verifyCode(server, romansh.token, toRomansh.code)).toBe(200);
  });
});
