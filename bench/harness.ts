import { create, toBinary, type DescMessage, type MessageInitShape } from "@bufbuild/protobuf";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { join } from "node:path";
import { loadCodeCipher } from "../src/commands/code-keys.js";
import { UserCommands } from "../src/commands/user-commands.js";
import { DevTokenIssuer } from "../src/auth/dev-token-issuer.js";
import { loadConfig } from "../src/config.js";
import { openEventStore } from "../src/eventstore/open-event-store.js";
import { policiesOf } from "../src/server/myphone-server.js";
import type { BenchRequest, Protocol } from "./loadgen.js";

/**
 * What the benchmark entry points (throughput.ts, soak.ts) share: request encoding per protocol, starting and
 * stopping pinned server processes, reading a process's CPU and memory from /proc, seeding users, saving results.
 */

/** The repository root (this file is bundled into dist/bench/). */
export const ROOT = join(__dirname, "..", "..");

/** Core the measured servers are pinned to; the load generator runs on the other one (see package.json). */
export const SERVER_CORE = process.env.BENCH_SERVER_CORE ?? "0";

/** A numeric environment variable, or `fallback` when unset; a value that is not a number stops the run. */
export function envNumber(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === "") return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value)) throw new Error(`${name}=${raw} is not a number`);
  return value;
}

/** The organisation every seeded user belongs to. */
const SEED_ORG = "200000000000000001";

/** The i-th SetMyPhone number: 8 million distinct Swiss mobile numbers, so a run never repeats one. */
export function phoneNumber(i: number): string {
  return `+4179${String(1_000_000 + (i % 8_000_000)).padStart(7, "0")}`;
}

function grpcFrame(bytes: Uint8Array): Buffer {
  const frame = Buffer.alloc(5 + bytes.length);
  frame.writeUInt32BE(bytes.length, 1);
  Buffer.from(bytes).copy(frame, 5);
  return frame;
}

/** The binary gRPC request body (one length-prefixed frame) of `message`, e.g. for h2load's `-d`. */
export function grpcBody<T extends DescMessage>(schema: T, message: MessageInitShape<T>): Buffer {
  return grpcFrame(toBinary(schema, create(schema, message)));
}

/** Builds the request of `rpc` for `protocol`; `message` is the request message as an init shape, `json` its JSON form. */
export function encode<T extends DescMessage>(
  protocol: Protocol,
  rpc: string,
  schema: T,
  message: MessageInitShape<T>,
  json: unknown,
  token: string,
): BenchRequest {
  const authorization = `Bearer ${token}`;
  switch (protocol) {
    case "grpc":
      return {
        method: "POST",
        path: `/zitadel.auth.v1.AuthService/${rpc}`,
        headers: { "content-type": "application/grpc", te: "trailers", authorization },
        body: grpcBody(schema, message),
      };
    case "grpc-web-h1":
      return {
        method: "POST",
        path: `/zitadel.auth.v1.AuthService/${rpc}`,
        headers: { "content-type": "application/grpc-web+proto", authorization },
        body: grpcBody(schema, message),
      };
    case "grpc-web-text-h1":
      // What Google's grpc-web client sends in text mode: the same frame, base64, asking for a base64 answer.
      return {
        method: "POST",
        path: `/zitadel.auth.v1.AuthService/${rpc}`,
        headers: { "content-type": "application/grpc-web-text", accept: "application/grpc-web-text", authorization },
        body: Buffer.from(grpcBody(schema, message).toString("base64"), "latin1"),
      };
    case "connect-json-h1":
    case "connect-json-h2":
      return {
        method: "POST",
        path: `/zitadel.auth.v1.AuthService/${rpc}`,
        headers: { "content-type": "application/json", authorization },
        body: Buffer.from(JSON.stringify(json)),
      };
    case "rest-h1":
    case "rest-h2":
    case "raw-h1":
      return rpc === "SetMyPhone"
        ? {
            method: "PUT",
            path: "/auth/v1/users/me/phone",
            headers: { "content-type": "application/json", authorization },
            body: Buffer.from(JSON.stringify(json)),
          }
        : { method: "GET", path: "/auth/v1/users/me/phone", headers: { authorization }, body: Buffer.alloc(0) };
  }
}

/** CPU time (user + system) a process has used so far, in ms. */
export function cpuMs(pid: number): number {
  // Fields after the command name, which may contain spaces; utime and stime are fields 14 and 15 of the line.
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return (Number(stat[11]) + Number(stat[12])) * 10; // clock ticks of 10 ms (USER_HZ = 100 on Linux)
}

/** CPU time (ms) of the children a process has waited for (cutime + cstime): PostgreSQL backends that exited. */
export function reapedChildrenCpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return (Number(stat[13]) + Number(stat[14])) * 10;
}

function statusKb(pid: number, field: "VmRSS" | "VmHWM"): number {
  const match = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return Number(match?.[1] ?? NaN);
}

/** Write and read syscalls a process has made so far (/proc/<pid>/io: syscw, syscr; all its threads). */
export function syscalls(pid: number): { writes: number; reads: number } {
  const io = readFileSync(`/proc/${pid}/io`, "utf8");
  const field = (name: string) => Number(new RegExp(`^${name}: (\\d+)$`, "m").exec(io)?.[1] ?? NaN);
  return { writes: field("syscw"), reads: field("syscr") };
}

/** Resident memory now, MB. */
export function rssMb(pid: number): number {
  return statusKb(pid, "VmRSS") / 1024;
}

/** Highest resident memory since the process started (VmHWM), MB. */
export function peakRssMb(pid: number): number {
  return statusKb(pid, "VmHWM") / 1024;
}

/** The processes started by `pid` that are still running (from /proc, so no `ps` parsing). */
export function childPids(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** Pins every thread of `pid` to `core`; processes it forks later inherit the setting. */
export function pinProcess(pid: number, core: string): void {
  const result = spawnSync("taskset", ["-a", "-p", "-c", core, String(pid)], { encoding: "utf8" });
  if (result.status !== 0) throw new Error(`taskset -p ${pid} failed: ${result.stderr}`);
}

/** Servers started and not yet stopped: killed when this process exits, so an aborted run leaves none behind. */
const running = new Set<ChildProcess>();
process.on("exit", () => {
  for (const child of running) child.kill("SIGKILL");
});

/**
 * Starts `node args…` pinned to the server core; resolves once stdout matches `ready`, whose first group is the
 * port. Stdout is drained afterwards (a full pipe would block the server).
 */
export async function startPinned(
  args: string[],
  env: Record<string, string>,
  ready: RegExp,
): Promise<{ child: ChildProcess; port: number; ready: RegExpExecArray }> {
  const child = spawn("taskset", ["-c", SERVER_CORE, process.execPath, ...args], {
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "inherit"],
    cwd: ROOT,
  });
  running.add(child);
  child.once("exit", () => running.delete(child));
  return new Promise((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`server ${args.join(" ")} did not start: ${out}`));
    }, 20_000);
    const exited = (code: number | null) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code}: ${out}`));
    };
    child.once("exit", exited);
    child.stdout!.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      const match = ready.exec(out);
      if (match) {
        clearTimeout(timer);
        child.off("exit", exited);
        child.stdout!.removeAllListeners("data");
        child.stdout!.resume();
        resolve({ child, port: Number(match[1]), ready: match });
      }
    });
  });
}

/**
 * Starts `myphone serve` (MYPHONE_PORT=0 on loopback) pinned to the server core with `env` on top; `adminUrl` is
 * its admin listener (`/metrics`).
 */
export async function startMyphone(
  env: Record<string, string>,
): Promise<{ child: ChildProcess; port: number; adminUrl: string }> {
  // Log level info, as shipped: the "listening" line carries the ports, and every RPC writes its access-log line.
  const { child, port, ready } = await startPinned(
    [join(ROOT, "bin/myphone.js"), "serve"],
    {
      MYPHONE_PORT: "0",
      MYPHONE_HOST: "127.0.0.1",
      MYPHONE_ADMIN_PORT: "0",
      // One load generator on one address stands for many clients: its connections and streams are not capped.
      MYPHONE_MAX_CONNECTIONS_PER_IP: "100000",
      MYPHONE_MAX_CONNECTIONS: "100000",
      MYPHONE_HTTP2_MAX_STREAMS: "10000",
      ...env,
      MYPHONE_LOG_LEVEL: "info",
    },
    /"port":(\d+).*"adminPort":(\d+)/,
  );
  return { child, port, adminUrl: `http://127.0.0.1:${ready[2]}` };
}

/** SIGTERM, then waits for the exit (SIGKILL after 15 s, so a hung shutdown cannot hang the benchmark). */
export async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), 15_000);
  await exited;
  clearTimeout(timer);
}

/**
 * Creates `count` users the way `myphone users add` does, in the store `storeEnv` names (MYPHONE_STORE,
 * MYPHONE_DATA_DIR, MYPHONE_DATABASE_URL), and mints a development token for each (valid `ttlSeconds`).
 * User ids are `prefix` padded to 18 digits, so different benchmarks' users never collide.
 */
export async function seedUsers(
  storeEnv: Record<string, string>,
  count: number,
  ttlSeconds: number,
  prefix = "4",
): Promise<string[]> {
  const config = loadConfig(storeEnv);
  const store = await openEventStore(config);
  const cipher = loadCodeCipher(undefined, config.dataDir);
  const commands = new UserCommands(store, { env: () => ({ now: new Date(), cipher, ...policiesOf(config) }) });
  const ids = Array.from({ length: count }, (_, i) => `${prefix}${String(i).padStart(18 - prefix.length, "0")}`);
  try {
    // Sixteen at a time: SQLite's group commit and the PostgreSQL pool both take concurrent writers.
    for (let start = 0; start < ids.length; start += 16) {
      await Promise.all(
        ids
          .slice(start, start + 16)
          .map((id) => commands.execute(id, { type: "AddHumanUser", userName: id }, SEED_ORG)),
      );
    }
  } finally {
    await store.close();
  }
  const issuer = await DevTokenIssuer.open(config.dataDir);
  return Promise.all(ids.map((id) => issuer.mint(id, ttlSeconds)));
}

/** Node, core count and CPU model, stored with every result. */
export function machine(): { node: string; cpus: number; cpuModel?: string } {
  return { node: process.version, cpus: cpus().length, cpuModel: cpus()[0]?.model };
}

/** Writes `data` to bench/results/<iso date>-<kind>.json and returns the path. */
export function saveResult(kind: string, data: unknown): string {
  const dir = join(ROOT, "bench", "results");
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${new Date().toISOString().replace(/[:.]/g, "-")}-${kind}.json`);
  writeFileSync(file, `${JSON.stringify(data, null, 2)}\n`);
  return file;
}

/** A markdown table. */
export function markdownTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  return [
    `| ${header.join(" | ")} |`,
    `|${header.map(() => "---").join("|")}|`,
    ...rows.map((cells) => `| ${cells.join(" | ")} |`),
  ].join("\n");
}

/** Resolves after `ms`. */
export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** One /metrics scrape of a myphone server's admin listener (Prometheus text). */
export async function fetchMetrics(adminUrl: string): Promise<string> {
  return (await fetch(`${adminUrl}/metrics`, { signal: AbortSignal.timeout(10_000) })).text();
}

/**
 * Waits until myphone's outbox has no pending job (`myphone_sms_jobs{state="pending"}` on /metrics). Under a
 * closed loop the SMS worker falls behind; left alone, it would catch up during whatever is measured next.
 */
export async function outboxDrained(adminUrl: string): Promise<void> {
  const deadline = performance.now() + 120_000;
  for (;;) {
    const pending = /^myphone_sms_jobs\{state="pending"\} (\S+)$/m.exec(await fetchMetrics(adminUrl));
    if (!pending) throw new Error('myphone_sms_jobs{state="pending"} is missing from /metrics');
    if (Number(pending[1]) === 0) return;
    if (performance.now() > deadline)
      throw new Error(`the SMS outbox still had ${pending[1]} pending jobs after 120 s`);
    await sleep(200);
  }
}

/**
 * Paired rounds: `rounds` loads of `durationMs` on each of two sides, back to back, side A first in even rounds
 * and side B first in odd ones, so a drift of this VM's speed (it reaches 2x within minutes) favours neither.
 * Only ratios taken within one round are meaningful. Returns the rounds in order.
 */
export async function alternatingRounds<A, B>(
  sideA: (durationMs: number) => Promise<A>,
  sideB: (durationMs: number) => Promise<B>,
  rounds: number,
  durationMs: number,
): Promise<{ a: A; b: B }[]> {
  const results: { a: A; b: B }[] = [];
  for (let round = 0; round < rounds; round++) {
    if (round % 2 === 0) {
      const a = await sideA(durationMs);
      results.push({ a, b: await sideB(durationMs) });
    } else {
      const b = await sideB(durationMs);
      results.push({ a: await sideA(durationMs), b });
    }
  }
  return results;
}

/**
 * Abuse limits on, set so that this benchmark's own traffic is never refused: the rows measure what the checks
 * cost, not refusals. Users are asked round-robin (throughput.ts `setRequests`, work-floor.ts), so one user sends again only after every
 * other user did: at most every USERS / MAX_SETS_PER_SECOND seconds at the highest rate assumed below.
 */
export function abuseOnSettings(users: number): { env: Record<string, string>; assumptions: string } {
  /** Far above what one core reaches (the connect-node no-op baselines do ~5,000 req/s). */
  const MAX_SETS_PER_SECOND = 20_000;
  const gapMs = (users / MAX_SETS_PER_SECOND) * 1000;
  // Two caps per key like the defaults (10/1h,20/1d), each at twice what a user can send in its window; the
  // larger one is 1000, the highest cap the configuration accepts (MAX_REMEMBERED_SENDS).
  const windowMs = Math.max(1, Math.floor(500 * gapMs));
  const caps = `500/${Math.max(1, Math.floor(windowMs / 2))}ms,1000/${windowMs}ms`;
  return {
    env: {
      MYPHONE_ABUSE_LIMITS: "on",
      // Off: round-robin spaces one user's requests, but a slow request can still be overtaken by the same user's
      // next one (closed loop, stragglers), and two overlapping requests fall within any cooldown. The per-user
      // caps below read the same send history, so the check's cost is still measured.
      MYPHONE_RESEND_COOLDOWN: "0",
      MYPHONE_SENDS_PER_USER: caps,
      // The defaults: every SetMyPhone carries a number never used before in this run.
      MYPHONE_SENDS_PER_NUMBER: "5/1h,10/1d",
      // Each user's requests carry its own X-Forwarded-For address (see `clientAddress`), as behind a proxy.
      MYPHONE_SENDS_PER_IP: caps,
      MYPHONE_TRUSTED_PROXIES: "127.0.0.1",
      // Budgets and the breaker are counted and checked on every send, but out of reach: the run's numbers are
      // consecutive (one range of 1,000 per 1,000 sends, all Swiss) and never verified.
      MYPHONE_SMS_BUDGET: "1000000000/1h,1000000000/1d",
      MYPHONE_SMS_BUDGET_PER_COUNTRY: "1000000000/1h,1000000000/1d",
      MYPHONE_SMS_BUDGET_PER_PREFIX: "1000000000/1h,1000000000/1d",
      MYPHONE_SMS_BREAKER_MIN_SENDS: "1000000",
    },
    assumptions: `at most ${MAX_SETS_PER_SECOND} SetMyPhone/s over ${users} users asked round-robin, one X-Forwarded-For address per user; resend cooldown off (overlapping requests of one user would trip any cooldown); country deny list and number kinds as shipped (the numbers pass them); SMS budgets and breaker counted but out of reach`,
  };
}

/** User u's client address (10.0.0.0/8), sent as X-Forwarded-For on the abuse-limits-on rows. */
export function clientAddress(user: number): string {
  return `10.${(user >> 16) & 255}.${(user >> 8) & 255}.${user & 255}`;
}
