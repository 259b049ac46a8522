import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import http, { type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";
import { startTestServer, type TestServer } from "../support/test-server.js";
import { FAST_RETRIES, addUser, setPhone, swissMobile, verifyCode } from "./notify-kit.js";

/**
 * Issue 20, items 1 and 2: the webhook posts ZITADEL's HTTP SMS provider body field for field and signs it as ZITADEL
 * does (`ZITADEL-Signature`), or per Standard Webhooks when configured. The receiver below is written from ZITADEL's
 * sources and the Standard Webhooks spec alone: it parses the documented shape and checks signatures with its own
 * node:crypto code, never with myphone's signer or the standardwebhooks library.
 */

interface Received {
  readonly headers: IncomingHttpHeaders;
  readonly raw: Buffer;
  readonly body: any;
}

/** A loopback receiver that records every POST and answers 200, or the next of `statuses` while there are some. */
async function startReceiver(
  statuses: number[] = [],
): Promise<{ url: string; received: Received[]; next(): Promise<Received>; close(): Promise<void> }> {
  const received: Received[] = [];
  const waiting: ((request: Received) => void)[] = [];
  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      const raw = Buffer.concat(chunks);
      const entry = { headers: request.headers, raw, body: JSON.parse(raw.toString("utf8")) };
      received.push(entry);
      waiting.shift()?.(entry);
      response.writeHead(statuses.shift() ?? 200).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/sms`,
    received,
    next: () =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error("no webhook call within 10 s")), 10_000);
        waiting.push((request) => {
          clearTimeout(timer);
          resolve(request);
        });
      }),
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** ZITADEL's validator (pkg/actions/signing.go): `t=<unix>,v1=<hex>`; HMAC-SHA256(key, "<t>.<body>"); at most 300 s old. */
function zitadelSignatureValid(
  header: string | undefined,
  raw: Buffer,
  key: string,
  nowSeconds = Date.now() / 1000,
): boolean {
  const parts = new Map<string, string[]>();
  for (const pair of (header ?? "").split(",")) {
    const [name = "", value = ""] = pair.split("=");
    parts.set(name, [...(parts.get(name) ?? []), value]);
  }
  const t = Number(parts.get("t")?.[0]);
  if (!Number.isInteger(t) || nowSeconds - t > 300) return false;
  const mac = createHmac("sha256", Buffer.from(key, "utf8"));
  mac.update(String(t));
  mac.update(".");
  mac.update(raw);
  const expected = mac.digest();
  return (parts.get("v1") ?? []).some((hex) => {
    const given = Buffer.from(hex, "hex");
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
}

/** Standard Webhooks (standardwebhooks.com, spec "Verifying webhook signatures"): base64 HMAC-SHA256 of "<id>.<timestamp>.<body>" under the secret's bytes, `v1,<sig>` among space-separated signatures, timestamp within 5 minutes. */
function standardWebhooksValid(
  headers: IncomingHttpHeaders,
  raw: Buffer,
  secret: string,
  nowSeconds = Date.now() / 1000,
): boolean {
  const id = String(headers["webhook-id"]);
  const timestamp = Number(headers["webhook-timestamp"]);
  if (!Number.isInteger(timestamp) || Math.abs(nowSeconds - timestamp) > 300) return false;
  const key = Buffer.from(secret.replace(/^whsec_/, ""), "base64");
  const expected = createHmac("sha256", key).update(`${id}.${timestamp}.`).update(raw).digest();
  return String(headers["webhook-signature"] ?? "")
    .split(" ")
    .some((entry) => {
      const [version, signature = ""] = entry.split(",");
      const given = Buffer.from(signature, "base64");
      return version === "v1" && given.length === expected.length && timingSafeEqual(given, expected);
    });
}

/** A signing key shaped like ZITADEL's (36 letters and digits). */
const zitadelKey = () =>
  randomBytes(27)
    .toString("base64")
    .replace(/[^A-Za-z0-9]/g, "x")
    .slice(0, 36);

/**
 * The keys of `args` ZITADEL sends for VerifyPhone, written from its source: NotificationArguments.ToMap
 * (internal/domain/notification.go), `Code` (notification_worker.go) and mapNotifyUserToArgs
 * (internal/notification/types/user_email.go), first letter lower-cased (types/user_phone.go).
 */
const ZITADEL_ARGS = [
  "origin",
  "domain",
  "expiry",
  "tempUsername",
  "applicationName",
  "codeID",
  "sessionID",
  "authRequestID",
  "code",
  "userID",
  "orgID",
  "userName",
  "firstName",
  "lastName",
  "nickName",
  "displayName",
  "lastEmail",
  "verifiedEmail",
  "lastPhone",
  "verifiedPhone",
  "preferredLoginName",
  "loginName",
  "loginNames",
  "changeDate",
  "creationDate",
];
const ENGLISH_TEXT = "A new phone number has been added. Please use the following code to verify it ";
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;

let receiver: Awaited<ReturnType<typeof startReceiver>>;
let server: TestServer | undefined;

beforeEach(async () => {
  receiver = await startReceiver();
});

afterEach(async () => {
  await server?.stop();
  server = undefined;
  await receiver.close();
});

const webhookEnv = (env: Record<string, string>) => ({
  ...FAST_RETRIES,
  MYPHONE_SMS_PROVIDER: "webhook",
  MYPHONE_SMS_WEBHOOK_URL: receiver.url,
  ...env,
});

describe("ZITADEL's body and signature (the default)", () => {
  test("the body is ZITADEL's, field for field: contextInfo, lower-camel templateData, args with every VerifyPhone variable", async () => {
    const key = zitadelKey();
    server = await startTestServer(webhookEnv({ MYPHONE_SMS_WEBHOOK_SECRET: key }));
    const user = await addUser(server, { userName: "bob", displayName: "Bob B." });
    const arrival = receiver.next();
    await setPhone(server, user.token, "+41 79 555 11 22");
    const { body, headers } = await arrival;

    expect(Object.keys(body)).toEqual(["contextInfo", "templateData", "args"]);
    expect(body.contextInfo).toEqual({
      eventType: "user.human.phone.code.added",
      provider: { id: expect.any(String), description: expect.any(String) },
      recipientPhoneNumber: "+41795551122",
    });
    const code: string = body.args.code;
    expect(code).toMatch(/^[A-Z0-9]{6}$/);
    expect(body.templateData).toEqual({
      title: "Verify phone",
      preHeader: "Verify phone",
      subject: "Verify phone",
      text: ENGLISH_TEXT + code,
      buttonText: "Verify phone",
      // ZITADEL's defaults when no label policy sets colours (internal/notification/templates/templateData.go).
      primaryColor: "#5282C1",
      backgroundColor: "#fafafa",
      fontColor: "#22292f",
      fontFamily: "-apple-system, BlinkMacSystemFont, Segoe UI, Lato, Arial, Helvetica, sans-serif",
    });
    expect(Object.keys(body.args).sort()).toEqual([...ZITADEL_ARGS].sort());
    expect(body.args).toMatchObject({
      code,
      userID: user.userId,
      orgID: "200000000000000001",
      userName: "bob",
      displayName: "Bob B.",
      loginName: "bob",
      preferredLoginName: "bob",
      loginNames: ["bob"],
      lastPhone: "+41795551122",
      expiry: 3_600_000_000_000,
      firstName: "",
      lastName: "",
      nickName: "",
      lastEmail: "",
      verifiedEmail: "",
      verifiedPhone: "",
      origin: "",
      domain: "",
    });
    expect(body.args.creationDate).toMatch(RFC3339);
    expect(body.args.changeDate).toMatch(RFC3339);

    expect(headers["content-type"]).toMatch(/^application\/json/);
    expect(headers["zitadel-signature"]).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
    expect(headers["webhook-signature"]).toBeUndefined();
    expect(await verifyCode(server, user.token, code)).toBe(200);
  });

  test("ZITADEL-Signature verifies with the key; a wrong key, a changed body or an old timestamp would be refused", async () => {
    const key = zitadelKey();
    server = await startTestServer(webhookEnv({ MYPHONE_SMS_WEBHOOK_SECRET: key }));
    const user = await addUser(server);
    const arrival = receiver.next();
    await setPhone(server, user.token, swissMobile(810));
    const { headers, raw } = await arrival;
    const signature = String(headers["zitadel-signature"]);
    const t = Number(/^t=(\d+)/.exec(signature)![1]);
    expect(Math.abs(Date.now() / 1000 - t)).toBeLessThan(30);

    expect(zitadelSignatureValid(signature, raw, key)).toBe(true);
    expect(zitadelSignatureValid(signature, raw, zitadelKey())).toBe(false);
    const tampered = Buffer.from(raw.toString("utf8").replace(/"\+41\d+"/g, '"+41790000000"'));
    expect(tampered.equals(raw)).toBe(false);
    expect(zitadelSignatureValid(signature, tampered, key)).toBe(false);
    expect(zitadelSignatureValid(signature, raw, key, t + 301)).toBe(false);
    // The same body signed 400 s ago with the right key: still refused for its age.
    const oldT = t - 400;
    const old = `t=${oldT},v1=${createHmac("sha256", key).update(`${oldT}.`).update(raw).digest("hex")}`;
    expect(zitadelSignatureValid(old, raw, key, oldT + 1)).toBe(true);
    expect(zitadelSignatureValid(old, raw, key)).toBe(false);
  });

  test("a retried call carries the same idempotency key (webhook-id) and a valid signature", async () => {
    await receiver.close();
    receiver = await startReceiver([503]);
    const key = zitadelKey();
    server = await startTestServer(webhookEnv({ MYPHONE_SMS_WEBHOOK_SECRET: key }));
    const user = await addUser(server);
    const first = receiver.next();
    await setPhone(server, user.token, swissMobile(811));
    await first;
    const retry = await receiver.next();
    expect(receiver.received.map((call) => call.headers["webhook-id"])).toEqual([
      `phone-code:${user.userId}:3`,
      `phone-code:${user.userId}:3`,
    ]);
    expect(zitadelSignatureValid(String(retry.headers["zitadel-signature"]), retry.raw, key)).toBe(true);
  });

  test("without a key nothing is signed", async () => {
    server = await startTestServer(webhookEnv({}));
    const user = await addUser(server);
    const arrival = receiver.next();
    await setPhone(server, user.token, swissMobile(812));
    const { headers } = await arrival;
    expect(headers["zitadel-signature"]).toBeUndefined();
    expect(headers["webhook-signature"]).toBeUndefined();
  });

  test("texts follow the user's language: templateData's title and text in German", async () => {
    server = await startTestServer(webhookEnv({ MYPHONE_SMS_WEBHOOK_SECRET: zitadelKey() }));
    const user = await addUser(server, { language: "de" });
    const arrival = receiver.next();
    await setPhone(server, user.token, swissMobile(813));
    const { body } = await arrival;
    expect(body.templateData).toMatchObject({
      title: "Telefonnummer bestätigen",
      text: `Diese Telefonnummer wurde neu hinterlegt. Zur Bestätigung gib bitte diesen Code ein: ${body.args.code}`,
    });
  });
});

describe("the settings that change it", () => {
  test("MYPHONE_SMS_WEBHOOK_SIGNING=standard-webhooks: webhook-id, webhook-timestamp, webhook-signature, checked independently", async () => {
    const secret = `whsec_${randomBytes(32).toString("base64")}`;
    server = await startTestServer(
      webhookEnv({ MYPHONE_SMS_WEBHOOK_SECRET: secret, MYPHONE_SMS_WEBHOOK_SIGNING: "standard-webhooks" }),
    );
    const user = await addUser(server);
    const arrival = receiver.next();
    await setPhone(server, user.token, swissMobile(820));
    const { headers, raw, body } = await arrival;
    expect(headers["zitadel-signature"]).toBeUndefined();
    expect(headers["webhook-signature"]).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
    expect(body.templateData.text).toBe(ENGLISH_TEXT + body.args.code);

    expect(standardWebhooksValid(headers, raw, secret)).toBe(true);
    expect(standardWebhooksValid(headers, raw, `whsec_${randomBytes(32).toString("base64")}`)).toBe(false);
    expect(standardWebhooksValid(headers, Buffer.concat([raw, Buffer.from(" ")]), secret)).toBe(false);
    expect(standardWebhooksValid({ ...headers, "webhook-id": "another-id" }, raw, secret)).toBe(false);
    expect(standardWebhooksValid(headers, raw, secret, Number(headers["webhook-timestamp"]) + 301)).toBe(false);
  });

  test("MYPHONE_SMS_WEBHOOK_BODY=capitalised: templateData with Go's field names, every one present", async () => {
    server = await startTestServer(webhookEnv({ MYPHONE_SMS_WEBHOOK_BODY: "capitalised" }));
    const user = await addUser(server);
    const arrival = receiver.next();
    await setPhone(server, user.token, swissMobile(821));
    const { body } = await arrival;
    // TemplateData's fields in declaration order, serialised without JSON tags (ZITADEL before 5bdf1a454).
    expect(Object.keys(body.templateData)).toEqual([
      "Title",
      "PreHeader",
      "Subject",
      "Greeting",
      "Text",
      "URL",
      "ButtonText",
      "PrimaryColor",
      "BackgroundColor",
      "FontColor",
      "LogoURL",
      "FontURL",
      "FontFaceFamily",
      "FontFamily",
      "IncludeFooter",
      "FooterText",
    ]);
    expect(body.templateData).toMatchObject({
      Title: "Verify phone",
      Text: ENGLISH_TEXT + body.args.code,
      Greeting: "",
      IncludeFooter: false,
    });
    expect(Object.keys(body.args).sort()).toEqual([...ZITADEL_ARGS].sort());
  });
});
