import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runCli, startCliServer, type CliServer } from "../support/cli-process.js";

/**
 * The README's walk-through, against the real `myphone serve` process: users and tokens from the CLI, calls over
 * REST and Connect JSON, the code read from the console SMS line on the server's stdout.
 */

let dataDir: string;
let server: CliServer;
let env: Record<string, string>;

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), "myphone-lifecycle-"));
  env = { MYPHONE_DATA_DIR: dataDir, MYPHONE_SMS_POLL_INTERVAL: "200ms", MYPHONE_AUTH_USER_WRITE_ROLE: "phone-admin" };
  server = await startCliServer(env);
});

afterAll(async () => {
  server.child.kill("SIGTERM");
  await server.exited;
  rmSync(dataDir, { recursive: true, force: true });
});

async function rest(method: string, path: string, token: string, body?: unknown) {
  const response = await fetch(`${server.url}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { "content-type": "application/json" }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  return { status: response.status, json: (await response.json()) as Record<string, any> };
}

async function connect(method: string, token: string, body: unknown = {}) {
  const response = await fetch(`${server.url}/zitadel.auth.v1.AuthService/${method}`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  return { status: response.status, json: (await response.json()) as Record<string, any> };
}

async function smsCode(phone: string, from: number): Promise<string> {
  const line = await server.waitForLine((l) => (l.sms as { to?: string } | undefined)?.to === phone, from);
  const text = (line.sms as { text: string }).text;
  expect(text).toMatch(/verify it [A-Z0-9]{6}$/);
  return text.split(" ").at(-1)!;
}

test("set → SMS → verify → verified → resend refused → remove → empty → set the same number again", async () => {
  const { userId, orgId } = JSON.parse(await runCli(["users", "add", "--username", "alice"], env)) as {
    userId: string;
    orgId: string;
  };
  expect(userId).toMatch(/^\d{18}$/);
  expect(orgId).toMatch(/^\d{18}$/);
  const token = (await runCli(["token", "--user", userId, "--ttl", "10m"], env)).trim();
  expect(token.split(".")).toHaveLength(3);

  const before = server.lines.length;
  const set = await rest("PUT", "/auth/v1/users/me/phone", token, { phone: "+41 79 555 12 34" });
  expect(set.status).toBe(200);
  expect(set.json.details).toEqual({ sequence: "3", changeDate: expect.any(String), resourceOwner: orgId });
  const code = await smsCode("+41795551234", before);

  const wrong = await rest("POST", "/auth/v1/users/me/phone/_verify", token, {
    code: code === "AAAAAA" ? "BBBBBB" : "AAAAAA",
  });
  expect(wrong.status).toBe(400);
  expect(wrong.json.message).toBe("Code is invalid (COMMAND-sM0cs)");

  const verified = await connect("VerifyMyPhone", token, { code });
  expect(verified.status).toBe(200);
  expect(verified.json.details.resourceOwner).toBe(orgId);
  expect(verified.json.details.creationDate).toBeUndefined();

  const got = await rest("GET", "/auth/v1/users/me/phone", token);
  expect(got.json.phone).toEqual({ phone: "+41795551234", isPhoneVerified: true });

  const resend = await rest("POST", "/auth/v1/users/me/phone/_resend_verification", token);
  expect(resend.status).toBe(400);
  expect(resend.json).toEqual({
    code: 9,
    message: "Phone already verified (COMMAND-2M9sf)",
    details: [
      { "@type": "type.googleapis.com/zitadel.v1.ErrorDetail", id: "COMMAND-2M9sf", message: "Phone already verified" },
    ],
  });

  const removed = await rest("DELETE", "/auth/v1/users/me/phone", token);
  expect(removed.status).toBe(200);
  expect((await rest("GET", "/auth/v1/users/me/phone", token)).json.phone).toEqual({});

  const again = await rest("PUT", "/auth/v1/users/me/phone", token, { phone: "+41795551234" });
  expect(again.status).toBe(200);
  expect((await rest("GET", "/auth/v1/users/me/phone", token)).json.phone).toEqual({ phone: "+41795551234" });
});

test("v2 as the README shows it: one's own number by REST; a `token --role` administrator gets the code returned", async () => {
  const { userId, orgId } = JSON.parse(await runCli(["users", "add", "--username", "bob"], env)) as {
    userId: string;
    orgId: string;
  };
  const token = (await runCli(["token", "--user", userId], env)).trim();
  const admin = (await runCli(["token", "--user", "318530281939763209", "--role", "phone-admin"], env)).trim();
  const own = await rest("POST", `/v2/users/${userId}/phone`, token, { phone: "+41795551236", sendCode: {} });
  expect(own.json).toEqual({ details: { sequence: "3", changeDate: expect.any(String), resourceOwner: orgId } });
  const refused = await rest("POST", `/v2/users/${userId}/phone`, token, { phone: "+41795551237", returnCode: {} });
  expect(refused.json.message).toBe("membership not found (AUTHZ-cdgFk)");
  const returned = await rest("POST", `/v2/users/${userId}/phone`, admin, { phone: "+41795551237", returnCode: {} });
  expect(returned.json.verificationCode).toMatch(/^[A-Z0-9]{6}$/);
  const verified = await rest("POST", `/v2/users/${userId}/phone/verify`, token, {
    verificationCode: returned.json.verificationCode,
  });
  expect(verified.status).toBe(200);
  expect((await rest("GET", "/auth/v1/users/me/phone", token)).json.phone).toEqual({
    phone: "+41795551237",
    isPhoneVerified: true,
  });
  expect((await rest("DELETE", `/v2/users/${userId}/phone`, token)).status).toBe(200);
});

test("a machine user created by the CLI cannot set or read a phone", async () => {
  const { userId } = JSON.parse(await runCli(["users", "add", "--username", "robot", "--machine"], env)) as {
    userId: string;
  };
  const token = (await runCli(["token", "--user", userId], env)).trim();
  const set = await rest("PUT", "/auth/v1/users/me/phone", token, { phone: "+41795551235" });
  expect(set.status).toBe(400);
  expect(set.json.message).toBe("User could not be found (COMMAND-3M0fs)");
  const get = await connect("GetMyPhone", token);
  expect(get.json.code).toBe("failed_precondition");
  expect(get.json.message).toBe("The User must be personal (QUERY-hliQl)");
});

test("the CLI refuses bad input and bad configuration with a message naming the problem", async () => {
  await expect(runCli(["users", "add"], env)).rejects.toMatchObject({ stderr: expect.stringContaining("--username") });
  await expect(runCli(["token", "--user", "1", "--ttl", "soon"], env)).rejects.toMatchObject({
    stderr: expect.stringContaining("duration"),
  });
  await expect(runCli(["users", "add", "--username", "x"], { ...env, MYPHONE_PORT: "eighty" })).rejects.toMatchObject({
    stderr: expect.stringContaining("MYPHONE_PORT"),
  });
});
