import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { EventEmitter } from "node:events";
import http, { type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { performance } from "node:perf_hooks";
import { Webhook } from "standardwebhooks";

/**
 * Fakes of the far side of an SMS provider: real HTTP servers on loopback that check every request the way the
 * real service would (method, path, auth, headers, body; for the webhook the signature: ZITADEL's checked here with
 * node:crypto as ZITADEL's pkg/actions/signing.go validates it, Standard Webhooks with the `standardwebhooks`
 * library) and answer as told: accept, a given status, hang, or be down.
 */

/**
 * The idempotency key a fake receives as `id` for the SMS of the code event at `sequence`: the documented format
 * (README, `webhook-id`), written out here rather than imported from src/commands/user-commands.ts so a change of it
 * fails the tests.
 */
export const jobKey = (userId: string, sequence: number) => `phone-code:${userId}:${sequence}`;

/** How the fake answers the next well-formed request. */
export type FakeAnswer =
  | { readonly kind: "accept" }
  /** `body` may be computed from the request, e.g. an error that quotes the message back. */
  | {
      readonly kind: "status";
      readonly status: number;
      readonly body?: FakeBody;
      readonly headers?: Readonly<Record<string, string>>;
    }
  /** Reads the request and never answers (the client's timeout must fire). */
  | { readonly kind: "hang" }
  /**
   * Accepts the SMS (it is recorded as delivered at once, as a real provider has it queued) but writes the 2xx
   * answer only `delayMs` later: an answer still on its way when the client's timeout fires.
   */
  | { readonly kind: "late"; readonly delayMs: number };

/** A JSON answer body, or a function computing it from the request. */
export type FakeBody = Record<string, unknown> | unknown[] | string | ((request: FakeSmsRequest) => unknown);

/** A request that passed every check. */
export interface FakeSmsRequest {
  /** The idempotency key: `webhook-id` (webhook) or `I-Twilio-Idempotency-Token` (Twilio). */
  readonly id: string;
  readonly to: string;
  readonly text: string;
  /** The verification code: `args.code` (webhook), or read from the text (Twilio). */
  readonly code: string;
  readonly body: unknown;
  readonly headers: IncomingHttpHeaders;
  /** `performance.now()` when the request was complete, for latency measurements in the same process. */
  readonly receivedAt: number;
  /** The status the fake answered, or 0 when it hung. */
  readonly answered: number;
}

/** A request that failed a check; the fake answered it with 400 (or 401 for bad credentials). */
export interface FakeSmsRejection {
  readonly reason: string;
  readonly method: string | undefined;
  readonly path: string | undefined;
}

export interface FakeSmsServer {
  /** Base URL (`http://127.0.0.1:port`). */
  readonly url: string;
  /** Every well-formed request, whatever it was answered. */
  readonly requests: FakeSmsRequest[];
  /** Well-formed requests answered with 2xx. */
  readonly delivered: FakeSmsRequest[];
  readonly rejected: FakeSmsRejection[];
  /** Answers the next requests with `answers` in order; the last one then stays. */
  answer(...answers: FakeAnswer[]): void;
  /** Closes the listening socket (connections are refused) or reopens it on the same port. */
  setDown(down: boolean): Promise<void>;
  /** Resolves once `predicate()` holds (checked after every request), or rejects after `timeoutMs`. */
  waitFor(predicate: () => boolean, timeoutMs?: number): Promise<void>;
  /** Resolves with the delivered requests once there are at least `count`. */
  waitForDeliveries(count: number, timeoutMs?: number): Promise<FakeSmsRequest[]>;
  /** Calls `listener` for every delivered request (for benchmarks). */
  onDelivery(listener: (request: FakeSmsRequest) => void): void;
  close(): Promise<void>;
}

export const ACCEPT: FakeAnswer = { kind: "accept" };
export const HANG: FakeAnswer = { kind: "hang" };
export const late = (delayMs: number): FakeAnswer => ({ kind: "late", delayMs });
export const status = (code: number, body?: FakeBody, headers?: Record<string, string>): FakeAnswer => ({
  kind: "status",
  status: code,
  body,
  headers,
});

const E164 = /^\+[1-9]\d{6,14}$/;
const MAX_BODY_BYTES = 64 * 1024;

/** The outcome of checking one request: a rejection, or what the request carried. */
type Checked =
  | { readonly ok: false; readonly reason: string; readonly status?: number; readonly body?: unknown }
  | {
      readonly ok: true;
      readonly id: string;
      readonly to: string;
      readonly text: string;
      readonly code: string;
      readonly body: unknown;
    };

interface Protocol {
  check(request: IncomingMessage, raw: Buffer): Checked;
  /** The 2xx answer for an accepted request. */
  accepted(checked: Extract<Checked, { ok: true }>): { status: number; body: unknown };
}

/** Shared machinery: listening, answering as told, recording, waiting. */
async function startFake(protocol: Protocol): Promise<FakeSmsServer> {
  const requests: FakeSmsRequest[] = [];
  const delivered: FakeSmsRequest[] = [];
  const rejected: FakeSmsRejection[] = [];
  const events = new EventEmitter();
  events.setMaxListeners(0);
  let answers: FakeAnswer[] = [ACCEPT];

  const nextAnswer = (): FakeAnswer => (answers.length > 1 ? answers.shift()! : answers[0]!);

  const handle = (request: IncomingMessage, response: ServerResponse, raw: Buffer) => {
    const checked = protocol.check(request, raw);
    if (!checked.ok) {
      rejected.push({ reason: checked.reason, method: request.method, path: request.url });
      respondJson(response, checked.status ?? 400, checked.body ?? { error: checked.reason });
      events.emit("request");
      return;
    }
    const answer = nextAnswer();
    const record = (answered: number): FakeSmsRequest => ({
      id: checked.id,
      to: checked.to,
      text: checked.text,
      code: checked.code,
      body: checked.body,
      headers: request.headers,
      receivedAt: performance.now(),
      answered,
    });
    if (answer.kind === "hang") {
      requests.push(record(0));
    } else if (answer.kind === "status") {
      const entry = record(answer.status);
      requests.push(entry);
      if (answer.status >= 200 && answer.status < 300) {
        delivered.push(entry);
        events.emit("delivery", entry);
      }
      respondJson(
        response,
        answer.status,
        (typeof answer.body === "function" ? answer.body(entry) : answer.body) ?? {},
        answer.headers,
      );
    } else {
      const { status: code, body } = protocol.accepted(checked);
      const entry = record(code);
      requests.push(entry);
      delivered.push(entry);
      events.emit("delivery", entry);
      if (answer.kind === "late") setTimeout(() => respondJson(response, code, body), answer.delayMs);
      else respondJson(response, code, body);
    }
    events.emit("request");
  };

  const loopback = await listenOnLoopback((request, response, raw) => {
    if (raw) return handle(request, response, raw);
    rejected.push({ reason: `body over ${MAX_BODY_BYTES} bytes`, method: request.method, path: request.url });
    respondJson(response, 413, {});
  }, events);
  const waitFor = (predicate: () => boolean, timeoutMs?: number) =>
    loopback.waitFor(
      predicate,
      timeoutMs,
      () =>
        `fake SMS server: ${requests.length} requests, ${delivered.length} delivered, ${rejected.length} rejected${rejected[0] ? `: ${rejected[0].reason}` : ""}`,
    );

  return {
    url: loopback.url,
    requests,
    delivered,
    rejected,
    answer(...next) {
      if (next.length === 0) throw new Error("answer() needs at least one answer");
      answers = [...next];
    },
    setDown: loopback.setDown,
    waitFor,
    async waitForDeliveries(count, timeoutMs) {
      await waitFor(() => delivered.length >= count, timeoutMs);
      return delivered.slice();
    },
    onDelivery(listener) {
      events.on("delivery", listener);
    },
    close: loopback.close,
  };
}

/** A fake's HTTP server on loopback: it can go down and come back on its port, and be waited on after each request. */
interface Loopback {
  readonly url: string;
  setDown(down: boolean): Promise<void>;
  /** Resolves once `predicate()` holds (checked after every "request" event), or rejects after `timeoutMs` saying `state()`. */
  waitFor(predicate: () => boolean, timeoutMs: number | undefined, state: () => string): Promise<void>;
  close(): Promise<void>;
}

/**
 * Listens on 127.0.0.1 (a free port) and hands `handle` each request with its whole body, or undefined when the body
 * exceeds MAX_BODY_BYTES. `events` must emit "request" after each handled request.
 */
async function listenOnLoopback(
  handle: (request: IncomingMessage, response: ServerResponse, raw: Buffer | undefined) => void,
  events: EventEmitter,
): Promise<Loopback> {
  const sockets = new Set<Socket>();
  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) chunks.push(chunk);
    });
    request.on("end", () => handle(request, response, size > MAX_BODY_BYTES ? undefined : Buffer.concat(chunks)));
  });
  server.on("connection", (socket: Socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
  });
  const listen = (port: number) =>
    new Promise<number>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, "127.0.0.1", () => {
        server.off("error", reject);
        resolve((server.address() as AddressInfo).port);
      });
    });
  const stop = () =>
    new Promise<void>((resolve) => {
      for (const socket of sockets) socket.destroy();
      if (!server.listening) return resolve();
      server.close(() => resolve());
    });
  const port = await listen(0);
  return {
    url: `http://127.0.0.1:${port}`,
    async setDown(down) {
      if (down) await stop();
      else if (!server.listening) await listen(port);
    },
    waitFor: (predicate, timeoutMs = 15_000, state) =>
      new Promise<void>((resolve, reject) => {
        const check = () => {
          if (!predicate()) return;
          clearTimeout(timer);
          events.off("request", check);
          resolve();
        };
        const timer = setTimeout(() => {
          events.off("request", check);
          reject(new Error(`condition not met within ${timeoutMs} ms (${state()})`));
        }, timeoutMs);
        events.on("request", check);
        check();
      }),
    close: stop,
  };
}

function respondJson(
  response: ServerResponse,
  statusCode: number,
  body: unknown,
  headers: Readonly<Record<string, string>> = {},
): void {
  response.writeHead(statusCode, { "content-type": "application/json", ...headers });
  response.end(JSON.stringify(body));
}

function header(request: IncomingMessage, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value.join(",") : value;
}

function basicAuth(user: string, password: string): string {
  return `Basic ${Buffer.from(`${user}:${password}`, "utf8").toString("base64")}`;
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);
const nonEmptyString = (value: unknown): value is string => typeof value === "string" && value !== "";

/** How a fake webhook receiver checks signatures. */
export type FakeWebhookSigning =
  | { readonly scheme: "zitadel"; readonly key: string }
  | { readonly scheme: "standard-webhooks"; readonly secret: string };

export interface FakeWebhookOptions {
  /** Path the webhook lives at (default `/sms`). */
  readonly path?: string;
  /** Every request must carry a valid signature of this scheme and key. Unset: none may. */
  readonly signing?: FakeWebhookSigning;
  /** The body's `templateData` keys: ZITADEL's lower camel case (`text`, default) or capitalised (`Text`). */
  readonly shape?: "zitadel" | "capitalised";
  /** HTTP Basic credentials every request must carry. */
  readonly basicAuth?: { readonly user: string; readonly password: string };
}

/** Seconds ZITADEL's own validator accepts a signature timestamp (pkg/actions/signing.go DefaultTolerance). */
const ZITADEL_SIGNATURE_TOLERANCE_S = 300;

/**
 * Checks a `ZITADEL-Signature` header the way ZITADEL's ValidatePayload does: `t=<unix>` and one or more
 * `v1=<hex>`, one of which must be HMAC-SHA256(key, "<t>.<body>"), the timestamp within the tolerance.
 * Returns what is wrong, or undefined.
 */
function zitadelSignatureProblem(header: string | undefined, raw: Buffer, key: string): string | undefined {
  if (!header) return "no ZITADEL-Signature header";
  let timestamp: number | undefined;
  const signatures: Buffer[] = [];
  for (const pair of header.split(",")) {
    const [name, value, extra] = pair.split("=");
    if (value === undefined || extra !== undefined) return `malformed ZITADEL-Signature part ${pair}`;
    if (name === "t") timestamp = /^\d+$/.test(value) ? Number(value) : NaN;
    if (name === "v1" && /^[0-9a-f]{64}$/.test(value)) signatures.push(Buffer.from(value, "hex"));
  }
  if (timestamp === undefined || Number.isNaN(timestamp)) return "ZITADEL-Signature has no timestamp";
  if (Date.now() / 1000 - timestamp > ZITADEL_SIGNATURE_TOLERANCE_S) return "ZITADEL-Signature timestamp is too old";
  const expected = createHmac("sha256", key).update(`${timestamp}.`).update(raw).digest();
  return signatures.some((signature) => timingSafeEqual(signature, expected)) ? undefined : "no valid v1 signature";
}

/** A webhook receiver expecting ZITADEL's HTTP SMS provider body (internal/notification/types/user_phone.go). */
export function startFakeWebhook(options: FakeWebhookOptions = {}): Promise<FakeSmsServer> {
  const path = options.path ?? "/sms";
  const signing = options.signing;
  const standardWebhooks = signing?.scheme === "standard-webhooks" ? new Webhook(signing.secret) : undefined;
  const expectedAuth = options.basicAuth ? basicAuth(options.basicAuth.user, options.basicAuth.password) : undefined;
  const textKey = options.shape === "capitalised" ? "Text" : "text";
  return startFake({
    check(request, raw) {
      if (request.method !== "POST") return { ok: false, reason: `method ${request.method}, expected POST` };
      if (request.url !== path) return { ok: false, reason: `path ${request.url}, expected ${path}`, status: 404 };
      if (header(request, "authorization") !== expectedAuth)
        return {
          ok: false,
          reason: expectedAuth ? "wrong or missing basic auth" : "unexpected authorization header",
          status: 401,
        };
      if (!header(request, "content-type")?.startsWith("application/json"))
        return { ok: false, reason: `content-type ${header(request, "content-type")}` };
      const id = header(request, "webhook-id");
      if (!nonEmptyString(id)) return { ok: false, reason: "no webhook-id" };
      if (signing?.scheme === "zitadel") {
        const problem = zitadelSignatureProblem(header(request, "zitadel-signature"), raw, signing.key);
        if (problem) return { ok: false, reason: `signature: ${problem}`, status: 401 };
      } else if (standardWebhooks) {
        try {
          standardWebhooks.verify(raw, {
            "webhook-id": id,
            "webhook-timestamp": header(request, "webhook-timestamp") ?? "",
            "webhook-signature": header(request, "webhook-signature") ?? "",
          });
        } catch (error) {
          return { ok: false, reason: `signature: ${(error as Error).message}`, status: 401 };
        }
      } else if (
        header(request, "webhook-signature") !== undefined ||
        header(request, "zitadel-signature") !== undefined
      ) {
        return { ok: false, reason: "signed although no key is configured" };
      }
      let body: unknown;
      try {
        body = JSON.parse(raw.toString("utf8"));
      } catch {
        return { ok: false, reason: "body is not JSON" };
      }
      if (!isObject(body) || !isObject(body.contextInfo) || !isObject(body.templateData) || !isObject(body.args)) {
        return { ok: false, reason: "body lacks contextInfo, templateData or args" };
      }
      const { contextInfo, templateData, args } = body;
      const to = contextInfo.recipientPhoneNumber;
      if (!nonEmptyString(to) || !E164.test(to))
        return { ok: false, reason: `recipientPhoneNumber ${String(to)} is not E.164` };
      if (contextInfo.eventType !== "user.human.phone.code.added")
        return { ok: false, reason: `eventType ${String(contextInfo.eventType)}` };
      if (
        !isObject(contextInfo.provider) ||
        !nonEmptyString(contextInfo.provider.id) ||
        typeof contextInfo.provider.description !== "string"
      ) {
        return { ok: false, reason: "contextInfo.provider needs id and description" };
      }
      const text = templateData[textKey];
      const code = args.code;
      if (!nonEmptyString(text)) return { ok: false, reason: `templateData.${textKey} is empty` };
      if (!nonEmptyString(code) || !text.includes(code))
        return { ok: false, reason: "args.code missing or not in the text" };
      if (args.lastPhone !== to) return { ok: false, reason: "args.lastPhone differs from the recipient" };
      return { ok: true, id, to, text, code, body };
    },
    accepted: () => ({ status: 200, body: { accepted: true } }),
  });
}

export interface FakeTwilioOptions {
  readonly accountSid: string;
  readonly authToken: string;
  /** Expected `From`; unset: none may be sent. */
  readonly from?: string;
  /** Expected `MessagingServiceSid`; unset: none may be sent. */
  readonly messagingServiceSid?: string;
}

/** Twilio's error body (https://www.twilio.com/docs/usage/twilios-response#response-formats-exceptions). */
export function twilioError(
  httpStatus: number,
  code: number,
  message: string | ((request: FakeSmsRequest) => string),
  headers?: Record<string, string>,
): FakeAnswer {
  const body = (request: FakeSmsRequest) => ({
    code,
    message: typeof message === "function" ? message(request) : message,
    more_info: `https://www.twilio.com/docs/errors/${code}`,
    status: httpStatus,
  });
  return status(httpStatus, body, headers);
}

/** Twilio's Messages API (`POST /2010-04-01/Accounts/{sid}/Messages.json`), as far as sending goes. */
export function startFakeTwilio(options: FakeTwilioOptions): Promise<FakeSmsServer> {
  const path = `/2010-04-01/Accounts/${options.accountSid}/Messages.json`;
  const expectedAuth = basicAuth(options.accountSid, options.authToken);
  const authError = {
    code: 20003,
    message: "Authenticate",
    more_info: "https://www.twilio.com/docs/errors/20003",
    status: 401,
  };
  return startFake({
    check(request, raw) {
      if (request.method !== "POST")
        return { ok: false, reason: `method ${request.method}, expected POST`, status: 405 };
      if (request.url !== path) return { ok: false, reason: `path ${request.url}, expected ${path}`, status: 404 };
      if (header(request, "authorization") !== expectedAuth)
        return { ok: false, reason: "wrong or missing basic auth", status: 401, body: authError };
      if (header(request, "content-type") !== "application/x-www-form-urlencoded")
        return { ok: false, reason: `content-type ${header(request, "content-type")}` };
      const id = header(request, "i-twilio-idempotency-token");
      if (!nonEmptyString(id)) return { ok: false, reason: "no I-Twilio-Idempotency-Token" };
      const form = new URLSearchParams(raw.toString("utf8"));
      const unknown = [...form.keys()].filter((key) => !["To", "From", "MessagingServiceSid", "Body"].includes(key));
      if (unknown.length > 0) return { ok: false, reason: `unexpected parameters ${unknown.join(", ")}` };
      const to = form.get("To");
      const text = form.get("Body");
      if (!to || !E164.test(to))
        return {
          ok: false,
          reason: `To ${to} is not E.164`,
          body: { code: 21211, message: "Invalid 'To' Phone Number", status: 400 },
        };
      if (!text)
        return {
          ok: false,
          reason: "empty Body",
          body: { code: 21602, message: "Message body is required.", status: 400 },
        };
      if ((form.get("From") ?? undefined) !== options.from)
        return { ok: false, reason: `From ${form.get("From")}, expected ${options.from}` };
      if ((form.get("MessagingServiceSid") ?? undefined) !== options.messagingServiceSid) {
        return {
          ok: false,
          reason: `MessagingServiceSid ${form.get("MessagingServiceSid")}, expected ${options.messagingServiceSid}`,
        };
      }
      return { ok: true, id, to, text, code: codeInText(text), body: Object.fromEntries(form) };
    },
    accepted: (checked) => ({
      status: 201,
      body: {
        sid: `SM${randomBytes(16).toString("hex")}`,
        account_sid: options.accountSid,
        to: checked.to,
        from: options.from ?? null,
        messaging_service_sid: options.messagingServiceSid ?? null,
        body: checked.text,
        status: options.messagingServiceSid ? "accepted" : "queued",
        num_segments: "1",
        direction: "outbound-api",
        api_version: "2010-04-01",
        date_created: new Date().toUTCString(),
        uri: `${path.slice(0, -".json".length)}/SM.json`,
      },
    }),
  });
}

/** The code in an SMS text: the `#code` of a WebOTP last line, else the last word. */
export function codeInText(text: string): string {
  const lastLine = text.trim().split("\n").at(-1)!;
  const webOtp = /^@\S+ #(\S+)$/.exec(lastLine);
  return webOtp ? webOtp[1]! : lastLine.split(/\s+/).at(-1)!;
}

/** A fresh signing key shaped like ZITADEL's (36 letters and digits). */
export function newZitadelSigningKey(): string {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  return [...randomBytes(36)].map((byte) => alphabet[byte % alphabet.length]).join("");
}

/** A fresh Standard Webhooks secret (`whsec_` + base64 of 32 random bytes). */
export function newWebhookSecret(): string {
  return `whsec_${randomBytes(32).toString("base64")}`;
}

/** Twilio-shaped credentials for the fake (AC + 32 hex, a 32-hex token). */
export function newTwilioCredentials(): { accountSid: string; authToken: string } {
  return { accountSid: `AC${randomBytes(16).toString("hex")}`, authToken: randomBytes(16).toString("hex") };
}

export interface FakeTwilioVerifyOptions {
  readonly accountSid: string;
  readonly authToken: string;
  /** The Verify service (`VA…`) whose endpoints the fake serves. */
  readonly serviceSid: string;
}

/** A verification as the fake Verify service keeps it. */
export interface FakeVerification {
  readonly sid: string;
  readonly to: string;
  /** The code "sent" by SMS. */
  readonly code: string;
  status: "pending" | "approved" | "expired";
  sends: number;
  checks: number;
}

/** One request to the fake Verify service that passed its checks. */
export interface FakeVerifyRequest {
  readonly route: "Verifications" | "VerificationCheck";
  readonly form: Readonly<Record<string, string>>;
  readonly headers: IncomingHttpHeaders;
  /** The HTTP status answered; 0 when it hung. */
  readonly answered: number;
}

export interface FakeTwilioVerifyServer {
  readonly url: string;
  readonly verifications: FakeVerification[];
  readonly requests: FakeVerifyRequest[];
  readonly rejected: FakeSmsRejection[];
  /** The code of the newest pending verification to `to` (what the user's phone shows). */
  codeFor(to: string): string | undefined;
  /** Ends every pending verification to `to`, as Twilio's 10 minutes do. */
  expire(to: string): void;
  /** Answers the next requests to `route` as told (a status with a Twilio error body, or hang) instead of normally. */
  interrupt(route: FakeVerifyRequest["route"], ...answers: FakeAnswer[]): void;
  setDown(down: boolean): Promise<void>;
  /** Resolves once `predicate()` holds (checked after every request). */
  waitFor(predicate: () => boolean, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

/** Twilio Verify's limits (https://www.twilio.com/docs/verify/api/rate-limits-and-timeouts): 5 sends and 5 checks per verification. */
const VERIFY_MAX_SENDS = 5;
const VERIFY_MAX_CHECKS = 5;

/**
 * Twilio Verify v2 (https://www.twilio.com/docs/verify/api/verification, …/verification-check) as far as SMS codes
 * go: `POST /v2/Services/{sid}/Verifications` (form `To`, `Channel=sms`; 201 with a `VE…` sid and `status: pending`;
 * a second start for a number with a pending verification re-sends the same code, the 6th gives 429 / 60203) and
 * `POST /v2/Services/{sid}/VerificationCheck` (form `Code` and `To` or `VerificationSid`; 200 with `status:
 * approved` or `pending`; 404 / 20404 when no verification is pending: expired, approved or unknown; 429 / 60202
 * after 5 wrong checks). Basic auth with account SID and token (401 / 20003 otherwise).
 */
export async function startFakeTwilioVerify(options: FakeTwilioVerifyOptions): Promise<FakeTwilioVerifyServer> {
  const base = `/v2/Services/${options.serviceSid}`;
  const expectedAuth = basicAuth(options.accountSid, options.authToken);
  const verifications: FakeVerification[] = [];
  const requests: FakeVerifyRequest[] = [];
  const rejected: FakeSmsRejection[] = [];
  const interruptions: Record<FakeVerifyRequest["route"], FakeAnswer[]> = { Verifications: [], VerificationCheck: [] };
  const events = new EventEmitter();
  events.setMaxListeners(0);

  const error = (status: number, code: number, message: string) => ({
    status,
    body: { code, message, more_info: `https://www.twilio.com/docs/errors/${code}`, status },
  });
  const pendingFor = (to: string) => verifications.filter((v) => v.to === to && v.status === "pending").at(-1);
  const resource = (v: FakeVerification) => ({
    sid: v.sid,
    service_sid: options.serviceSid,
    account_sid: options.accountSid,
    to: v.to,
    channel: "sms",
    status: v.status,
    valid: v.status === "approved",
    amount: null,
    payee: null,
    date_created: new Date().toISOString(),
    date_updated: new Date().toISOString(),
  });

  const start = (form: URLSearchParams): { status: number; body: unknown } => {
    const to = form.get("To") ?? "";
    if (!E164.test(to)) return error(400, 60200, "Invalid parameter `To`");
    if (form.get("Channel") !== "sms") return error(400, 60200, "Invalid parameter: Channel");
    let verification = pendingFor(to);
    if (verification) {
      if (verification.sends >= VERIFY_MAX_SENDS) return error(429, 60203, "Max send attempts reached");
      verification.sends++;
    } else {
      verification = {
        sid: `VE${randomBytes(16).toString("hex")}`,
        to,
        code: String(100000 + (randomBytes(4).readUInt32BE() % 900000)),
        status: "pending",
        sends: 1,
        checks: 0,
      };
      verifications.push(verification);
    }
    return {
      status: 201,
      body: {
        ...resource(verification),
        lookup: {},
        send_code_attempts: [
          { attempt_sid: `VL${randomBytes(16).toString("hex")}`, channel: "sms", time: new Date().toISOString() },
        ],
      },
    };
  };

  const check = (form: URLSearchParams): { status: number; body: unknown } => {
    const code = form.get("Code") ?? "";
    const sid = form.get("VerificationSid");
    const to = form.get("To");
    if (!code) return error(400, 60200, "Invalid parameter: Code");
    if ((sid === null) === (to === null))
      return error(400, 60200, "Either a 'To' number or 'VerificationSid' must be specified");
    const verification =
      sid !== null ? verifications.find((v) => v.sid === sid && v.status === "pending") : pendingFor(to!);
    if (!verification) return error(404, 20404, `The requested resource ${base}/VerificationCheck was not found`);
    if (verification.checks >= VERIFY_MAX_CHECKS) return error(429, 60202, "Max check attempts reached");
    if (code === verification.code) verification.status = "approved";
    else verification.checks++;
    return { status: 200, body: resource(verification) };
  };

  const loopback = await listenOnLoopback((request, response, raw) => {
    const reject = (reason: string, status: number, body: unknown = { error: reason }) => {
      rejected.push({ reason, method: request.method, path: request.url });
      respondJson(response, status, body);
      events.emit("request");
    };
    if (!raw) return reject(`body over ${MAX_BODY_BYTES} bytes`, 413);
    const route =
      request.url === `${base}/Verifications`
        ? "Verifications"
        : request.url === `${base}/VerificationCheck`
          ? "VerificationCheck"
          : undefined;
    if (request.method !== "POST") return reject(`method ${request.method}`, 405);
    if (!route)
      return reject(`path ${request.url}`, 404, error(404, 20404, "The requested resource was not found").body);
    if (header(request, "authorization") !== expectedAuth)
      return reject("wrong or missing basic auth", 401, error(401, 20003, "Authenticate").body);
    if (header(request, "content-type") !== "application/x-www-form-urlencoded")
      return reject(`content-type ${header(request, "content-type")}`, 400);
    const form = new URLSearchParams(raw.toString("utf8"));
    const allowed = route === "Verifications" ? ["To", "Channel"] : ["Code", "To", "VerificationSid"];
    const unknown = [...form.keys()].filter((key) => !allowed.includes(key));
    if (unknown.length > 0) return reject(`unexpected parameters ${unknown.join(", ")}`, 400);
    const record = (answered: number) => {
      requests.push({ route, form: Object.fromEntries(form), headers: request.headers, answered });
      events.emit("request");
    };
    const interruption = interruptions[route].shift();
    if (interruption?.kind === "hang") return record(0);
    if (interruption?.kind === "status") {
      record(interruption.status);
      const body =
        typeof interruption.body === "function" ? interruption.body({} as FakeSmsRequest) : interruption.body;
      return respondJson(response, interruption.status, body ?? {}, interruption.headers);
    }
    const answer = route === "Verifications" ? start(form) : check(form);
    record(answer.status);
    respondJson(response, answer.status, answer.body);
  }, events);

  return {
    url: loopback.url,
    verifications,
    requests,
    rejected,
    codeFor: (to) => pendingFor(to)?.code,
    expire(to) {
      for (const verification of verifications)
        if (verification.to === to && verification.status === "pending") verification.status = "expired";
    },
    interrupt(route, ...answers) {
      interruptions[route].push(...answers);
    },
    setDown: loopback.setDown,
    waitFor: (predicate, timeoutMs) =>
      loopback.waitFor(
        predicate,
        timeoutMs,
        () =>
          `fake Twilio Verify: ${requests.length} requests, ${rejected.length} rejected${rejected[0] ? `: ${rejected[0].reason}` : ""}`,
      ),
    close: loopback.close,
  };
}

/** A Twilio Verify service SID for the fake (VA + 32 hex). */
export function newVerifyServiceSid(): string {
  return `VA${randomBytes(16).toString("hex")}`;
}
