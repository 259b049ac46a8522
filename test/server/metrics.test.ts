import { ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { AuthService } from "../../gen/zitadel/auth_pb.js";
import { ErrorDetailSchema } from "../../gen/zitadel/message_pb.js";
import { startTestServer, type TestServer } from "../support/test-server.js";

/** Issue 6, acceptance 5 (Prometheus /metrics) and the request log lines. */

/** The value of one sample in Prometheus text format; 0 when the series does not exist (yet). */
function sample(text: string, name: string, labels: Record<string, string> = {}): number {
  for (const line of text.split("\n")) {
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const found = Object.fromEntries(
      [...(match[2] ?? "").matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]),
    );
    if (Object.entries(labels).every(([key, value]) => found[key] === value)) return Number(match[3]);
  }
  return 0;
}

let server: TestServer;
let sessions: Http2SessionManager;
beforeAll(async () => {
  // Abuse limits on, tight enough to hit: one wrong code kills the code, the fourth code for a user is refused.
  server = await startTestServer({
    MYPHONE_ABUSE_LIMITS: "on",
    MYPHONE_CODE_MAX_ATTEMPTS: "1",
    MYPHONE_SENDS_PER_USER: "3/1h",
    MYPHONE_RESEND_COOLDOWN: "0",
  });
  sessions = new Http2SessionManager(server.url);
});
afterAll(async () => {
  sessions.abort();
  await server.stop();
});

async function scrape(): Promise<string> {
  const response = await fetch(`${server.adminUrl}/metrics`);
  expect(response.status).toBe(200);
  expect(response.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
  return response.text();
}

const SET = "zitadel.auth.v1.AuthService/SetMyPhone";
const VERIFY = "zitadel.auth.v1.AuthService/VerifyMyPhone";

test("/metrics counts requests by RPC, protocol and code, times them, and counts abuse refusals, appends and SMS jobs", async () => {
  const user = await server.addUser();
  const headers = { authorization: `Bearer ${user.token}` };
  const connect = createClient(AuthService, createConnectTransport({ baseUrl: server.url, httpVersion: "1.1" }));
  const grpc = createClient(AuthService, createGrpcTransport({ baseUrl: server.url, sessionManager: sessions }));
  const before = await scrape();

  await connect.setMyPhone({ phone: "+41 79 555 00 01" }, { headers });
  await grpc.setMyPhone({ phone: "+41 79 555 00 02" }, { headers });
  const rest = await fetch(`${server.url}/auth/v1/users/me/phone`, {
    method: "PUT",
    headers,
    body: JSON.stringify({ phone: "+41 79 555 00 03" }),
  });
  expect(rest.status).toBe(200);
  await server.waitForSms("+41795550003");
  const refusals: string[] = [];
  for (const code of ["WRONG1", "WRONG2"]) {
    const error = await grpc.verifyMyPhone({ code }, { headers }).then(
      () => undefined,
      (e: unknown) => ConnectError.from(e),
    );
    refusals.push(error?.findDetails(ErrorDetailSchema)[0]?.id ?? "answered");
  }
  expect(refusals).toEqual(["COMMAND-sM0cs", "MYPHONE-CoAtt"]);
  const capped = await connect.setMyPhone({ phone: "+41 79 555 00 04" }, { headers }).then(
    () => undefined,
    (e: unknown) => ConnectError.from(e),
  );
  expect(capped?.findDetails(ErrorDetailSchema)[0]?.id).toBe("MYPHONE-SnUsr");

  // The SMS worker counts each job once it is done with it (sent, or skipped as superseded); wait for all three.
  const smsPasses = (text: string) =>
    sample(text, "myphone_sms_sends_total", { provider: "console", outcome: "sent" }) +
    sample(text, "myphone_sms_sends_total", { provider: "console", outcome: "superseded" });
  let after = await scrape();
  for (let i = 0; i < 100 && smsPasses(after) - smsPasses(before) < 3; i++) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    after = await scrape();
  }
  const moved = (name: string, labels: Record<string, string> = {}) =>
    sample(after, name, labels) - sample(before, name, labels);

  expect(moved("myphone_rpc_requests_total", { rpc: SET, protocol: "connect", code: "ok" })).toBe(1);
  expect(moved("myphone_rpc_requests_total", { rpc: SET, protocol: "grpc", code: "ok" })).toBe(1);
  expect(moved("myphone_rpc_requests_total", { rpc: SET, protocol: "rest", code: "ok" })).toBe(1);
  expect(moved("myphone_rpc_requests_total", { rpc: VERIFY, protocol: "grpc", code: "invalid_argument" })).toBe(1);
  expect(moved("myphone_rpc_requests_total", { rpc: VERIFY, protocol: "grpc", code: "failed_precondition" })).toBe(1);
  expect(moved("myphone_rpc_duration_seconds_count", { rpc: SET, protocol: "grpc" })).toBe(1);
  expect(moved("myphone_rpc_duration_seconds_bucket", { rpc: SET, protocol: "grpc", le: "+Inf" })).toBe(1);
  expect(moved("myphone_abuse_refusals_total", { limit: "MYPHONE-CoAtt" })).toBe(1);
  expect(moved("myphone_abuse_refusals_total", { limit: "MYPHONE-SnUsr" })).toBe(1);
  expect(moved("myphone_rpc_requests_total", { rpc: SET, protocol: "connect", code: "resource_exhausted" })).toBe(1);
  // Three sets and one failed verification append; so does each SMS sent (code.sent).
  expect(moved("myphone_eventstore_append_duration_seconds_count", { outcome: "ok" })).toBeGreaterThanOrEqual(4);
  expect(moved("myphone_sms_jobs_queued_total")).toBe(3);
  expect(smsPasses(after) - smsPasses(before)).toBe(3);
  expect(moved("myphone_sms_sends_total", { provider: "console", outcome: "sent" })).toBeGreaterThanOrEqual(1);
  expect(after).toMatch(/^myphone_sms_jobs\{state="pending"\} \d+$/m);
  expect(after).toMatch(/^myphone_sms_jobs\{state="dead"\} 0$/m);
  // Node's process metrics come along.
  expect(after).toMatch(/^process_cpu_seconds_total \S+$/m);
});

test("every RPC logs one line with request id, user id, RPC, protocol, status and duration; an incoming x-request-id is honoured and echoed", async () => {
  const user = await server.addUser();
  const from = server.logs.length;
  const answer = await fetch(`${server.url}/zitadel.auth.v1.AuthService/GetMyPhone`, {
    method: "POST",
    headers: {
      authorization: `Bearer ${user.token}`,
      "content-type": "application/json",
      "x-request-id": "trace-42.abc",
    },
    body: "{}",
  });
  expect(answer.status).toBe(200);
  expect(answer.headers.get("x-request-id")).toBe("trace-42.abc");
  const line = server.logs.slice(from).find((l) => l.msg === "rpc" && l.requestId === "trace-42.abc");
  expect(line).toMatchObject({
    rpc: "zitadel.auth.v1.AuthService/GetMyPhone",
    protocol: "connect",
    status: "ok",
    userId: user.userId,
  });
  expect(typeof line!.durationMs).toBe("number");

  // No id, or one we would not want in a log line: a fresh UUID instead.
  const generated = await fetch(`${server.url}/auth/v1/users/me/phone`, {
    headers: { "x-request-id": "bad id\twith spaces" },
  });
  expect(generated.status).toBe(401);
  const id = generated.headers.get("x-request-id");
  expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  const refused = server.logs.slice(from).find((l) => l.msg === "rpc" && l.requestId === id);
  // A missing authorization header is ZITADEL's bare refusal: no id on the wire, none in the log line.
  expect(refused).toMatchObject({ protocol: "rest", status: "unauthenticated" });
  expect(refused!.errorId).toBeUndefined();
  expect(refused!.userId).toBeUndefined();
});
