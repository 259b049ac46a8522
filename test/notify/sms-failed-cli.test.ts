import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { jobKey, status, twilioError } from "../support/fake-sms-servers.js";
import { runCli } from "../support/cli-process.js";
import { startTestServer } from "../support/test-server.js";
import {
  FAST_RETRIES,
  addUser,
  outboxSettled,
  setPhone,
  swissMobile,
  twilioUnderTest,
  webhookUnderTest,
} from "./notify-kit.js";

/** Dead jobs are visible to operators: `myphone sms failed` lists them (needs `npm run build`). */

test("`myphone sms failed` lists each dead job once with its last error: refused ones after 1 attempt, exhausted ones after the limit", async () => {
  const dataDir = mkdtempSync(join(tmpdir(), "myphone-sms-failed-"));
  const provider = await webhookUnderTest();
  const server = await startTestServer({ ...FAST_RETRIES, ...provider.env, MYPHONE_DATA_DIR: dataDir });
  try {
    expect(await runCli(["sms", "failed"], { MYPHONE_DATA_DIR: dataDir })).toBe("");

    const delivered = await addUser(server);
    await setPhone(server, delivered.token, swissMobile(1));
    await outboxSettled(server.store);

    provider.fake.answer(status(404));
    const refused = await addUser(server);
    const refusedKey = jobKey(refused.userId, await setPhone(server, refused.token, swissMobile(2)));
    await outboxSettled(server.store);

    // The answer quotes the SMS back; the webhook provider's error never carries a response body.
    provider.fake.answer(status(502, (request) => ({ error: `cannot deliver ${request.text}` })));
    const exhausted = await addUser(server);
    const exhaustedKey = jobKey(exhausted.userId, await setPhone(server, exhausted.token, swissMobile(3)));
    await outboxSettled(server.store);

    // Read while the server runs: SQLite lets the CLI share the database.
    const lines = (await runCli(["sms", "failed"], { MYPHONE_DATA_DIR: dataDir }))
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line));
    expect(lines).toEqual([
      {
        job: expect.any(String),
        idempotencyKey: refusedKey,
        userId: refused.userId,
        codeSequence: Number(refusedKey.split(":")[2]),
        attempts: 1,
        createdAt: expect.any(String),
        deadAt: expect.any(String),
        lastError: "webhook refused the message (HTTP 404); not retried",
      },
      {
        job: expect.any(String),
        idempotencyKey: exhaustedKey,
        userId: exhausted.userId,
        codeSequence: Number(exhaustedKey.split(":")[2]),
        attempts: Number(FAST_RETRIES.MYPHONE_SMS_MAX_ATTEMPTS),
        createdAt: expect.any(String),
        deadAt: expect.any(String),
        lastError: "webhook answered HTTP 502",
      },
    ]);
    expect(Number.isNaN(Date.parse(lines[0].createdAt))).toBe(false);
    expect(Date.parse(lines[0].deadAt)).toBeGreaterThanOrEqual(Date.parse(lines[0].createdAt));
    for (const request of provider.fake.requests) expect(JSON.stringify(lines)).not.toContain(request.code);
  } finally {
    await server.stop();
    await provider.fake.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test("a provider error quoting the code across the 200-character cut leaves no piece of the code in `myphone sms failed` or the logs", async () => {
  const dataDir = mkdtempSync(join(tmpdir(), "myphone-sms-failed-cut-"));
  const provider = await twilioUnderTest();
  const server = await startTestServer({ ...FAST_RETRIES, ...provider.env, MYPHONE_DATA_DIR: dataDir });
  try {
    // Twilio's message quotes the SMS so that the code starts 3 characters before the 200th: a cut before
    // redaction would keep those 3 characters, which no longer match the code.
    const padding = (request: { text: string; code: string }) => "x".repeat(197 - request.text.indexOf(request.code));
    provider.fake.answer(twilioError(400, 21211, (request) => `${padding(request)}${request.text} is not deliverable`));
    const user = await addUser(server);
    await setPhone(server, user.token, swissMobile(4));
    await outboxSettled(server.store);

    const [line] = (await runCli(["sms", "failed"], { MYPHONE_DATA_DIR: dataDir }))
      .trim()
      .split("\n")
      .map((text) => JSON.parse(text));
    const sent = provider.fake.requests[0]!;
    // Redacted first, then cut: the cut falls inside "[code]", never inside the code.
    const quoted = `${padding(sent)}${sent.text.replace(sent.code, "[code]")} is not deliverable`.slice(0, 200);
    expect(quoted.endsWith("[co")).toBe(true);
    const expected = `twilio answered HTTP 400 with error 21211: ${quoted}; not retried`;
    expect(line.lastError).toBe(expected);
    const logged = server.logs.filter((entry) => entry.msg === "sms job is dead: the provider refused it for good");
    expect(logged.map((entry) => entry.error)).toEqual([expected]);
    expect(JSON.stringify(server.logs)).not.toContain(sent.code);
  } finally {
    await server.stop();
    await provider.fake.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
});
