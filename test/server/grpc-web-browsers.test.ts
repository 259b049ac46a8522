import http from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { build } from "esbuild";
import type { Browser, Page } from "playwright-core";
import type { ClientKind, Outcome } from "../browser/grpc-web-clients.js";
import { describeWithChromium, launchChromium } from "../support/chromium.js";
import { codeFromSms, startTestServer, type TestServer } from "../support/test-server.js";

/**
 * Issue 25: the browser gRPC-Web clients people use, in headless Chromium against a real server: Google's grpc-web
 * client in text mode (its default, application/grpc-web-text) and binary mode, and connect-web's gRPC-Web
 * transport, each bundled by esbuild (test/browser/grpc-web-clients.ts). The page comes from another origin, as
 * a browser app's usually does, so CORS is part of every call. Each client runs Set → SMS → Verify → Get and one
 * refusal, read as an app reads it: code, message, and the error id from the status details.
 */

const CLIENTS_ENTRY = join(__dirname, "..", "browser", "grpc-web-clients.ts");

/** Content types on the wire, as the browser's network layer saw them (requests to the API only). */
interface Wire {
  requests: string[];
  responses: string[];
}

const CLIENTS: { kind: ClientKind; sends: string; answers: string }[] = [
  { kind: "grpc-web text", sends: "application/grpc-web-text", answers: "application/grpc-web-text+proto" },
  { kind: "grpc-web binary", sends: "application/grpc-web+proto", answers: "application/grpc-web+proto" },
  { kind: "connect-web", sends: "application/grpc-web+proto", answers: "application/grpc-web+proto" },
];

describeWithChromium()("browser gRPC-Web clients in headless Chromium", () => {
  let browser: Browser;
  let server: TestServer;
  let pageOrigin: http.Server;
  let pageUrl: string;

  beforeAll(async () => {
    const bundle = await build({
      entryPoints: [CLIENTS_ENTRY],
      bundle: true,
      format: "iife",
      platform: "browser",
      target: ["es2020"],
      write: false,
      logLevel: "warning",
    });
    const script = bundle.outputFiles[0]!.contents;
    // The app's own origin: a page and its script, nothing else.
    pageOrigin = http.createServer((request, response) => {
      if (request.url === "/clients.js") {
        response.writeHead(200, { "content-type": "text/javascript" });
        response.end(script);
      } else {
        response.writeHead(200, { "content-type": "text/html; charset=utf-8" });
        response.end('<!doctype html><title>gRPC-Web clients</title><script src="/clients.js"></script>');
      }
    });
    await new Promise<void>((resolve) => pageOrigin.listen(0, "127.0.0.1", resolve));
    pageUrl = `http://127.0.0.1:${(pageOrigin.address() as AddressInfo).port}`;
    [browser, server] = await Promise.all([launchChromium(), startTestServer({ MYPHONE_CORS_ORIGINS: pageUrl })]);
  });

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    await new Promise((resolve) => pageOrigin?.close(resolve));
  });

  async function openPage(): Promise<{ page: Page; wire: Wire; pageErrors: string[] }> {
    const page = await browser.newPage();
    const wire: Wire = { requests: [], responses: [] };
    const pageErrors: string[] = [];
    page.on("pageerror", (error) => pageErrors.push(error.message));
    page.on("request", (request) => {
      if (request.url().startsWith(server.url) && request.method() === "POST")
        wire.requests.push(request.headers()["content-type"] ?? "");
    });
    page.on("response", (response) => {
      if (response.url().startsWith(server.url) && response.request().method() === "POST")
        wire.responses.push(response.headers()["content-type"] ?? "");
    });
    await page.goto(pageUrl);
    return { page, wire, pageErrors };
  }

  /** One call from the page through `kind`. */
  function call(
    page: Page,
    kind: ClientKind,
    token: string,
    method: string,
    request: Record<string, unknown>,
  ): Promise<Outcome> {
    return page.evaluate(
      ([kind, baseUrl, token, method, request]) =>
        (window as unknown as { myphoneClients: { call(...args: unknown[]): Promise<Outcome> } }).myphoneClients.call(
          kind,
          baseUrl,
          token,
          method,
          request,
        ),
      [kind, server.url, token, method, request] as const,
    );
  }

  let phones = 0;

  describe.each(CLIENTS)("$kind", ({ kind, sends, answers }) => {
    test("Set → SMS → Verify → Get, then a refusal read as code, message and error id", async () => {
      const user = await server.addUser();
      const phone = `+4179${7_000_000 + ++phones}`;
      const { page, wire, pageErrors } = await openPage();
      try {
        const mark = server.logs.length;
        const set = await call(page, kind, user.token, "setMyPhone", { phone });
        expect(set).toMatchObject({ ok: { details: { sequence: "3", resourceOwner: user.orgId } } });

        const code = codeFromSms(await server.waitForSms(phone, mark));
        expect(await call(page, kind, user.token, "verifyMyPhone", { code })).toMatchObject({
          ok: { details: { resourceOwner: user.orgId } },
        });
        expect(await call(page, kind, user.token, "getMyPhone", {})).toMatchObject({
          ok: { phone: { phone, isPhoneVerified: true } },
        });

        expect(await call(page, kind, user.token, "setMyPhone", { phone })).toEqual({
          error: { code: 9, message: "Phone not changed (COMMAND-wF94r)", id: "COMMAND-wF94r" },
        });

        // The browser sent and got what this client's mode means, and the server saw gRPC-Web calls from this user.
        expect(new Set(wire.requests)).toEqual(new Set([sends]));
        expect(new Set(wire.responses)).toEqual(new Set([answers]));
        const calls = server.logs.filter((line) => line.msg === "rpc" && line.userId === user.userId);
        expect(calls.map((line) => `${String(line.rpc).split("/")[1]} ${line.protocol} ${line.status}`)).toEqual([
          "SetMyPhone grpc-web ok",
          "VerifyMyPhone grpc-web ok",
          "GetMyPhone grpc-web ok",
          "SetMyPhone grpc-web failed_precondition",
        ]);
        expect(pageErrors).toEqual([]);
      } finally {
        await page.close();
      }
    });
  });
});
