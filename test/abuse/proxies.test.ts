import { startTestServer, type TestServer } from "../support/test-server.js";
import { closeGrpcClients, grpcCall, restRefusal, setPhone } from "./wire.js";

/**
 * Issue 22, item 3, over real sockets: behind a trusted proxy (here the test itself, on loopback), a client hop
 * written with a port or as RFC 7239 Forwarded is counted as its address, a hop that is no address as its own
 * text, never as the proxy; without trusted proxies a forwarding header is ignored and logged once.
 */

let xff: TestServer; // trusts 127.0.0.1, reads X-Forwarded-For; one code per client address and hour
let forwarded: TestServer; // the same, reading Forwarded
let noProxy: TestServer; // trusts nobody
const on = { MYPHONE_ABUSE_LIMITS: "on", MYPHONE_RESEND_COOLDOWN: "0", MYPHONE_SENDS_PER_IP: "1/1h" };

beforeAll(async () => {
  [xff, forwarded, noProxy] = await Promise.all([
    startTestServer({ ...on, MYPHONE_TRUSTED_PROXIES: "127.0.0.1" }),
    startTestServer({ ...on, MYPHONE_TRUSTED_PROXIES: "127.0.0.1", MYPHONE_TRUSTED_PROXY_HEADER: "forwarded" }),
    startTestServer(on),
  ]);
}, 60_000);

afterAll(async () => {
  closeGrpcClients();
  await Promise.all([xff, forwarded, noProxy].map((server) => server?.stop()));
});

let phoneCounter = 0;
const freshPhone = () => `+4179${5_000_000 + ++phoneCounter}`;

/** SetMyPhone for a new user with `headers`; "ok" or the refusal's error id. */
async function sendFromNewUser(server: TestServer, headers: Record<string, string>): Promise<string> {
  const user = await server.addUser();
  const answer = await setPhone(server.url, user.token, freshPhone(), headers);
  return answer.status === 200 ? "ok" : (restRefusal(answer).id ?? String(answer.status));
}

describe("behind a trusted proxy writing X-Forwarded-For", () => {
  test("IP:port is counted as the IP, over REST and gRPC", async () => {
    expect(await sendFromNewUser(xff, { "x-forwarded-for": "198.51.100.7:5555" })).toBe("ok");
    expect(await sendFromNewUser(xff, { "x-forwarded-for": "198.51.100.7" })).toBe("MYPHONE-SnAdr");
    const user = await xff.addUser();
    const overGrpc = await grpcCall(
      xff.url,
      "SetMyPhone",
      user.token,
      { phone: freshPhone() },
      { "x-forwarded-for": "203.0.113.9, 198.51.100.7:6000" },
    );
    expect(overGrpc).toMatchObject({ ok: false, errorDetail: { id: "MYPHONE-SnAdr" } });
    expect(await sendFromNewUser(xff, { "x-forwarded-for": "198.51.100.8" })).toBe("ok");
  });

  test("[v6]:port is counted as the IPv6 address (by its /48)", async () => {
    expect(await sendFromNewUser(xff, { "x-forwarded-for": "[2001:db8:7::5]:443" })).toBe("ok");
    expect(await sendFromNewUser(xff, { "x-forwarded-for": "2001:db8:7::6" })).toBe("MYPHONE-SnAdr");
    expect(await sendFromNewUser(xff, { "x-forwarded-for": "[2001:db8:8::5]" })).toBe("ok");
  });

  test("a hop that is no address is counted by its text, never as the proxy", async () => {
    expect(await sendFromNewUser(xff, { "x-forwarded-for": "unknown" })).toBe("ok");
    expect(await sendFromNewUser(xff, { "x-forwarded-for": "198.51.100.77, unknown" })).toBe("MYPHONE-SnAdr");
    // The proxy's own requests (no header) still have the proxy's whole allowance.
    expect(await sendFromNewUser(xff, {})).toBe("ok");
    expect(await sendFromNewUser(xff, { "x-forwarded-for": "_other" })).toBe("ok");
    const refusals = xff.logs
      .filter((line) => line.msg === "abuse limit refused a request")
      .map((line) => line.clientAddress);
    expect(refusals).toContain("hop:unknown");
  });
});

describe("behind a trusted proxy writing Forwarded (MYPHONE_TRUSTED_PROXY_HEADER=forwarded)", () => {
  test("for= with a quoted [v6]:port and IPv4:port is counted as the address; X-Forwarded-For is not read", async () => {
    expect(await sendFromNewUser(forwarded, { forwarded: 'for="[2001:db8:cafe::17]:4711";proto=https' })).toBe("ok");
    expect(await sendFromNewUser(forwarded, { forwarded: 'for=192.0.2.1, for="[2001:db8:cafe::18]"' })).toBe(
      "MYPHONE-SnAdr",
    );
    expect(await sendFromNewUser(forwarded, { forwarded: 'for="192.0.2.61:80"' })).toBe("ok");
    expect(await sendFromNewUser(forwarded, { forwarded: "for=192.0.2.61" })).toBe("MYPHONE-SnAdr");
    // Only X-Forwarded-For: the proxy did not write it, so the request counts as the proxy's.
    expect(await sendFromNewUser(forwarded, { "x-forwarded-for": "192.0.2.99" })).toBe("ok");
    expect(await sendFromNewUser(forwarded, { "x-forwarded-for": "192.0.2.98" })).toBe("MYPHONE-SnAdr");
    const warnings = forwarded.logs.filter((line) => line.setting === "MYPHONE_TRUSTED_PROXY_HEADER");
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ level: 40, header: "x-forwarded-for" });
  });
});

describe("without MYPHONE_TRUSTED_PROXIES", () => {
  test("X-Forwarded-For and Forwarded are ignored, and the first one is logged once, naming the setting", async () => {
    expect(await sendFromNewUser(noProxy, {})).toBe("ok");
    expect(await sendFromNewUser(noProxy, { "x-forwarded-for": "198.51.100.1" })).toBe("MYPHONE-SnAdr");
    expect(await sendFromNewUser(noProxy, { forwarded: "for=198.51.100.2" })).toBe("MYPHONE-SnAdr");
    const user = await noProxy.addUser();
    await grpcCall(
      noProxy.url,
      "SetMyPhone",
      user.token,
      { phone: freshPhone() },
      { "x-forwarded-for": "198.51.100.3" },
    );
    const warnings = noProxy.logs.filter(
      (line) => typeof line.msg === "string" && line.msg.includes("MYPHONE_TRUSTED_PROXIES"),
    );
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ level: 40, setting: "MYPHONE_TRUSTED_PROXIES", header: "x-forwarded-for" });
  });
});
