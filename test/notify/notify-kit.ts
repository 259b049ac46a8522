import type { EventStore, OutboxJob } from "../../src/eventstore/event-store.js";
import {
  newTwilioCredentials,
  newWebhookSecret,
  newZitadelSigningKey,
  startFakeTwilio,
  startFakeWebhook,
  type FakeSmsServer,
  type FakeWebhookSigning,
} from "../support/fake-sms-servers.js";
import type { TestServer } from "../support/test-server.js";

/** Shared steps of the SMS delivery tests: REST calls as a user makes them, outbox and metric reads. */

/** Quick retries and a short provider timeout, so retry and dead-letter paths finish within seconds. */
export const FAST_RETRIES = {
  MYPHONE_SMS_POLL_INTERVAL: "50ms",
  MYPHONE_SMS_RETRY_BASE: "50ms",
  MYPHONE_SMS_RETRY_MAX: "200ms",
  MYPHONE_SMS_TIMEOUT: "500ms",
  MYPHONE_SMS_LEASE: "10s",
  MYPHONE_SMS_MAX_ATTEMPTS: "3",
  MYPHONE_ABUSE_LIMITS: "off",
} as const;

/** A Swiss mobile number, distinct per `i`. */
export const swissMobile = (i: number) => `+41791${String(i).padStart(6, "0")}`;

/** Creates a human user the way `myphone users add` does; returns its id and a token. */
export async function addUser(
  server: TestServer,
  options: { language?: string; displayName?: string; userName?: string } = {},
) {
  const userId = `${Date.now()}${String(Math.floor(Math.random() * 1e6)).padStart(6, "0")}`;
  const userName = options.userName ?? `user-${userId}`;
  await server.commands.execute(
    userId,
    { type: "AddHumanUser", userName, preferredLanguage: options.language, displayName: options.displayName },
    "200000000000000001",
  );
  return { userId, userName, token: await server.issuer.mint(userId, 600) };
}

async function rest(server: { url: string }, token: string, method: string, path: string, body?: unknown) {
  const response = await fetch(`${server.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  return { status: response.status, json: (await response.json()) as Record<string, any> };
}

/** SetMyPhone over REST; resolves with the code event's sequence. */
export async function setPhone(server: { url: string }, token: string, phone: string): Promise<number> {
  const { status, json } = await rest(server, token, "PUT", "/auth/v1/users/me/phone", { phone });
  if (status !== 200) throw new Error(`SetMyPhone answered ${status}: ${JSON.stringify(json)}`);
  return Number(json.details.sequence);
}

/** ResendMyPhoneVerification over REST. */
export async function resendCode(server: { url: string }, token: string): Promise<number> {
  const { status, json } = await rest(server, token, "POST", "/auth/v1/users/me/phone/_resend_verification", {});
  if (status !== 200) throw new Error(`Resend answered ${status}: ${JSON.stringify(json)}`);
  return Number(json.details.sequence);
}

/** VerifyMyPhone over REST; resolves with the HTTP status. */
export async function verifyCode(server: { url: string }, token: string, code: string): Promise<number> {
  return (await rest(server, token, "POST", "/auth/v1/users/me/phone/_verify", { code })).status;
}

/** Waits until no SMS job is pending (each is done or dead). */
export async function outboxSettled(store: EventStore, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while ((await store.outbox.list("pending")).length > 0) {
    if (Date.now() > deadline) throw new Error(`SMS jobs still pending after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** The dead job with this idempotency key, if any. */
export async function deadJob(store: EventStore, key: string): Promise<OutboxJob | undefined> {
  return (await store.outbox.list("dead")).find((job) => job.idempotencyKey === key);
}

/** `myphone_sms_sends_total{provider, outcome}` as the server's `/metrics` shows it (0 when absent). */
export async function jobsCounted(server: { adminUrl?: string }, provider: string, outcome: string): Promise<number> {
  const text = await (await fetch(`${server.adminUrl}/metrics`, { signal: AbortSignal.timeout(10_000) })).text();
  const line = text
    .split("\n")
    .find((entry) => entry.startsWith(`myphone_sms_sends_total{provider="${provider}",outcome="${outcome}"} `));
  return line ? Number(line.split(" ").at(-1)) : 0;
}

/** A provider under test: its fake far side and the environment pointing myphone at it. */
export interface ProviderUnderTest {
  readonly fake: FakeSmsServer;
  readonly env: Record<string, string>;
  /** Secrets that must never appear in logs. */
  readonly secrets: string[];
}

/**
 * A webhook fake checking Basic auth and a signature, ZITADEL's `ZITADEL-Signature` unless `scheme` says Standard
 * Webhooks, and the env pointing myphone at it.
 */
export async function webhookUnderTest(
  options: { scheme?: FakeWebhookSigning["scheme"]; shape?: "zitadel" | "capitalised" } = {},
): Promise<ProviderUnderTest> {
  const scheme = options.scheme ?? "zitadel";
  const signing: FakeWebhookSigning =
    scheme === "zitadel" ? { scheme, key: newZitadelSigningKey() } : { scheme, secret: newWebhookSecret() };
  const secret = signing.scheme === "zitadel" ? signing.key : signing.secret;
  const password = `pw-${Math.random().toString(36).slice(2)}`;
  const fake = await startFakeWebhook({
    path: "/hooks/sms",
    signing,
    shape: options.shape,
    basicAuth: { user: "myphone", password },
  });
  const url = new URL("/hooks/sms", fake.url);
  url.username = "myphone";
  url.password = password;
  return {
    fake,
    env: {
      MYPHONE_SMS_PROVIDER: "webhook",
      MYPHONE_SMS_WEBHOOK_URL: url.toString(),
      MYPHONE_SMS_WEBHOOK_SECRET: secret,
      MYPHONE_SMS_WEBHOOK_SIGNING: scheme,
      ...(options.shape ? { MYPHONE_SMS_WEBHOOK_BODY: options.shape } : {}),
    },
    secrets: [secret, secret.replace(/^whsec_/, ""), password, Buffer.from(`myphone:${password}`).toString("base64")],
  };
}

/** A Twilio fake with a sender number, and the env for it. */
export async function twilioUnderTest(): Promise<ProviderUnderTest> {
  const { accountSid, authToken } = newTwilioCredentials();
  const fake = await startFakeTwilio({ accountSid, authToken, from: "+15005550006" });
  return {
    fake,
    env: {
      MYPHONE_SMS_PROVIDER: "twilio",
      MYPHONE_TWILIO_ACCOUNT_SID: accountSid,
      MYPHONE_TWILIO_AUTH_TOKEN: authToken,
      MYPHONE_TWILIO_FROM: "+15005550006",
      MYPHONE_TWILIO_BASE_URL: fake.url,
    },
    secrets: [authToken, Buffer.from(`${accountSid}:${authToken}`).toString("base64")],
  };
}
