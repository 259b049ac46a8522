import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { importJWK, SignJWT, type JWK } from "jose";
import { developmentSettingsProblem, isLoopbackHost, loadConfig } from "../../src/config.js";
import { runCli, startCliServer } from "../support/cli-process.js";
import { startTestServer } from "../support/test-server.js";

/**
 * Issue 22, item 2: with no settings the server listened on 0.0.0.0 with development tokens and console SMS (codes
 * in the logs) and said nothing; `myphone token --ttl 36500d` was accepted; generated code keys went unmentioned.
 * Processes that would listen beyond loopback are pointed at 192.0.2.1 (TEST-NET-1, on no interface here): the
 * refusal comes before any bind, and without it the bind fails differently, so nothing listens off loopback.
 */

let dataDir: string;
beforeEach(() => {
  dataDir = mkdtempSync(join(tmpdir(), "myphone-prod-defaults-"));
});
afterEach(() => rmSync(dataDir, { recursive: true, force: true }));

/** `myphone serve` expected to exit at start-up; resolves with its stderr. */
async function serveRefused(env: Record<string, string>): Promise<string> {
  const failure = await runCli(["serve"], { MYPHONE_PORT: "0", MYPHONE_DATA_DIR: dataDir, ...env }).then(
    (stdout) => new Error(`serve did not exit with an error: ${stdout}`),
    (error: { stderr: string }) => error,
  );
  if (failure instanceof Error) throw failure;
  return failure.stderr;
}

test("a fresh clone's `myphone serve` (no settings) starts on loopback, and says the code keys were generated", async () => {
  const server = await startCliServer({ MYPHONE_HOST: "", MYPHONE_DATA_DIR: dataDir });
  try {
    const listening = await server.waitForLine((line) => line.msg === "myphone listening");
    expect(listening).toMatchObject({ host: "127.0.0.1", tls: false });
    const warning = await server.waitForLine((line) => String(line.msg).startsWith("MYPHONE_CODE_KEYS is not set"));
    expect(warning.level).toBe(40);
    expect(
      (await fetch(`http://127.0.0.1:${server.port}/healthz`, { signal: AbortSignal.timeout(10_000) })).status,
    ).toBe(200);
  } finally {
    server.child.kill("SIGTERM");
    await server.exited;
  }
});

test("off loopback, development token verification and console SMS stop start-up with one line naming what production needs", async () => {
  const stderr = await serveRefused({ MYPHONE_HOST: "192.0.2.1" });
  expect(stderr.trim().split("\n")).toEqual([
    "myphone: MYPHONE_HOST=192.0.2.1 is reachable from other machines but MYPHONE_AUTH_MODE=dev and MYPHONE_SMS_PROVIDER=console are development settings: " +
      "a production server needs MYPHONE_AUTH_MODE=jwt or introspection (with MYPHONE_AUTH_ISSUER and MYPHONE_AUTH_AUDIENCE) and MYPHONE_SMS_PROVIDER=webhook or twilio; " +
      "MYPHONE_ALLOW_DEV=1 starts it anyway",
  ]);
});

test("MYPHONE_ALLOW_DEV=1 lets it past the check (here to the bind, which 192.0.2.1 cannot take)", async () => {
  const stderr = await serveRefused({ MYPHONE_HOST: "192.0.2.1", MYPHONE_ALLOW_DEV: "1" });
  expect(stderr).toContain("EADDRNOTAVAIL");
  expect(stderr).not.toContain("development setting");
});

test.each<[string, Record<string, string>, string | undefined]>([
  [
    "0.0.0.0 with dev auth only",
    { MYPHONE_HOST: "0.0.0.0", MYPHONE_SMS_PROVIDER: "none" },
    "MYPHONE_AUTH_MODE=dev is a development setting",
  ],
  [
    "[::] with console SMS only",
    {
      MYPHONE_HOST: "::",
      MYPHONE_AUTH_MODE: "jwt",
      MYPHONE_AUTH_ISSUER: "https://id.example.com",
      MYPHONE_AUTH_AUDIENCE: "1",
    },
    "MYPHONE_SMS_PROVIDER=console is a development setting",
  ],
  ["a host name", { MYPHONE_HOST: "myphone.internal" }, "MYPHONE_HOST=myphone.internal is reachable"],
  [
    "0.0.0.0 with production settings",
    {
      MYPHONE_HOST: "0.0.0.0",
      MYPHONE_AUTH_MODE: "jwt",
      MYPHONE_AUTH_ISSUER: "https://id.example.com",
      MYPHONE_AUTH_AUDIENCE: "1",
      MYPHONE_SMS_PROVIDER: "webhook",
      MYPHONE_SMS_WEBHOOK_URL: "https://sms.example.com/hook",
    },
    undefined,
  ],
  ["0.0.0.0 with MYPHONE_ALLOW_DEV", { MYPHONE_HOST: "0.0.0.0", MYPHONE_ALLOW_DEV: "1" }, undefined],
  ["127.0.0.1", { MYPHONE_HOST: "127.0.0.1" }, undefined],
  ["127.10.0.1", { MYPHONE_HOST: "127.10.0.1" }, undefined],
  ["::1", { MYPHONE_HOST: "::1" }, undefined],
  ["localhost", { MYPHONE_HOST: "localhost" }, undefined],
  ["the default host", {}, undefined],
])("development settings on %s", (_case, env, problem) => {
  const found = developmentSettingsProblem(loadConfig(env));
  if (problem === undefined) expect(found).toBeUndefined();
  else expect(found).toContain(problem);
});

test("loopback is 127/8, ::1 (also bracketed or IPv4-mapped) and localhost; nothing else", () => {
  expect(["127.0.0.1", "127.255.0.9", "::1", "[::1]", "::ffff:127.0.0.1", "LOCALHOST"].map(isLoopbackHost)).toEqual([
    true,
    true,
    true,
    true,
    true,
    true,
  ]);
  expect(
    ["0.0.0.0", "::", "10.0.0.1", "128.0.0.1", "localhost.example.com", "::ffff:10.0.0.1"].map(isLoopbackHost),
  ).toEqual([false, false, false, false, false, false]);
});

test("development tokens live at most 24h: `myphone token --ttl 36500d` and MYPHONE_AUTH_DEV_TOKEN_TTL=48h are refused, 24h is fine", async () => {
  const env = { MYPHONE_DATA_DIR: dataDir };
  await expect(runCli(["token", "--user", "1", "--ttl", "36500d"], env)).rejects.toMatchObject({
    stderr: expect.stringContaining("from 1s to 24h"),
  });
  await expect(runCli(["token", "--user", "1"], { ...env, MYPHONE_AUTH_DEV_TOKEN_TTL: "48h" })).rejects.toMatchObject({
    stderr: expect.stringContaining("MYPHONE_AUTH_DEV_TOKEN_TTL: must be at most 24h"),
  });
  expect((await runCli(["token", "--user", "1", "--ttl", "24h"], env)).trim()).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
});

test("the server refuses development tokens that live longer than 24h (minted before the cap) or were issued in the future", async () => {
  const server = await startTestServer({ MYPHONE_DATA_DIR: dataDir });
  try {
    const user = await server.addUser();
    // The data directory's key, as any holder of it (the CLI of an older release) could sign with it.
    const jwk = JSON.parse(readFileSync(join(dataDir, "dev-signing-key.json"), "utf8")) as JWK & { kid: string };
    const key = await importJWK(jwk, "ES256");
    const now = Math.floor(Date.now() / 1000);
    const devToken = (iat: number, exp: number) =>
      new SignJWT({})
        .setProtectedHeader({ alg: "ES256", kid: jwk.kid, typ: "at+jwt" })
        .setIssuer("myphone-dev")
        .setAudience("myphone")
        .setSubject(user.userId)
        .setIssuedAt(iat)
        .setExpirationTime(exp)
        .sign(key);
    const status = async (token: string) =>
      (
        await fetch(`${server.url}/auth/v1/users/me/phone`, {
          headers: { authorization: `Bearer ${token}` },
          signal: AbortSignal.timeout(10_000),
        })
      ).status;

    expect(await status(await devToken(now, now + 3600))).toBe(200);
    expect(await status(await devToken(now, now + 36500 * 86400))).toBe(401);
    expect(await status(await devToken(now + 3600, now + 7200))).toBe(401);
  } finally {
    await server.stop({ keepData: true });
  }
});

test("configured code keys: no warning about generated ones", async () => {
  const keys = `k1:${Buffer.alloc(32, 7).toString("base64")}`;
  const configured = await startTestServer({ MYPHONE_DATA_DIR: dataDir, MYPHONE_CODE_KEYS: keys });
  const generated = await startTestServer({});
  try {
    const warned = (logs: Record<string, unknown>[]) =>
      logs.some((line) => String(line.msg).startsWith("MYPHONE_CODE_KEYS is not set"));
    expect([warned(configured.logs), warned(generated.logs)]).toEqual([false, true]);
  } finally {
    await configured.stop({ keepData: true });
    await generated.stop();
  }
});
