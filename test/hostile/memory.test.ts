import fc from "fast-check";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SQLITE_FILE } from "../../src/storage/sqlite-file.js";
import { SqliteEventStore } from "../../src/eventstore/sqlite/sqlite-event-store.js";
import { ALL_CLIENTS, closeAllClients } from "../support/clients.js";
import { runCli, startCliServer, type CliServer } from "../support/cli-process.js";
import { AcknowledgedWrites } from "./acknowledged-writes.js";
import { grpcFrame, h1Request, h2Request, rawTcp } from "./raw-http.js";

/**
 * Memory under hostile input (issue 5, acceptance 3), measured on a real `myphone serve` process: the resident
 * set (VmRSS from /proc) after a warm-up is the baseline; after rounds of 10 MB bodies on every protocol, random
 * gRPC frames, header floods, deep JSON and TCP garbage, it must come back near it. The child's garbage
 * collector cannot be forced, so the bound is generous: below 2 x baseline + 50 MB. Acknowledged writes made
 * during the rounds are checked in the database file after the server has stopped.
 */

const TEN_MB = 10 * 1024 * 1024;
const ROUNDS = 3;

let dataDir: string;
let server: CliServer;
let env: Record<string, string>;

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), "myphone-memory-"));
  env = { MYPHONE_DATA_DIR: dataDir, MYPHONE_ABUSE_LIMITS: "off", MYPHONE_SMS_PROVIDER: "none" };
  server = await startCliServer(env);
});

afterAll(async () => {
  closeAllClients();
  if (server && server.child.exitCode === null) {
    server.child.kill("SIGKILL");
    await server.exited;
  }
  rmSync(dataDir, { recursive: true, force: true });
});

/** A field of /proc/<pid>/status in megabytes (VmRSS: resident now; VmHWM: the peak so far). */
function procMb(pid: number, field: "VmRSS" | "VmHWM"): number {
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  if (!match) throw new Error(`no ${field} in /proc/${pid}/status`);
  return Number(match[1]) / 1024;
}

const settle = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** One round of everything hostile, on every protocol, interleaved with real writes. */
async function hostileRound(token: string, writes: AcknowledgedWrites): Promise<void> {
  const url = server.url;
  const auth = { authorization: `Bearer ${token}` };
  const rpc = "/zitadel.auth.v1.AuthService/SetMyPhone";
  const huge = Buffer.alloc(TEN_MB, 0x31);
  const hugeFrame = grpcFrame(huge);
  await Promise.all([
    h2Request(url, { ":path": rpc, "content-type": "application/grpc", te: "trailers", ...auth }, [hugeFrame]),
    h2Request(url, { ":path": rpc, "content-type": "application/grpc-web+proto", ...auth }, [hugeFrame]),
    h1Request(url, {
      path: rpc,
      headers: { "content-type": "application/grpc-web+proto", ...auth },
      body: [hugeFrame],
    }),
    h2Request(url, { ":path": rpc, "content-type": "application/json", ...auth }, [huge]),
    h1Request(url, { path: rpc, headers: { "content-type": "application/json", ...auth }, body: [huge] }),
    h2Request(
      url,
      { ":method": "PUT", ":path": "/auth/v1/users/me/phone", "content-type": "application/json", ...auth },
      [huge],
    ),
    h1Request(url, {
      method: "PUT",
      path: "/auth/v1/users/me/phone",
      headers: { "content-type": "application/json", ...auth },
      body: [huge],
    }),
    writes.write(),
  ]);
  const frames = fc.sample(fc.uint8Array({ maxLength: 4096 }), 50);
  await Promise.all(
    frames.map((bytes) =>
      h2Request(url, { ":path": rpc, "content-type": "application/grpc", te: "trailers" }, [Buffer.from(bytes)]),
    ),
  );
  const manyHeaders = Object.fromEntries(Array.from({ length: 1000 }, (_, i) => [`x-filler-${i}`, `value-${i}`]));
  await Promise.all(
    Array.from({ length: 20 }, () => h2Request(url, { ":method": "GET", ":path": "/healthz", ...manyHeaders })),
  );
  const deep = `{"phone":"1","x":${"[".repeat(30_000)}${"]".repeat(30_000)}}`;
  await Promise.all(
    Array.from({ length: 20 }, (_, i) =>
      i % 2
        ? h2Request(url, { ":path": rpc, "content-type": "application/json", ...auth }, [deep])
        : h1Request(url, {
            method: "PUT",
            path: "/auth/v1/users/me/phone",
            headers: { "content-type": "application/json", ...auth },
            body: [deep],
          }),
    ),
  );
  const garbage = fc.sample(fc.uint8Array({ minLength: 1, maxLength: 2048 }), 50);
  await Promise.all(garbage.map((bytes) => rawTcp(server.port, [Buffer.from(bytes)], { maxMs: 10_000 })));
  await writes.write();
}

test("memory returns near the baseline after hostile rounds, and no acknowledged write is lost", async () => {
  const { userId } = JSON.parse(await runCli(["users", "add", "--username", "memory-test"], env)) as { userId: string };
  const token = (await runCli(["token", "--user", userId], env)).trim();
  const writes = new AcknowledgedWrites(server.url, { userId, token }, "+4179333");
  const pid = server.child.pid!;

  // Warm-up: JIT, pools and lazily built structures of every path used below belong to the baseline.
  const client = ALL_CLIENTS[0]!.create(server.url, token);
  for (let i = 0; i < 100; i++) await client.get();
  await hostileRound(token, writes);
  await settle(2_000);
  const baseline = procMb(pid, "VmRSS");

  for (let round = 0; round < ROUNDS; round++) await hostileRound(token, writes);
  await settle(2_000);
  const after = procMb(pid, "VmRSS");
  const peak = procMb(pid, "VmHWM");
  console.log(
    `myphone serve RSS: baseline ${baseline.toFixed(1)} MB, after ${ROUNDS} hostile rounds ${after.toFixed(1)} MB, peak ${peak.toFixed(1)} MB`,
  );
  expect(after).toBeLessThan(2 * baseline + 50);

  // Still serving, and the last acknowledged write is what GetMyPhone shows.
  expect((await client.get()).phone?.phone).toBe(writes.lastPhone);
  expect(server.lines.filter((line) => line.msg === "unexpected error in rpc")).toEqual([]);

  server.child.kill("SIGTERM");
  expect(await server.exited).toBe(0);
  const store = SqliteEventStore.open(join(dataDir, SQLITE_FILE));
  try {
    await writes.expectAllStored(store);
  } finally {
    await store.close();
  }
});
