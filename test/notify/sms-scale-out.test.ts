import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadCodeCipher } from "../../src/commands/code-keys.js";
import { UserCommands } from "../../src/commands/user-commands.js";
import { DevTokenIssuer } from "../../src/auth/dev-token-issuer.js";
import { loadConfig } from "../../src/config.js";
import { SQLITE_FILE } from "../../src/storage/sqlite-file.js";
import { SqliteEventStore } from "../../src/eventstore/sqlite/sqlite-event-store.js";
import { policiesOf } from "../../src/server/myphone-server.js";
import { startCliServer, type CliServer } from "../support/cli-process.js";
import { outboxSettled, resendCode, setPhone, swissMobile, webhookUnderTest } from "./notify-kit.js";
import { jobKey } from "../support/fake-sms-servers.js";

/**
 * Issue 4, acceptance 2 (scale-out): three `myphone serve` processes share one SQLite data directory (WAL,
 * busy_timeout) and one webhook. Codes are created through all three, some superseded by a resend through another
 * process; the webhook fake counts deliveries per code: no code is sent twice, and the newest code of every user
 * exactly once (a superseded code may still go out if its job ran before the resend committed, but only once).
 */

const USERS = 45;

test("three processes on one SQLite database: each code is sent once", async () => {
  const dataDir = mkdtempSync(join(tmpdir(), "myphone-sms-scale-"));
  const provider = await webhookUnderTest();
  const servers: CliServer[] = [];
  try {
    // Users are created the way `myphone users add` creates them, before the servers start.
    const seed = SqliteEventStore.open(join(dataDir, SQLITE_FILE));
    const config = loadConfig({ MYPHONE_DATA_DIR: dataDir });
    const cipher = loadCodeCipher(undefined, dataDir);
    const commands = new UserCommands(seed, { env: () => ({ now: new Date(), cipher, ...policiesOf(config) }) });
    const userIds = Array.from({ length: USERS }, (_, i) => `40000000000000${String(i).padStart(4, "0")}`);
    for (const [i, userId] of userIds.entries()) {
      await commands.execute(
        userId,
        { type: "AddHumanUser", userName: `scale${i}`, preferredLanguage: ["de", "fr", "it"][i % 3] },
        "org-scale",
      );
    }
    await seed.close();

    const env = {
      MYPHONE_DATA_DIR: dataDir,
      MYPHONE_SMS_POLL_INTERVAL: "100ms",
      MYPHONE_ABUSE_LIMITS: "off",
      ...provider.env,
    };
    servers.push(...(await Promise.all([startCliServer(env), startCliServer(env), startCliServer(env)])));
    const issuer = await DevTokenIssuer.open(dataDir);
    const tokens = await Promise.all(userIds.map((userId) => issuer.mint(userId, 600)));

    // Every user sets a number through one process; every third then asks another process for a new code.
    const latest = new Map<string, number>();
    const keys = new Set<string>();
    let next = 0;
    const worker = async () => {
      while (next < USERS) {
        const i = next++;
        const userId = userIds[i]!;
        let sequence = await setPhone(servers[i % 3]!, tokens[i]!, swissMobile(1000 + i));
        keys.add(jobKey(userId, sequence));
        if (i % 3 === 0) {
          sequence = await resendCode(servers[(i + 1) % 3]!, tokens[i]!);
          keys.add(jobKey(userId, sequence));
        }
        latest.set(userId, sequence);
      }
    };
    await Promise.all(Array.from({ length: 9 }, worker));

    const store = SqliteEventStore.open(join(dataDir, SQLITE_FILE));
    try {
      await outboxSettled(store, 30_000);
      expect(await store.outbox.list("dead")).toEqual([]);
    } finally {
      await store.close();
    }

    expect(provider.fake.rejected).toEqual([]);
    const perKey = new Map<string, number>();
    for (const sms of provider.fake.requests) perKey.set(sms.id, (perKey.get(sms.id) ?? 0) + 1);
    // Never twice: no job and no code reached the provider more than once.
    expect([...perKey.entries()].filter(([, count]) => count > 1)).toEqual([]);
    expect(new Set(provider.fake.requests.map((sms) => sms.code)).size).toBe(provider.fake.requests.length);
    // Only codes that were created, and the newest code of every user, exactly once.
    for (const id of perKey.keys()) expect(keys.has(id)).toBe(true);
    for (const [userId, sequence] of latest)
      expect({ userId, sent: perKey.get(jobKey(userId, sequence)) }).toEqual({ userId, sent: 1 });
    // The work was shared: several processes sent SMS, and together exactly what the webhook received.
    // Log lines go out asynchronously (src/logger.ts): a settled job's "sms sent" line may still be on its way.
    const sentLines = () => servers.map((server) => server.lines.filter((line) => line.msg === "sms sent").length);
    const logged = Date.now() + 5_000;
    while (sentLines().reduce((a, b) => a + b, 0) < provider.fake.requests.length && Date.now() < logged)
      await new Promise((resolve) => setTimeout(resolve, 50));
    const sentBy = sentLines();
    expect(sentBy.reduce((a, b) => a + b, 0)).toBe(provider.fake.requests.length);
    expect(sentBy.filter((count) => count > 0).length).toBeGreaterThanOrEqual(2);
  } finally {
    for (const server of servers) server.child.kill("SIGTERM");
    await Promise.all(servers.map((server) => server.exited));
    await provider.fake.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
});
