import { USER_AGGREGATE, UserEventType } from "../../src/domain/user-events.js";
import {
  ACCEPT,
  HANG,
  jobKey,
  late,
  status,
  twilioError,
  type FakeAnswer,
  type FakeSmsRequest,
} from "../support/fake-sms-servers.js";
import { startTestServer, type TestServer } from "../support/test-server.js";
import {
  FAST_RETRIES,
  addUser,
  deadJob,
  jobsCounted,
  outboxSettled,
  setPhone,
  swissMobile,
  twilioUnderTest,
  verifyCode,
  webhookUnderTest,
  type ProviderUnderTest,
} from "./notify-kit.js";

/**
 * Issue 4, acceptance 1: each provider against its fake on loopback. Success, 4xx (cancel or retry by the
 * provider's rules), 5xx and timeouts (retried, then dead after the limit), and a provider that is down while codes
 * are created (everything delivered once it is back).
 *
 * Delivery is at-least-once (README, SMS delivery): a provider that accepts an SMS but whose answer arrives after
 * MYPHONE_SMS_TIMEOUT looks like a failure, so the SMS goes again, with the same idempotency key. That is what a
 * loaded machine produced in 1 of 7 runs of the outage test below (the fake and the server share one event loop);
 * the tests assert the stated guarantee: every code delivered, and every delivery of a job carrying its one key
 * and its one code, so a receiver dropping duplicates by key shows each SMS once.
 */

/** The deliveries a receiver keeping the first of each idempotency key would show; fails if one key carried two codes. */
function deduplicatedByKey(delivered: readonly FakeSmsRequest[]): FakeSmsRequest[] {
  const first = new Map<string, FakeSmsRequest>();
  for (const request of delivered) {
    const seen = first.get(request.id);
    if (seen)
      expect({ id: request.id, code: request.code, to: request.to, text: request.text }).toEqual({
        id: seen.id,
        code: seen.code,
        to: seen.to,
        text: seen.text,
      });
    else first.set(request.id, request);
  }
  return [...first.values()];
}

interface ProviderCase {
  readonly name: "webhook" | "twilio";
  readonly start: () => Promise<ProviderUnderTest>;
  /** Answers meaning "never": the job must die after one attempt. */
  readonly cancel: ReadonlyArray<{ readonly label: string; readonly answer: FakeAnswer }>;
  /** 4xx answers meaning "not now": retried, then delivered. */
  readonly retry4xx: ReadonlyArray<{ readonly label: string; readonly answer: FakeAnswer }>;
  readonly serverError: FakeAnswer;
}

const cases: ProviderCase[] = [
  {
    name: "webhook",
    start: webhookUnderTest,
    cancel: [
      { label: "400", answer: status(400, { error: "bad number" }) },
      { label: "422", answer: status(422) },
    ],
    retry4xx: [
      { label: "429 with Retry-After", answer: status(429, {}, { "retry-after": "0" }) },
      { label: "408", answer: status(408) },
    ],
    serverError: status(503),
  },
  {
    name: "twilio",
    start: twilioUnderTest,
    cancel: [
      { label: "21211 invalid To", answer: twilioError(400, 21211, "The 'To' number is not a valid phone number.") },
      {
        label: "21610 unsubscribed recipient",
        answer: twilioError(400, 21610, "Attempt to send to unsubscribed recipient"),
      },
      {
        label: "21614 not a mobile number",
        answer: twilioError(400, 21614, "'To' number is not a valid mobile number"),
      },
      {
        label: "21408 region not enabled",
        answer: twilioError(400, 21408, "Permission to send an SMS has not been enabled for the region"),
      },
    ],
    retry4xx: [
      { label: "429 / 20429", answer: twilioError(429, 20429, "Too Many Requests", { "retry-after": "0" }) },
      { label: "401 / 20003 (our credentials, fixable)", answer: twilioError(401, 20003, "Authenticate") },
      {
        label: "400 / 21606 (our sender, fixable)",
        answer: twilioError(
          400,
          21606,
          "The 'From' phone number provided is not a valid message-capable Twilio phone number.",
        ),
      },
    ],
    serverError: twilioError(500, 20500, "Internal Server Error"),
  },
];

describe.each(cases)("$name provider", (providerCase) => {
  let provider: ProviderUnderTest;
  let server: TestServer;

  beforeEach(async () => {
    provider = await providerCase.start();
    server = await startTestServer({ ...FAST_RETRIES, ...provider.env });
  });

  afterEach(async () => {
    await server.stop();
    await provider.fake.close();
  });

  test("success: the SMS carries the code and the job's idempotency key, code.sent is recorded, and the code verifies", async () => {
    const user = await addUser(server);
    const sequence = await setPhone(server, user.token, "+41 79 555 00 01");
    const [sms] = await provider.fake.waitForDeliveries(1);
    expect(sms!.to).toBe("+41795550001");
    expect(sms!.id).toBe(jobKey(user.userId, sequence));
    expect(sms!.code).toMatch(/^[A-Z0-9]{6}$/);
    expect(sms!.text).toContain(sms!.code);
    await outboxSettled(server.store);
    const stream = await server.store.readStream(USER_AGGREGATE, user.userId);
    expect(stream.at(-1)!.type).toBe(UserEventType.phoneCodeSent);
    expect(await verifyCode(server, user.token, sms!.code)).toBe(200);
    expect(provider.fake.requests).toHaveLength(1);
    expect(provider.fake.rejected).toEqual([]);
    expect(server.logs.some((line) => line.msg === "sms sent" && line.provider === providerCase.name)).toBe(true);
  });

  test("4xx that means 'never' cancels the job after one attempt (dead, logged, counted)", async () => {
    const deadBefore = await jobsCounted(server, providerCase.name, "dead");
    for (const [index, { label, answer }] of providerCase.cancel.entries()) {
      provider.fake.answer(answer);
      const user = await addUser(server);
      const key = jobKey(user.userId, await setPhone(server, user.token, swissMobile(100 + index)));
      await outboxSettled(server.store);
      const job = await deadJob(server.store, key);
      expect({ label, dead: job !== undefined }).toEqual({ label, dead: true });
      expect({ label, attempts: provider.fake.requests.filter((request) => request.id === key).length }).toEqual({
        label,
        attempts: 1,
      });
      expect(
        server.logs.some(
          (line) => line.msg === "sms job is dead: the provider refused it for good" && line.job === job!.id,
        ),
      ).toBe(true);
    }
    expect(await jobsCounted(server, providerCase.name, "dead")).toBe(deadBefore + providerCase.cancel.length);
    expect(provider.fake.rejected).toEqual([]);
  });

  test("4xx that means 'not now' is retried, then delivered", async () => {
    for (const [index, { label, answer }] of providerCase.retry4xx.entries()) {
      provider.fake.answer(answer, ACCEPT);
      const user = await addUser(server);
      const key = jobKey(user.userId, await setPhone(server, user.token, swissMobile(200 + index)));
      await outboxSettled(server.store);
      const attempts = provider.fake.requests
        .filter((request) => request.id === key)
        .map((request) => request.answered);
      expect({ label, attempts: attempts.length, delivered: attempts.at(-1)! < 300 }).toEqual({
        label,
        attempts: 2,
        delivered: true,
      });
      expect(await deadJob(server.store, key)).toBeUndefined();
    }
  });

  test("5xx is retried until it succeeds", async () => {
    provider.fake.answer(providerCase.serverError, providerCase.serverError, ACCEPT);
    const user = await addUser(server);
    const key = jobKey(user.userId, await setPhone(server, user.token, swissMobile(300)));
    const [sms] = await provider.fake.waitForDeliveries(1);
    expect(sms!.id).toBe(key);
    expect(provider.fake.requests.map((request) => request.id)).toEqual([key, key, key]);
    await outboxSettled(server.store);
    expect(await verifyCode(server, user.token, sms!.code)).toBe(200);
  });

  test("5xx on every attempt: dead after MYPHONE_SMS_MAX_ATTEMPTS attempts", async () => {
    provider.fake.answer(providerCase.serverError);
    const deadBefore = await jobsCounted(server, providerCase.name, "dead");
    const user = await addUser(server);
    const key = jobKey(user.userId, await setPhone(server, user.token, swissMobile(400)));
    await outboxSettled(server.store);
    expect(await deadJob(server.store, key)).toBeDefined();
    expect(provider.fake.requests.filter((request) => request.id === key)).toHaveLength(
      Number(FAST_RETRIES.MYPHONE_SMS_MAX_ATTEMPTS),
    );
    expect(server.logs.filter((line) => line.msg === "sms delivery failed; will retry")).toHaveLength(
      Number(FAST_RETRIES.MYPHONE_SMS_MAX_ATTEMPTS) - 1,
    );
    expect(
      server.logs.some(
        (line) => line.msg === "sms job is dead: the attempt limit is reached" && line.userId === user.userId,
      ),
    ).toBe(true);
    expect(await jobsCounted(server, providerCase.name, "dead")).toBe(deadBefore + 1);
  });

  test("a provider that never answers times out; retried, then dead after the limit", async () => {
    provider.fake.answer(HANG);
    const user = await addUser(server);
    const key = jobKey(user.userId, await setPhone(server, user.token, swissMobile(500)));
    await outboxSettled(server.store);
    expect(await deadJob(server.store, key)).toBeDefined();
    expect(provider.fake.requests.filter((request) => request.id === key)).toHaveLength(
      Number(FAST_RETRIES.MYPHONE_SMS_MAX_ATTEMPTS),
    );
    const failures = server.logs.filter((line) => line.msg === "sms delivery failed; will retry");
    expect(failures.map((line) => line.error)).toEqual([
      `${providerCase.name} call failed: no answer within 500 ms`,
      `${providerCase.name} call failed: no answer within 500 ms`,
    ]);
  });

  test("a timeout followed by an answer is retried and delivered", async () => {
    provider.fake.answer(HANG, ACCEPT);
    const user = await addUser(server);
    const key = jobKey(user.userId, await setPhone(server, user.token, swissMobile(550)));
    const [sms] = await provider.fake.waitForDeliveries(1);
    expect(sms!.id).toBe(key);
    await outboxSettled(server.store);
    expect(await deadJob(server.store, key)).toBeUndefined();
  });

  test("an answer arriving after the timeout: the SMS goes again with the same idempotency key, so a receiver can drop the copy", async () => {
    // Accepted at once, answered 1.5 s later: the 500 ms timeout fires while the answer is on its way.
    provider.fake.answer(late(1500), ACCEPT);
    const user = await addUser(server);
    const key = jobKey(user.userId, await setPhone(server, user.token, swissMobile(560)));
    await provider.fake.waitForDeliveries(2);
    await outboxSettled(server.store);
    expect(provider.fake.delivered.map((request) => request.id)).toEqual([key, key]);
    const [first, second] = provider.fake.delivered;
    expect(second!.code).toBe(first!.code);
    const keyHeader = providerCase.name === "webhook" ? "webhook-id" : "i-twilio-idempotency-token";
    expect([first!.headers[keyHeader], second!.headers[keyHeader]]).toEqual([key, key]);
    expect(deduplicatedByKey(provider.fake.delivered)).toHaveLength(1);
    expect(
      server.logs.filter((line) => line.msg === "sms delivery failed; will retry").map((line) => line.error),
    ).toEqual([`${providerCase.name} call failed: no answer within 500 ms`]);
    expect(await verifyCode(server, user.token, first!.code)).toBe(200);
  });

  test("down while codes are created: every code is delivered when it is back, each job under its one key", async () => {
    await server.stop();
    // Enough attempts to outlast the outage; the outage itself is ended by the test, not by a timer.
    server = await startTestServer({ ...FAST_RETRIES, MYPHONE_SMS_MAX_ATTEMPTS: "100", ...provider.env });
    await provider.fake.setDown(true);
    const users = await Promise.all(Array.from({ length: 8 }, () => addUser(server)));
    const keys = await Promise.all(
      users.map(async (user, i) => jobKey(user.userId, await setPhone(server, user.token, swissMobile(600 + i)))),
    );
    // Wait until delivery has failed at least once for every job, so the outage really was felt.
    const deadline = Date.now() + 10_000;
    while (
      server.logs.filter((line) => line.msg === "sms delivery failed; will retry").length < keys.length &&
      Date.now() < deadline
    ) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(server.logs.filter((line) => line.msg === "sms delivery failed; will retry").length).toBeGreaterThanOrEqual(
      keys.length,
    );
    expect(provider.fake.requests).toHaveLength(0);
    await provider.fake.setDown(false);
    await outboxSettled(server.store);
    // At least once (a late answer may repeat one); deduplicated by key, exactly the jobs, each with its own code.
    const received = deduplicatedByKey(provider.fake.delivered);
    expect(received.map((request) => request.id).sort()).toEqual([...keys].sort());
    expect(new Set(received.map((request) => request.code)).size).toBe(keys.length);
    expect(await server.store.outbox.list("dead")).toEqual([]);
    expect(provider.fake.rejected).toEqual([]);
  });
});
