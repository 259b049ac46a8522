import { execFile } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { ConfigError, loadConfig } from "../../src/config.js";
import { createLogger } from "../../src/logger.js";
import { startMyphone } from "../../src/server/myphone-server.js";
import { newTwilioCredentials, newWebhookSecret } from "../support/fake-sms-servers.js";
import { CLI } from "../support/cli-process.js";

/** Provider configuration is checked at start-up: missing or malformed values stop it, naming the variable. */

const run = promisify(execFile);
let dataDir: string;

beforeEach(() => {
  dataDir = mkdtempSync(join(tmpdir(), "myphone-sms-config-"));
});

afterEach(() => {
  rmSync(dataDir, { recursive: true, force: true });
});

/** Starts the server with `env` the way `myphone serve` does; resolves with the error that stopped it. */
async function startUpError(env: Record<string, string>): Promise<Error> {
  const config = loadConfig({ MYPHONE_HOST: "127.0.0.1", MYPHONE_PORT: "0", MYPHONE_DATA_DIR: dataDir, ...env });
  const started = startMyphone(config, { logger: createLogger("silent") });
  const error = await started.then(
    async (server) => {
      await server.close();
      return new Error("start-up succeeded");
    },
    (failure: unknown) => failure as Error,
  );
  return error;
}

describe("malformed values stop loadConfig, naming the variable and never echoing a secret", () => {
  const standardWebhooks = { MYPHONE_SMS_WEBHOOK_SIGNING: "standard-webhooks" };
  test.each<[string, string, Record<string, string>?]>([
    ["MYPHONE_SMS_PROVIDER", "carrier-pigeon"],
    ["MYPHONE_SMS_WEBHOOK_URL", "ftp://sms.example.com/hook"],
    ["MYPHONE_SMS_WEBHOOK_URL", "not a url"],
    // ZITADEL's scheme (the default): a signing key of 16 or more characters, and never a Standard Webhooks secret.
    ["MYPHONE_SMS_WEBHOOK_SECRET", "short-key"],
    ["MYPHONE_SMS_WEBHOOK_SECRET", "a key with spaces in it"],
    ["MYPHONE_SMS_WEBHOOK_SECRET", `whsec_${Buffer.alloc(32, 1).toString("base64")}`],
    ["MYPHONE_SMS_WEBHOOK_SECRET", "s3cr3t-without-prefix", standardWebhooks],
    ["MYPHONE_SMS_WEBHOOK_SECRET", "whsec_dG9vc2hvcnQ=", standardWebhooks],
    ["MYPHONE_SMS_WEBHOOK_SECRET", "whsec_not*base64*at*all*but*long*enough*to*count", standardWebhooks],
    ["MYPHONE_SMS_WEBHOOK_SIGNING", "hmac"],
    ["MYPHONE_SMS_WEBHOOK_BODY", "Capitalized"],
    ["MYPHONE_TWILIO_VERIFY_SERVICE_SID", "VA123"],
    ["MYPHONE_TWILIO_VERIFY_BASE_URL", "verify.twilio.com"],
    ["MYPHONE_PUBLIC_ORIGIN", "https://login.example.com/login"],
    ["MYPHONE_TWILIO_ACCOUNT_SID", "AC123"],
    ["MYPHONE_TWILIO_MESSAGING_SERVICE_SID", "MGxyz"],
    ["MYPHONE_TWILIO_FROM", "not a number!"],
    ["MYPHONE_TWILIO_BASE_URL", "api.twilio.com"],
    ["MYPHONE_SMS_TIMEOUT", "soon"],
    ["MYPHONE_DEFAULT_LANGUAGE", "english please"],
    ["MYPHONE_WEBOTP_HOST", "https://login.example.com/"],
  ])("%s=%j %j", (name, value, other = {}) => {
    expect(() => loadConfig({ ...other, [name]: value })).toThrow(ConfigError);
    expect(() => loadConfig({ ...other, [name]: value })).toThrow(new RegExp(`${name}:`));
    if (name === "MYPHONE_SMS_WEBHOOK_SECRET") {
      try {
        loadConfig({ ...other, [name]: value });
      } catch (error) {
        expect((error as Error).message).not.toContain(value);
      }
    }
  });

  test("well-formed provider settings load", () => {
    const secret = newWebhookSecret();
    const { accountSid, authToken } = newTwilioCredentials();
    const config = loadConfig({
      MYPHONE_SMS_PROVIDER: "twilio",
      MYPHONE_SMS_WEBHOOK_URL: "https://user:pw@sms.example.com/hook",
      MYPHONE_SMS_WEBHOOK_SECRET: secret,
      MYPHONE_SMS_WEBHOOK_SIGNING: "standard-webhooks",
      MYPHONE_PUBLIC_ORIGIN: "https://Login.Example.com:8443/",
      MYPHONE_TWILIO_ACCOUNT_SID: accountSid,
      MYPHONE_TWILIO_AUTH_TOKEN: authToken,
      MYPHONE_TWILIO_FROM: "+15005550006",
      MYPHONE_TWILIO_MESSAGING_SERVICE_SID: `MG${"0".repeat(32)}`,
      MYPHONE_DEFAULT_LANGUAGE: "DE-ch",
      MYPHONE_WEBOTP_HOST: "login.example.com:8443",
      MYPHONE_SMS_TIMEOUT: "2s",
    });
    expect(config).toMatchObject({
      MYPHONE_SMS_PROVIDER: "twilio",
      MYPHONE_SMS_WEBHOOK_SECRET: secret,
      MYPHONE_SMS_WEBHOOK_BODY: "zitadel",
      MYPHONE_PUBLIC_ORIGIN: "https://login.example.com:8443",
      MYPHONE_TWILIO_BASE_URL: "https://api.twilio.com",
      MYPHONE_TWILIO_VERIFY_BASE_URL: "https://verify.twilio.com",
      MYPHONE_DEFAULT_LANGUAGE: "de-ch",
      MYPHONE_SMS_TIMEOUT: 2000,
    });
    expect(loadConfig({ MYPHONE_TWILIO_FROM: "MyPhone" }).MYPHONE_TWILIO_FROM).toBe("MyPhone");
    // ZITADEL's scheme is the default and takes ZITADEL's signing keys (36 letters and digits).
    expect(loadConfig({ MYPHONE_SMS_WEBHOOK_SECRET: "aB3dE5fG7hI9jK1lM3nO5pQ7rS9tU1vW3xY5" })).toMatchObject({
      MYPHONE_SMS_WEBHOOK_SIGNING: "zitadel",
    });
  });
});

describe("missing or inconsistent settings stop start-up, naming the variable", () => {
  test("webhook without MYPHONE_SMS_WEBHOOK_URL", async () => {
    const error = await startUpError({ MYPHONE_SMS_PROVIDER: "webhook" });
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toMatch(/MYPHONE_SMS_WEBHOOK_URL: required when MYPHONE_SMS_PROVIDER=webhook/);
    // Stopped before the store was opened: the data directory stays empty.
    expect(readdirSync(dataDir)).toEqual([]);
  });

  test("twilio without account, token or sender names all three at once", async () => {
    const error = await startUpError({ MYPHONE_SMS_PROVIDER: "twilio" });
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toMatch(/MYPHONE_TWILIO_ACCOUNT_SID: required/);
    expect(error.message).toMatch(/MYPHONE_TWILIO_AUTH_TOKEN: required/);
    expect(error.message).toMatch(
      /MYPHONE_TWILIO_FROM: required .* unless MYPHONE_TWILIO_MESSAGING_SERVICE_SID is set/,
    );
  });

  test("twilio-verify without account, token or service names all three", async () => {
    const error = await startUpError({ MYPHONE_SMS_PROVIDER: "twilio-verify" });
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toMatch(/MYPHONE_TWILIO_ACCOUNT_SID: required when MYPHONE_SMS_PROVIDER=twilio-verify/);
    expect(error.message).toMatch(/MYPHONE_TWILIO_AUTH_TOKEN: required/);
    expect(error.message).toMatch(/MYPHONE_TWILIO_VERIFY_SERVICE_SID: required/);
    expect(error.message).not.toMatch(/MYPHONE_TWILIO_FROM/);
  });

  test("twilio with a messaging service instead of a sender number starts", async () => {
    const { accountSid, authToken } = newTwilioCredentials();
    const error = await startUpError({
      MYPHONE_SMS_PROVIDER: "twilio",
      MYPHONE_TWILIO_ACCOUNT_SID: accountSid,
      MYPHONE_TWILIO_AUTH_TOKEN: authToken,
      MYPHONE_TWILIO_MESSAGING_SERVICE_SID: `MG${"a".repeat(32)}`,
    });
    expect(error.message).toBe("start-up succeeded");
  });

  test("a provider timeout not shorter than the lease", async () => {
    const error = await startUpError({
      MYPHONE_SMS_PROVIDER: "webhook",
      MYPHONE_SMS_WEBHOOK_URL: "http://127.0.0.1:9/sms",
      MYPHONE_SMS_TIMEOUT: "30s",
      MYPHONE_SMS_LEASE: "30s",
    });
    expect(error.message).toMatch(/MYPHONE_SMS_TIMEOUT: must be shorter than MYPHONE_SMS_LEASE/);
  });

  test("a template file that is missing, not JSON, or has a template without the code", async () => {
    expect((await startUpError({ MYPHONE_SMS_TEMPLATES: join(dataDir, "nope.json") })).message).toMatch(
      /MYPHONE_SMS_TEMPLATES: cannot read .*ENOENT/,
    );
    const file = join(dataDir, "templates.json");
    writeFileSync(file, JSON.stringify({ de: "Dein Code kommt gleich" }));
    expect((await startUpError({ MYPHONE_SMS_TEMPLATES: file })).message).toMatch(
      /MYPHONE_SMS_TEMPLATES: .*"de" has no \{\{\.Code\}\}/,
    );
  });

  test("a default language without a template", async () => {
    const error = await startUpError({ MYPHONE_DEFAULT_LANGUAGE: "rm" });
    expect(error.message).toMatch(/MYPHONE_DEFAULT_LANGUAGE: no template for "rm"/);
  });

  test("`myphone serve` exits with the message on stderr and never prints the secret", async () => {
    const { authToken } = newTwilioCredentials();
    const failed = await run(process.execPath, [CLI, "serve"], {
      env: {
        ...process.env,
        MYPHONE_DATA_DIR: dataDir,
        MYPHONE_PORT: "0",
        MYPHONE_SMS_PROVIDER: "twilio",
        MYPHONE_TWILIO_AUTH_TOKEN: authToken,
      },
      timeout: 30_000,
    }).then(
      () => undefined,
      (error: { code: number; stdout: string; stderr: string }) => error,
    );
    expect(failed?.code).toBe(1);
    expect(failed!.stderr).toMatch(/MYPHONE_TWILIO_ACCOUNT_SID: required/);
    expect(failed!.stderr).toMatch(/MYPHONE_TWILIO_FROM: required/);
    expect(failed!.stderr).not.toMatch(/MYPHONE_TWILIO_AUTH_TOKEN/);
    expect(failed!.stdout + failed!.stderr).not.toContain(authToken);
  });
});
