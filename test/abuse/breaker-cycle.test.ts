import { codeFromSms, startTestServer, type TestServer, type TestUser } from "../support/test-server.js";
import { closeGrpcClients, grpcCall, restRefusal, setPhone, verify } from "./wire.js";

/**
 * The conversion breaker's half-open cycle end to end (issue 21), on a server whose clock the test moves: only
 * Date is faked (jest's fake timers with every timer left real), so the event store's timestamps, the codes'
 * expiry and the breaker all read the same clock. Trip → refused for the cool-off → trial codes → closed when a
 * trial is verified; and a range whose trials are not verified trips again, with the cool-off doubled.
 */

const MINUTE = 60_000;
const REAL_TIMERS = [
  "hrtime",
  "nextTick",
  "performance",
  "queueMicrotask",
  "requestAnimationFrame",
  "cancelAnimationFrame",
  "requestIdleCallback",
  "cancelIdleCallback",
  "setImmediate",
  "clearImmediate",
  "setInterval",
  "clearInterval",
  "setTimeout",
  "clearTimeout",
] as const;

let server: TestServer;
let t0: number;
/** Moves the clock to `t0 + ms`. */
const clockAt = (ms: number) => jest.setSystemTime(t0 + ms);

beforeAll(async () => {
  t0 = Date.parse("2031-05-04T08:00:00.000Z");
  jest.useFakeTimers({ doNotFake: [...REAL_TIMERS], now: t0 });
  server = await startTestServer({
    MYPHONE_ABUSE_LIMITS: "on",
    MYPHONE_SMS_BREAKER_WINDOW: "1h",
    MYPHONE_SMS_BREAKER_GRACE: "10m",
    MYPHONE_SMS_BREAKER_MIN_SENDS: "3",
    MYPHONE_SMS_BREAKER_MIN_CONVERSION: "0.5",
    MYPHONE_SMS_BREAKER_COOLOFF: "30m",
    MYPHONE_SMS_BREAKER_TRIALS: "2",
  });
}, 30_000);

afterAll(async () => {
  closeGrpcClients();
  await server?.stop();
  jest.useRealTimers();
});

/** A user whose token outlives every move of the clock in this file. */
async function newUser(): Promise<TestUser> {
  const user = await server.addUser();
  return { ...user, token: await server.issuer.mint(user.userId, 24 * 3600) };
}

/** SetMyPhone for a new user; answers the user, the HTTP status and the refusal's id. */
async function set(phone: string): Promise<{ user: TestUser; status: number; id?: string; retryAfter: string | null }> {
  const user = await newUser();
  const answer = await setPhone(server.url, user.token, phone);
  const id = answer.status === 200 ? undefined : restRefusal(answer).id;
  return { user, status: answer.status, id, retryAfter: answer.retryAfter };
}

const logged = (msg: string) =>
  server.logs.filter((line) => line.msg === msg).map((line) => [line.scope, line.level, line.reopen]);
const metric = async (pattern: RegExp) => pattern.exec(await (await fetch(`${server.adminUrl}/metrics`)).text())?.[1];

test("trip → cool-off → trial codes → closes when a trial converts", async () => {
  const range = "+41795550";
  // Three codes to one range, never verified.
  for (let i = 1; i <= 3; i++) expect((await set(`${range}00${i}`)).status).toBe(200);
  // Younger than the 10-minute grace: not judged yet.
  clockAt(9 * MINUTE);
  expect((await set(`${range}004`)).status).toBe(200);
  // At 12 minutes the first three are judged: conversion 0, so country and range trip.
  clockAt(12 * MINUTE);
  expect(await set(`${range}005`)).toMatchObject({ status: 429, id: "MYPHONE-SnBrk", retryAfter: String(30 * 60) });
  expect(logged("sms breaker tripped: too few codes verified")).toEqual([
    ["country:CH", 40, false],
    [`prefix:${range}`, 40, false],
  ]);
  expect(await metric(/^myphone_sms_breakers\{kind="country",phase="open"\} (\d+)$/m)).toBe("1");

  // During the cool-off: refused, over gRPC too, with the time left.
  clockAt(30 * MINUTE);
  const during = await grpcCall(server.url, "SetMyPhone", (await newUser()).token, { phone: `${range}006` });
  expect(during).toMatchObject({
    ok: false,
    code: 8,
    errorDetail: { id: "MYPHONE-SnBrk" },
    retryDelaySeconds: 12 * 60,
  });

  // After it: half-open, two trial codes, then refused until they are judged.
  clockAt(43 * MINUTE);
  const trial = await set(`${range}007`);
  expect(trial.status).toBe(200);
  expect((await set(`${range}008`)).status).toBe(200);
  expect(await set(`${range}009`)).toMatchObject({ status: 429, id: "MYPHONE-SnBrk" });
  expect(logged("sms breaker half-open: letting trial codes through").map(([scope]) => scope)).toEqual([
    "country:CH",
    `prefix:${range}`,
  ]);

  // The first trial's user types the code: the breakers close, logged and counted.
  clockAt(44 * MINUTE);
  const sms = await server.waitForSms(`${range}007`);
  expect((await verify(server.url, trial.user.token, codeFromSms(sms))).status).toBe(200);
  expect(logged("sms breaker closed: its trial codes were verified")).toEqual([
    ["country:CH", 40, undefined],
    [`prefix:${range}`, 40, undefined],
  ]);
  expect(await metric(/^myphone_sms_breaker_closes_total\{kind="prefix"\} (\d+)$/m)).toBe("1");
  expect(await metric(/^myphone_sms_breakers\{kind="country",phase="open"\} (\d+)$/m)).toBe("0");

  // Closed: codes go out again, and the unverified codes from before the trip are not judged again.
  clockAt(45 * MINUTE);
  expect((await set(`${range}010`)).status).toBe(200);
  clockAt(58 * MINUTE);
  expect((await set(`${range}011`)).status).toBe(200);
});

test("trial codes that are not verified within the grace trip it again, with twice the cool-off", async () => {
  const range = "+4917612345";
  clockAt(100 * MINUTE);
  for (let i = 1; i <= 3; i++) expect((await set(`${range}${i}00`)).status).toBe(200);
  clockAt(111 * MINUTE);
  expect(await set(`${range}400`)).toMatchObject({ status: 429, id: "MYPHONE-SnBrk" });
  clockAt(142 * MINUTE);
  expect((await set(`${range}500`)).status).toBe(200);
  expect((await set(`${range}600`)).status).toBe(200);
  // Not verified, 10 minutes later: tripped again for 60 minutes.
  clockAt(153 * MINUTE);
  expect(await set(`${range}700`)).toMatchObject({ status: 429, id: "MYPHONE-SnBrk", retryAfter: String(60 * 60) });
  const again = server.logs.filter(
    (line) => line.msg === "sms breaker tripped again: its trial codes were not verified",
  );
  expect(again.map((line) => [line.scope, line.sends, line.verified, line.coolOffSeconds])).toEqual([
    ["country:DE", 2, 0, 3600],
    [`prefix:${range}`, 2, 0, 3600],
  ]);
  expect(await metric(/^myphone_sms_breaker_trips_total\{kind="country"\} (\d+)$/m)).toBe("3");
});
