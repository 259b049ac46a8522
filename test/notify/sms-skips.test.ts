import { USER_AGGREGATE, UserEventType } from "../../src/domain/user-events.js";
import { startTestServer, type TestServer } from "../support/test-server.js";
import {
  FAST_RETRIES,
  addUser,
  jobsCounted,
  outboxSettled,
  resendCode,
  setPhone,
  verifyCode,
  webhookUnderTest,
  type ProviderUnderTest,
} from "./notify-kit.js";
import { jobKey } from "../support/fake-sms-servers.js";

/**
 * Issue 4, acceptance 2 (single process): a superseded code is never sent, an expired one is never sent. The
 * provider is down while the codes are created, so every job is still pending when the situation arises; when the
 * provider is back, only what may be sent reaches it.
 */

let provider: ProviderUnderTest;
let server: TestServer;

async function start(env: Record<string, string> = {}) {
  provider = await webhookUnderTest();
  // Many attempts: the jobs must outlive the outage the test arranges.
  server = await startTestServer({ ...FAST_RETRIES, MYPHONE_SMS_MAX_ATTEMPTS: "100", ...provider.env, ...env });
  await provider.fake.setDown(true);
}

afterEach(async () => {
  await server.stop();
  await provider.fake.close();
});

test("a superseded code is never sent: of three codes only the newest reaches the provider, and it verifies", async () => {
  await start();
  const user = await addUser(server);
  // Counted before the codes exist: the worker may skip a superseded job at once, provider down or not.
  const supersededBefore = await jobsCounted(server, "webhook", "superseded");
  const first = await setPhone(server, user.token, "+41 79 555 10 01");
  const second = await setPhone(server, user.token, "+41 79 555 10 02");
  const third = await resendCode(server, user.token);

  await provider.fake.setDown(false);
  await outboxSettled(server.store);

  expect(provider.fake.requests.map((request) => request.id)).toEqual([jobKey(user.userId, third)]);
  const [sms] = provider.fake.delivered;
  expect(sms!.to).toBe("+41795551002");
  expect(await jobsCounted(server, "webhook", "superseded")).toBe(supersededBefore + 2);
  // The superseded jobs are settled as done (skipped), not dead: nothing for an operator to chase.
  const done = (await server.store.outbox.list("done")).map((job) => job.idempotencyKey);
  expect(done).toEqual(
    expect.arrayContaining([jobKey(user.userId, first), jobKey(user.userId, second), jobKey(user.userId, third)]),
  );
  expect(await server.store.outbox.list("dead")).toEqual([]);
  expect(
    server.logs.filter(
      (line) => line.msg === "sms skipped: code superseded or already used" && line.userId === user.userId,
    ),
  ).toHaveLength(2);
  expect(await verifyCode(server, user.token, sms!.code)).toBe(200);
});

test("a code whose phone was removed before delivery is never sent", async () => {
  await start();
  const removed = await addUser(server);
  const removedKey = jobKey(removed.userId, await setPhone(server, removed.token, "+41 79 555 20 01"));
  const removal = await fetch(`${server.url}/auth/v1/users/me/phone`, {
    method: "DELETE",
    headers: { authorization: `Bearer ${removed.token}` },
  });
  expect(removal.status).toBe(200);

  await provider.fake.setDown(false);
  await outboxSettled(server.store);
  expect(provider.fake.requests.filter((request) => request.id === removedKey)).toEqual([]);
});

test("an expired code is never sent", async () => {
  await start({ MYPHONE_CODE_TTL: "1s" });
  const user = await addUser(server);
  const sequence = await setPhone(server, user.token, "+41 79 555 30 01");
  const expiredBefore = await jobsCounted(server, "webhook", "expired");
  // Wait past the code's expiry as recorded in its event (not a timing assertion: the test only waits).
  const codeEvent = (await server.store.readStream(USER_AGGREGATE, user.userId)).find(
    (event) => event.sequence === sequence,
  )!;
  expect(codeEvent.type).toBe(UserEventType.phoneCodeAdded);
  const expiresAt = codeEvent.createdAt.getTime() + Number(codeEvent.data!.expiry) / 1e6;
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, expiresAt - Date.now()) + 100));

  await provider.fake.setDown(false);
  await outboxSettled(server.store);
  expect(provider.fake.requests).toEqual([]);
  expect(await jobsCounted(server, "webhook", "expired")).toBe(expiredBefore + 1);
  expect(server.logs.some((line) => line.msg === "sms skipped: code expired" && line.userId === user.userId)).toBe(
    true,
  );
  expect((await server.store.outbox.list("done")).map((job) => job.idempotencyKey)).toContain(
    jobKey(user.userId, sequence),
  );
});
