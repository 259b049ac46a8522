import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { DevTokenIssuer } from "../../src/auth/dev-token-issuer.js";
import { CodeKeyAgreement, loadCodeCipher } from "../../src/commands/code-keys.js";
import { UserCommands } from "../../src/commands/user-commands.js";
import { USER_AGGREGATE, UserEventType } from "../../src/domain/user-events.js";
import { DEFAULT_CODE_POLICY } from "../../src/domain/verification-code.js";
import { PostgresEventStore } from "../../src/eventstore/postgres/postgres-event-store.js";
import { closeGrpcClients, grpcCall, restRefusal, setPhone, verify } from "../abuse/wire.js";
import { CLI, sharedNodeEnv, startCliServer, type CliServer } from "../support/cli-process.js";
import { startFakeWebhook, type FakeSmsServer } from "../support/fake-sms-servers.js";
import { describeWithPostgres, usePostgresDatabase } from "../support/postgres.js";
import { addUsersToStore } from "../support/store-users.js";

/**
 * Issue 22, item 11: nodes with different code keys. Real `myphone serve` processes on one throwaway PostgreSQL
 * (and two on one SQLite file): a node whose keys do not match the deployment's refuses to start with one line
 * naming MYPHONE_CODE_KEYS; during a key rotation, a node lacking the new key leaves its SMS jobs to a node that
 * has it (no attempt counted, nothing burned) and answers Unavailable MYPHONE-CoKey, not Internal, when asked to
 * verify such a code; a node with the new key first and the old one kept serves codes of both.
 */

const run = promisify(execFile);
const newKey = () => randomBytes(32).toString("base64");

/** `myphone serve` that must refuse to start: resolves with its exit code and stderr. */
async function refusedStart(env: Record<string, string>): Promise<{ code: number; stderr: string }> {
  try {
    await run(process.execPath, [CLI, "serve"], {
      env: { ...process.env, MYPHONE_HOST: "127.0.0.1", MYPHONE_PORT: "0", MYPHONE_ABUSE_LIMITS: "off", ...env },
      timeout: 30_000,
    });
  } catch (error) {
    const failed = error as { code?: number; stderr?: string; killed?: boolean };
    if (failed.killed) throw new Error("the server did not refuse to start (it was still running after 30 s)");
    return { code: failed.code ?? -1, stderr: failed.stderr ?? "" };
  }
  throw new Error("the server exited 0 instead of refusing to start");
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describeWithPostgres()("nodes on one PostgreSQL with different code keys", () => {
  const database = usePostgresDatabase("code_keys");
  let dataDir: string;
  let webhook: FakeSmsServer;
  const nodes: CliServer[] = [];
  const [k1, k2, k3] = [newKey(), newKey(), newKey()];

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), "myphone-code-keys-"));
    webhook = await startFakeWebhook();
  });
  afterAll(async () => {
    closeGrpcClients();
    for (const node of nodes) {
      node.child.kill("SIGTERM");
      await node.exited;
    }
    await webhook?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const env = (codeKeys: string) => ({
    ...sharedNodeEnv({ databaseUrl: database.url, dataDir, codeKeys, webhookUrl: webhook.url }),
    MYPHONE_SMS_POLL_INTERVAL: "100ms",
    MYPHONE_DATABASE_POOL_SIZE: "4",
  });

  test("a node with another key, or another key under the same id, refuses to start with one line naming MYPHONE_CODE_KEYS", async () => {
    nodes.push(await startCliServer(env(`a1:${k1}`)));
    const otherId = await refusedStart(env(`b1:${k2}`));
    expect(otherId.code).toBe(1);
    expect(otherId.stderr.trim().split("\n")).toHaveLength(1);
    expect(otherId.stderr).toMatch(/^myphone: MYPHONE_CODE_KEYS: .*key id a1 is missing/);
    const sameIdOtherKey = await refusedStart(env(`a1:${k2}`));
    expect(sameIdOtherKey.stderr.trim().split("\n")).toHaveLength(1);
    expect(sameIdOtherKey.stderr).toMatch(/^myphone: MYPHONE_CODE_KEYS: .*key id a1 is not the key other nodes use/);
    // Neither secret reaches the message.
    expect(otherId.stderr + sameIdOtherKey.stderr).not.toContain(k2);
    // The same keys are fine, and so is the old key kept behind a new first one (a rotation's first step).
    nodes.push(await startCliServer(env(`a1:${k1}`)));
    nodes.push(await startCliServer(env(`a1:${k1},a2:${k3}`)));
  }, 60_000);

  test("rotation: a node lacking the new key leaves its jobs (no attempt), answers Unavailable MYPHONE-CoKey for its codes; a node with both keys serves both", async () => {
    // The node holding a2 (unused) goes: the two left hold a1 only.
    const withBoth = nodes.pop()!;
    withBoth.child.kill("SIGTERM");
    await withBoth.exited;
    const issuer = await DevTokenIssuer.open(dataDir);
    const [oldUser, newUser] = ["41000000000000001", "41000000000000002"];
    const store = await PostgresEventStore.open(database.url);
    try {
      await addUsersToStore(store, [oldUser, newUser], "org-keys", { dataDir, codeKeys: `a1:${k1}` });
      // A node of the rotation's second step (new key first), here in this process and without an SMS worker, so
      // that only the running nodes (a1, and a1 with a2 unused) could pick up its job.
      const rotated = loadCodeCipher(`a2:${k3},a1:${k1}`, dataDir);
      expect(await new CodeKeyAgreement(rotated, store, { codeTtlMs: 3_600_000 }).problems()).toEqual([]);
      const commands = new UserCommands(store, {
        env: () => ({
          now: new Date(),
          cipher: rotated,
          codePolicy: DEFAULT_CODE_POLICY,
          phonePolicy: { defaultRegion: "CH", check: "possible", mobileOnly: false },
        }),
      });
      await commands.execute(newUser, { type: "SetPhone", phone: "+41795550201" });

      // The running nodes with a1 only never claim the a2 job: after many polls (100 ms) it is untouched.
      await sleep(1500);
      const [job] = (
        await database.query<{ state: string; attempts: number; lease_owner: string | null; key_id: string }>(
          "SELECT state, attempts, lease_owner, key_id FROM myphone.outbox WHERE aggregate_id = $1",
          [newUser],
        )
      ).rows;
      expect(job).toEqual({ state: "pending", attempts: 0, lease_owner: null, key_id: "a2" });
      expect(webhook.requests.filter((request) => request.to === "+41795550201")).toEqual([]);
      for (const node of nodes)
        expect(node.lines.filter((line) => typeof line.msg === "string" && line.msg.startsWith("sms"))).toEqual([]);

      // Verifying that code on the a1-only node: Unavailable with its id (REST and gRPC), nothing recorded.
      const token = await issuer.mint(newUser, 600);
      const refused = await verify(nodes[0]!.url, token, "AAAAAA");
      expect({ status: refused.status, ...restRefusal(refused) }).toMatchObject({
        status: 503,
        code: 14,
        id: "MYPHONE-CoKey",
        retryDelay: "1s",
      });
      const overGrpc = await grpcCall(nodes[0]!.url, "VerifyMyPhone", token, { code: "AAAAAA" });
      expect(overGrpc).toMatchObject({ ok: false, code: 14, errorDetail: { id: "MYPHONE-CoKey" } });
      const stream = await store.readStream(USER_AGGREGATE, newUser);
      expect(stream.map((event) => event.type)).not.toContain(UserEventType.phoneVerificationFailed);

      // An a1-only node can no longer start: a2 is in use.
      expect((await refusedStart(env(`a1:${k1}`))).stderr).toMatch(
        /^myphone: MYPHONE_CODE_KEYS: .*key id a2 is missing/,
      );

      // A code of the old key, made by the old node.
      const oldToken = await issuer.mint(oldUser, 600);
      expect((await setPhone(nodes[0]!.url, oldToken, "+41795550202")).status).toBe(200);
      const [oldSms] = await webhook.waitForDeliveries(1, 10_000);
      expect(oldSms!.to).toBe("+41795550202");

      // The rotated node starts, sends the waiting a2 job (its first attempt), and verifies codes of both keys.
      nodes.push(await startCliServer(env(`a2:${k3},a1:${k1}`)));
      await webhook.waitFor(() => webhook.delivered.some((request) => request.to === "+41795550201"), 10_000);
      const newSms = webhook.delivered.find((request) => request.to === "+41795550201")!;
      // Settled after the provider's answer: done on its first attempt.
      const jobOf = async (userId: string) =>
        (
          await database.query<{ state: string; attempts: number }>(
            "SELECT state, attempts FROM myphone.outbox WHERE aggregate_id = $1",
            [userId],
          )
        ).rows[0];
      for (let waited = 0; (await jobOf(newUser))?.state === "pending" && waited < 10_000; waited += 50)
        await sleep(50);
      expect(await jobOf(newUser)).toEqual({ state: "done", attempts: 0 });
      const rotatedNode = nodes.at(-1)!;
      expect((await verify(rotatedNode.url, token, newSms.code)).status).toBe(200);
      expect((await verify(rotatedNode.url, oldToken, oldSms!.code)).status).toBe(200);
    } finally {
      await store.close();
    }
  }, 90_000);
});

describe("processes on one SQLite file with different code keys", () => {
  let dataDir: string;
  let first: CliServer | undefined;

  beforeAll(() => {
    dataDir = mkdtempSync(join(tmpdir(), "myphone-code-keys-sqlite-"));
  });
  afterAll(async () => {
    first?.child.kill("SIGTERM");
    await first?.exited;
    rmSync(dataDir, { recursive: true, force: true });
  });

  test("the second refuses to start, naming MYPHONE_CODE_KEYS; one with the same keys starts", async () => {
    const key = newKey();
    first = await startCliServer({
      MYPHONE_DATA_DIR: dataDir,
      MYPHONE_CODE_KEYS: `s1:${key}`,
      MYPHONE_SMS_PROVIDER: "none",
    });
    const refused = await refusedStart({
      MYPHONE_DATA_DIR: dataDir,
      MYPHONE_CODE_KEYS: `s1:${newKey()}`,
      MYPHONE_SMS_PROVIDER: "none",
    });
    expect(refused.stderr).toMatch(/^myphone: MYPHONE_CODE_KEYS: .*key id s1 is not the key other nodes use/);
    // Dropping the active key (a restart with a fresh generated key file instead) is refused too.
    const generated = await refusedStart({ MYPHONE_DATA_DIR: dataDir, MYPHONE_SMS_PROVIDER: "none" });
    expect(generated.stderr).toMatch(/^myphone: MYPHONE_CODE_KEYS: .*key id s1 is missing/);
    const second = await startCliServer({
      MYPHONE_DATA_DIR: dataDir,
      MYPHONE_CODE_KEYS: `s1:${key}`,
      MYPHONE_SMS_PROVIDER: "none",
    });
    second.child.kill("SIGTERM");
    await second.exited;
  }, 60_000);
});
