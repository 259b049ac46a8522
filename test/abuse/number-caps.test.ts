import { startTestServer, type TestServer, type TestUser } from "../support/test-server.js";
import { closeGrpcClients, grpcCall, resend, restRefusal, setPhone } from "./wire.js";

/**
 * Issue 22, item 7, over the wire with several users: other accounts cannot lock an owner out of their own number
 * (codes to a number are counted per user and per client address, under a higher ceiling for the number), one
 * account or one address cannot flood a number, and a refusal that other people's sends caused does not say when
 * they sent (its Retry-After is rounded up to a quarter of the window).
 */

let server: TestServer; // the shipped per-number defaults; cooldown off so one test can send quickly
const HOUR_QUARTER = 900;

beforeAll(async () => {
  // The test is the trusted proxy, so X-Forwarded-For puts each request at the client address it names.
  server = await startTestServer({
    MYPHONE_ABUSE_LIMITS: "on",
    MYPHONE_RESEND_COOLDOWN: "0",
    MYPHONE_TRUSTED_PROXIES: "127.0.0.1",
  });
}, 30_000);

afterAll(async () => {
  closeGrpcClients();
  await server?.stop();
});

let phoneCounter = 0;
const freshPhone = () => `+4179${4_000_000 + ++phoneCounter}`;
const from = (address: string) => ({ "x-forwarded-for": address });
const users = (count: number): Promise<TestUser[]> =>
  Promise.all(Array.from({ length: count }, () => server.addUser()));

/** SetMyPhone; "ok" or the refusal's error id. */
async function set(user: TestUser, phone: string, address: string): Promise<string> {
  const answer = await setPhone(server.url, user.token, phone, from(address));
  return answer.status === 200 ? "ok" : (restRefusal(answer).id ?? String(answer.status));
}

test("five accounts of one attacker setting a victim's number do not lock the owner out of it", async () => {
  const victim = freshPhone();
  const attackers = await users(5);
  const outcomes: string[] = [];
  for (const attacker of attackers) outcomes.push(await set(attacker, victim, "198.51.100.66"));
  // One address gets 3 codes an hour to one number, whatever accounts it uses.
  expect(outcomes).toEqual(["ok", "ok", "ok", "MYPHONE-SnNAd", "MYPHONE-SnNAd"]);

  const [owner] = await users(1);
  expect(await set(owner!, victim, "203.0.113.20")).toBe("ok");
  // And the owner's resends count against the owner's own share only.
  expect((await resend(server.url, owner!.token, from("203.0.113.20"))).status).toBe(200);
});

test("one account flooding a number is stopped at 3 codes an hour, wherever it sends from (gRPC too)", async () => {
  const victim = freshPhone();
  const [spammer] = await users(1);
  expect(await set(spammer!, victim, "198.51.100.70")).toBe("ok");
  expect((await resend(server.url, spammer!.token, from("198.51.100.71"))).status).toBe(200);
  expect((await resend(server.url, spammer!.token, from("198.51.100.72"))).status).toBe(200);
  const fourth = await resend(server.url, spammer!.token, from("198.51.100.73"));
  expect({ status: fourth.status, ...restRefusal(fourth) }).toMatchObject({
    status: 429,
    code: 8,
    id: "MYPHONE-SnNUs",
  });
  const overGrpc = await grpcCall(server.url, "ResendMyPhoneVerification", spammer!.token, {}, from("198.51.100.74"));
  expect(overGrpc).toMatchObject({ ok: false, code: 8, errorDetail: { id: "MYPHONE-SnNUs" } });
  // Its own history: an exact wait is fine to tell.
  expect(Number(fourth.retryAfter)).toBeGreaterThan(3500);
  // Another user of the same number is not affected.
  const [other] = await users(1);
  expect(await set(other!, victim, "203.0.113.21")).toBe("ok");
});

test("many accounts from many addresses meet the number's ceiling (10 an hour); its Retry-After tells nobody when the others sent", async () => {
  const victim = freshPhone();
  const senders = await users(12);
  expect(await set(senders[0]!, victim, "198.51.100.80")).toBe("ok");
  // The first send leaves the window over a second before the refusal below, so an exact wait would be under 3600.
  await new Promise((resolve) => setTimeout(resolve, 1200));
  for (let i = 1; i < 10; i++)
    expect(await set(senders[i]!, victim, `198.51.100.${80 + Math.floor(i / 3)}`)).toBe("ok");

  const eleventh = await setPhone(server.url, senders[10]!.token, victim, from("203.0.113.99"));
  expect({ status: eleventh.status, ...restRefusal(eleventh) }).toMatchObject({
    status: 429,
    code: 8,
    id: "MYPHONE-SnNum",
  });
  expect(Number(eleventh.retryAfter)).toBe(4 * HOUR_QUARTER);
  expect(restRefusal(eleventh).retryDelay).toBe(`${4 * HOUR_QUARTER}s`);
  const overGrpc = await grpcCall(
    server.url,
    "SetMyPhone",
    senders[11]!.token,
    { phone: victim },
    from("203.0.113.98"),
  );
  expect(overGrpc).toMatchObject({
    ok: false,
    code: 8,
    errorDetail: { id: "MYPHONE-SnNum" },
    retryDelaySeconds: 4 * HOUR_QUARTER,
  });
  const logged = server.logs.filter(
    (line) => line.msg === "abuse limit refused a request" && line.limit === "sends_per_number",
  );
  expect(logged.map((line) => line.retryAfterSeconds)).toEqual([3600, 3600]);
});

test("the per-address cap on a number rounds its Retry-After too", async () => {
  const victim = freshPhone();
  const senders = await users(4);
  expect(await set(senders[0]!, victim, "198.51.100.90")).toBe("ok");
  await new Promise((resolve) => setTimeout(resolve, 1200));
  expect(await set(senders[1]!, victim, "198.51.100.90")).toBe("ok");
  expect(await set(senders[2]!, victim, "198.51.100.90")).toBe("ok");
  const fourth = await setPhone(server.url, senders[3]!.token, victim, from("198.51.100.90"));
  expect({ id: restRefusal(fourth).id, retryAfter: fourth.retryAfter }).toEqual({
    id: "MYPHONE-SnNAd",
    retryAfter: "3600",
  });
});
