import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "../src/config.js";
import { createLogger } from "../src/logger.js";
import { startMyphone } from "../src/server/myphone-server.js";
import { abuseOnSettings, clientAddress, envNumber, phoneNumber } from "./harness.js";

/**
 * The floor under any RPC framework: what myphone's own work for one SetMyPhone costs when no request crosses a
 * socket. A real server (SQLite, durable, group commit, SMS worker with the "none" provider, access logs off) runs
 * in this process, and SetPhone commands go straight to its UserCommands, 64 at a time, like 64 requests in flight.
 * CPU per command includes the SMS worker's share (claim, load, decrypt, code.sent, settle): the process CPU is
 * read after the outbox is empty. Run it pinned (`taskset -c 0 node dist/bench/work-floor.js`); compare the result
 * with the no-op servers' CPU per request in the same session's `npm run bench`.
 * Environment: FLOOR_COMMANDS (20000), FLOOR_USERS (2000), FLOOR_CONCURRENCY (64), FLOOR_ABUSE (0; 1 turns the
 * abuse limits on with throughput.ts's settings, each user's commands coming from its own client address).
 */

const COMMANDS = envNumber("FLOOR_COMMANDS", 20_000);
const USERS = envNumber("FLOOR_USERS", 2000);
const CONCURRENCY = envNumber("FLOOR_CONCURRENCY", 64);
const ABUSE = envNumber("FLOOR_ABUSE", 0) === 1;

async function main(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), "myphone-floor-"));
  const abuse = ABUSE ? abuseOnSettings(USERS).env : { MYPHONE_ABUSE_LIMITS: "off" };
  const config = loadConfig({
    MYPHONE_DATA_DIR: dataDir,
    MYPHONE_HOST: "127.0.0.1",
    MYPHONE_PORT: "0",
    MYPHONE_SMS_PROVIDER: "none",
    ...abuse,
  });
  const server = await startMyphone(config, { logger: createLogger("warn") });
  try {
    const ids = Array.from({ length: USERS }, (_, i) => `4${String(i).padStart(17, "0")}`);
    for (const id of ids)
      await server.commands.execute(id, { type: "AddHumanUser", userName: id }, "200000000000000001");
    let next = 0;
    // One counter for the whole run, so no SetPhone repeats its user's current number ("Phone not changed").
    let phones = 0;
    const run = async (count: number) => {
      const worker = async () => {
        for (let i = next++; i < count; i = next++) {
          const user = i % ids.length;
          const origin = ABUSE ? { clientAddress: clientAddress(user) } : {};
          await server.commands.execute(
            ids[user]!,
            { type: "SetPhone", phone: phoneNumber(phones++) },
            undefined,
            origin,
          );
        }
      };
      await Promise.all(Array.from({ length: CONCURRENCY }, worker));
      // The SMS worker's share belongs to each command: wait until every job is settled.
      while ((await server.store.outbox.countByState(["pending"])).pending > 0)
        await new Promise((resolve) => setTimeout(resolve, 5));
    };
    await run(Math.min(2000, COMMANDS)); // warm-up: JIT, caches
    next = 0;
    const cpuBefore = process.cpuUsage();
    const started = performance.now();
    await run(COMMANDS);
    const seconds = (performance.now() - started) / 1000;
    const cpu = process.cpuUsage(cpuBefore);
    const cpuMsPerCommand = (cpu.user + cpu.system) / 1000 / COMMANDS;
    const result = {
      date: new Date().toISOString(),
      node: process.version,
      commands: COMMANDS,
      users: USERS,
      concurrency: CONCURRENCY,
      abuseLimits: ABUSE,
      seconds,
      commandsPerSecond: COMMANDS / seconds,
      cpuMsPerCommand,
    };
    process.stdout.write(
      `| SetPhone without RPC (command + SMS worker${ABUSE ? ", abuse limits on" : ""}) | ${result.commandsPerSecond.toFixed(0)} /s | CPU ${cpuMsPerCommand.toFixed(3)} ms per command |\n`,
    );
    const resultsDir = join(__dirname, "..", "..", "bench", "results");
    mkdirSync(resultsDir, { recursive: true });
    const file = join(resultsDir, `${new Date().toISOString().replace(/[:.]/g, "-")}-work-floor.json`);
    writeFileSync(file, JSON.stringify(result, null, 2));
    process.stdout.write(`saved ${file}\n`);
  } finally {
    await server.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
