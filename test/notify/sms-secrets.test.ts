import { ACCEPT, HANG, status, twilioError } from "../support/fake-sms-servers.js";
import { startTestServer, type TestServer } from "../support/test-server.js";
import {
  FAST_RETRIES,
  addUser,
  outboxSettled,
  setPhone,
  swissMobile,
  twilioUnderTest,
  webhookUnderTest,
  type ProviderUnderTest,
} from "./notify-kit.js";

/**
 * Secrets never appear in logs: a run with a signed, Basic-authenticated webhook and one with a Twilio token go
 * through success, refusal, server errors, timeouts, an outage and an error that quotes the message back; the
 * captured logs and the errors kept in the outbox contain neither the webhook secret, the Basic password, the Twilio
 * token, nor any code or SMS text.
 * (Only the console provider prints the text, by design; it is not used here.)
 */

/** Drives one provider through every path; resolves with the codes generated (from the deliveries and the refusals). */
async function exercise(
  provider: ProviderUnderTest,
  server: TestServer,
  base: number,
  quoteBack: ReturnType<typeof status>,
): Promise<string[]> {
  const { fake } = provider;
  const phones: string[] = [];
  const send = async (i: number) => {
    const user = await addUser(server, { language: ["de", "fr", "it", "en"][i % 4] });
    phones.push(swissMobile(base + i));
    await setPhone(server, user.token, swissMobile(base + i));
    await outboxSettled(server.store);
  };
  fake.answer(ACCEPT);
  await send(0);
  fake.answer(status(400));
  await send(1);
  fake.answer(status(500), ACCEPT);
  await send(2);
  fake.answer(HANG, ACCEPT);
  await send(3);
  fake.answer(quoteBack);
  await send(4);
  await fake.setDown(true);
  fake.answer(ACCEPT);
  const user = await addUser(server);
  await setPhone(server, user.token, swissMobile(base + 5));
  await new Promise((resolve) => setTimeout(resolve, 300));
  await fake.setDown(false);
  await outboxSettled(server.store);
  expect(fake.rejected).toEqual([]);
  // Every code the fake saw, whether it accepted the request or not.
  return [...new Set(fake.requests.map((request) => request.code))];
}

test("logs of runs with a webhook secret and a Twilio token contain no secret, no token and no code", async () => {
  const webhook = await webhookUnderTest();
  const twilio = await twilioUnderTest();
  // Eight upper-case letters: a code cannot turn up by chance inside ids, timestamps or words of the logs.
  const env = {
    ...FAST_RETRIES,
    MYPHONE_SMS_MAX_ATTEMPTS: "20",
    MYPHONE_CODE_LENGTH: "8",
    MYPHONE_CODE_ALPHABET: "ABCDEFGHIJKLMNOPQRSTUVWXYZ",
  };
  const webhookServer = await startTestServer({ ...env, ...webhook.env });
  const twilioServer = await startTestServer({ ...env, ...twilio.env });
  try {
    const webhookCodes = await exercise(
      webhook,
      webhookServer,
      800,
      status(500, (request) => ({ error: `cannot deliver ${request.text}` })),
    );
    const twilioCodes = await exercise(
      twilio,
      twilioServer,
      900,
      twilioError(500, 30001, (request) => `Queue overflow while sending '${request.text}'`),
    );
    expect(webhookCodes.length).toBeGreaterThanOrEqual(6);
    expect(twilioCodes.length).toBeGreaterThanOrEqual(6);

    const logs = JSON.stringify([...webhookServer.logs, ...twilioServer.logs]);
    // The runs did log their failures (so the check below is not vacuous) ...
    expect(logs).toContain("sms delivery failed; will retry");
    expect(logs).toContain("sms job is dead");
    expect(logs).toContain("Queue overflow while sending");
    // ... and the quoted-back text had its code removed.
    expect(logs).toContain("[code]");
    for (const secret of [...webhook.secrets, ...twilio.secrets]) expect(logs).not.toContain(secret);
    for (const code of [...webhookCodes, ...twilioCodes]) expect(logs).not.toContain(code);
    for (const request of [...webhook.fake.requests, ...twilio.fake.requests]) expect(logs).not.toContain(request.text);

    // The errors kept in the outbox (shown by `myphone sms failed`) are the same sanitized texts.
    const stored: string[] = [];
    for (const server of [webhookServer, twilioServer]) {
      for (const state of ["pending", "done", "dead"] as const) {
        for (const job of await server.store.outbox.list(state)) if (job.lastError !== null) stored.push(job.lastError);
      }
    }
    const storedText = JSON.stringify(stored);
    expect(storedText).toContain("Queue overflow while sending");
    expect(storedText).toContain("[code]");
    for (const secret of [...webhook.secrets, ...twilio.secrets]) expect(storedText).not.toContain(secret);
    for (const code of [...webhookCodes, ...twilioCodes]) expect(storedText).not.toContain(code);
  } finally {
    await webhookServer.stop();
    await twilioServer.stop();
    await webhook.fake.close();
    await twilio.fake.close();
  }
});
