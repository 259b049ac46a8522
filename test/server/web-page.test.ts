import { existsSync } from "node:fs";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { describeWithChromium, launchChromium } from "../support/chromium.js";
import { startFakeWebhook, type FakeSmsServer } from "../support/fake-sms-servers.js";
import { startTestServer, type TestServer } from "../support/test-server.js";

/**
 * Issue 6, acceptance 4: the self-service page at `/`, driven in headless Chromium (Debian's chromium package;
 * `npm test` installs it as root, test/support/chromium.ts) through the whole lifecycle against a real server, codes taken from the fake SMS webhook.
 */

const PAGE_BUNDLE = join(__dirname, "..", "..", "dist", "web", "app.js");

describeWithChromium()("the page at / in headless Chromium", () => {
  let browser: Browser;
  let webhook: FakeSmsServer;
  let server: TestServer;

  beforeAll(async () => {
    if (!existsSync(PAGE_BUNDLE))
      throw new Error(`${PAGE_BUNDLE} is missing: npm run build bundles the page (scripts/build-web.mjs)`);
    browser = await launchChromium();
    webhook = await startFakeWebhook();
    server = await startTestServer({ MYPHONE_SMS_PROVIDER: "webhook", MYPHONE_SMS_WEBHOOK_URL: `${webhook.url}/sms` });
  });

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    await webhook?.close();
  });

  /** Waits until `selector` shows exactly `text` (the page answers asynchronously). */
  async function shows(page: Page, selector: string, text: string | RegExp): Promise<void> {
    const locator = page.locator(selector);
    try {
      await locator.filter({ hasText: text }).waitFor({ state: "visible", timeout: 15_000 });
    } catch (error) {
      throw new Error(
        `${selector} shows ${JSON.stringify(await locator.textContent())}, not ${String(text)}: ${(error as Error).message}`,
      );
    }
  }

  /** A code of the same shape that is not `code`. */
  const wrongCode = (code: string) => (code === "AAAAAA" ? "BBBBBB" : "AAAAAA");

  test("paste a token, set a number, get a wrong code refused in plain words, resend, verify, remove", async () => {
    const user = await server.addUser();
    const page = await browser.newPage();
    const pageErrors: string[] = [];
    page.on("pageerror", (error) => pageErrors.push(error.message));
    try {
      const response = await page.goto(`${server.url}/`);
      expect(response?.status()).toBe(200);
      expect(response?.headers()["content-type"]).toBe("text/html; charset=utf-8");
      await expect(page.title()).resolves.toBe("My phone number");

      await page.click("#load");
      await shows(page, "#error", "Paste your access token first.");

      await page.fill("#token", user.token);
      await page.click("#load");
      await shows(page, "#current", "You have no phone number yet.");

      await page.fill("#phone", "+41 79 123 45 67");
      await page.click("#set");
      await shows(page, "#message", "We sent a code by SMS to your new number. Type it below.");
      await shows(page, "#current", "+41791234567: not verified yet");
      const [first] = await webhook.waitForDeliveries(1);
      expect(first!.to).toBe("+41791234567");

      await page.fill("#code", wrongCode(first!.code));
      await page.click("#verify");
      await shows(page, "#error", "That code is wrong or has expired. Check the SMS and try again.");

      await page.fill("#phone", "+41791234567");
      await page.click("#set");
      await shows(page, "#error", "That is already your phone number.");

      await page.click("#resend");
      await shows(page, "#message", "We sent a new code. Only the newest code works.");
      const deliveries = await webhook.waitForDeliveries(2);
      const second = deliveries[1]!;
      expect(second.code).not.toBe(first!.code);

      await page.fill("#code", second.code);
      await page.click("#verify");
      await shows(page, "#message", "Your phone number is verified.");
      await shows(page, "#current", "+41791234567: verified");
      expect(await page.locator("#verify-form").isVisible()).toBe(false);

      await page.click("#remove");
      await shows(page, "#message", "Your phone number was removed.");
      await shows(page, "#current", "You have no phone number yet.");

      await page.fill("#token", `${user.token}x`);
      await page.click("#load");
      await shows(page, "#error", "Your access token was not accepted. It may have expired: paste a fresh one.");

      // What the page did, the server saw: over gRPC-Web, from the browser.
      const calls = server.logs.filter((line) => line.msg === "rpc" && line.userId === user.userId);
      expect(new Set(calls.map((line) => line.protocol))).toEqual(new Set(["grpc-web"]));
      expect(pageErrors).toEqual([]);
    } finally {
      await page.close();
    }
  });

  test("a browser on another origin may call the API only where MYPHONE_CORS_ORIGINS allows that origin", async () => {
    const user = await server.addUser();
    // The page's server allows the other server's origin, not the other way round.
    const other = await startTestServer({ MYPHONE_CORS_ORIGINS: server.url });
    const page = await browser.newPage();
    const consoleLines: string[] = [];
    page.on("console", (message) => consoleLines.push(message.text()));
    const getMyPhone = (url: string, token: string) =>
      page.evaluate(
        async ([base, bearer]) => {
          try {
            const answer = await fetch(`${base}/zitadel.auth.v1.AuthService/GetMyPhone`, {
              method: "POST",
              headers: { "content-type": "application/json", authorization: `Bearer ${bearer}` },
              body: "{}",
            });
            return `${answer.status} ${await answer.text()}`;
          } catch (error) {
            return `refused: ${(error as Error).message}`;
          }
        },
        [url, token] as const,
      );
    try {
      // /healthz, not the page: the page's Content-Security-Policy lets it talk to its own origin only.
      await page.goto(`${server.url}/healthz`);
      // Preflighted (Authorization, JSON): allowed origin, so the browser sends the call and shows the answer.
      const otherUser = await other.addUser();
      expect(await getMyPhone(other.url, otherUser.token)).toMatch(/^200 \{"details":\{"sequence":"1"/);

      await page.goto(`${other.url}/healthz`);
      expect(await getMyPhone(server.url, user.token)).toMatch(/^refused: Failed to fetch/);
      expect(consoleLines.join("\n")).toMatch(/blocked by CORS policy/);
    } finally {
      await page.close();
      await other.stop();
    }
  });
});
