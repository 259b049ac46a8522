import { create, toBinary, type DescMessage, type MessageInitShape } from "@bufbuild/protobuf";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { GetMyPhoneRequestSchema, SetMyPhoneRequestSchema } from "../gen/zitadel/auth_pb.js";
import { loadCodeCipher } from "../src/app/code-keys.js";
import { UserCommands } from "../src/app/user-commands.js";
import { DevTokenIssuer } from "../src/auth/dev-token-issuer.js";
import { DEFAULT_CODE_POLICY } from "../src/domain/verification-code.js";
import { SQLITE_FILE } from "../src/eventstore/open-event-store.js";
import { SqliteEventStore } from "../src/eventstore/sqlite-event-store.js";
import { runLoad, type BenchRequest, type LoadResult, type Protocol } from "./loadgen.js";

/**
 * `npm run bench`: each server runs pinned to core 0 (taskset), this load generator to core 1. Measures in one run
 * the baselines (raw Node http, grpc-js no-op, connect-node no-op on myphone's listener) and myphone's SetMyPhone and
 * GetMyPhone per protocol on SQLite with many users; prints a table and saves bench/results/<date>.json.
 * Environment: BENCH_RUNS (3), BENCH_SECONDS (5), BENCH_CONCURRENCY (64), BENCH_USERS (2000).
 */

const ROOT = join(__dirname, "..", "..");
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 64);
const USERS = Number(process.env.BENCH_USERS ?? 2000);
const SERVER_CORE = process.env.BENCH_SERVER_CORE ?? "0";

interface Row {
  name: string;
  server: string;
  protocol: Protocol;
  rpc: string;
  baseline?: string;
  runs: LoadResult[];
  medianRps: number;
  p50Ms: number;
  p99Ms: number;
  cpuMsPerRequest: number;
  peakRssMb: number;
  errors: number;
  firstError?: string;
  ratio?: number;
}

function grpcFrame(bytes: Uint8Array): Buffer {
  const frame = Buffer.alloc(5 + bytes.length);
  frame.writeUInt32BE(bytes.length, 1);
  Buffer.from(bytes).copy(frame, 5);
  return frame;
}

/** Builds the request of `rpc` for `protocol`; `message` is the request message as an init shape. */
function encode<T extends DescMessage>(protocol: Protocol, rpc: string, schema: T, message: MessageInitShape<T>, json: unknown, token: string): BenchRequest {
  const authorization = `Bearer ${token}`;
  switch (protocol) {
    case "grpc":
      return { method: "POST", path: `/zitadel.auth.v1.AuthService/${rpc}`, headers: { "content-type": "application/grpc", te: "trailers", authorization }, body: grpcFrame(toBinary(schema, create(schema, message))) };
    case "grpc-web-h1":
      return { method: "POST", path: `/zitadel.auth.v1.AuthService/${rpc}`, headers: { "content-type": "application/grpc-web+proto", authorization }, body: grpcFrame(toBinary(schema, create(schema, message))) };
    case "connect-json-h1":
    case "connect-json-h2":
      return { method: "POST", path: `/zitadel.auth.v1.AuthService/${rpc}`, headers: { "content-type": "application/json", authorization }, body: Buffer.from(JSON.stringify(json)) };
    case "rest-h1":
    case "raw-h1":
      return rpc === "SetMyPhone"
        ? { method: "PUT", path: "/auth/v1/users/me/phone", headers: { "content-type": "application/json", authorization }, body: Buffer.from(JSON.stringify(json)) }
        : { method: "GET", path: "/auth/v1/users/me/phone", headers: { authorization }, body: Buffer.alloc(0) };
  }
}

function processStats(pid: number): { cpuMs: number; peakRssMb: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  const ticks = Number(stat[11]) + Number(stat[12]); // utime + stime (fields 14 and 15)
  const hwm = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return { cpuMs: ticks * 10, peakRssMb: Number(hwm?.[1] ?? 0) / 1024 };
}

async function startPinned(args: string[], env: Record<string, string>, ready: RegExp): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn("taskset", ["-c", SERVER_CORE, process.execPath, ...args], { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "inherit"], cwd: ROOT });
  return new Promise((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => reject(new Error(`server ${args.join(" ")} did not start: ${out}`)), 20_000);
    child.stdout!.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      const match = ready.exec(out);
      if (match) {
        clearTimeout(timer);
        child.stdout!.removeAllListeners("data");
        child.stdout!.resume();
        resolve({ child, port: Number(match[1]) });
      }
    });
    child.once("exit", (code) => reject(new Error(`server exited with ${code}: ${out}`)));
  });
}

async function stop(child: ChildProcess): Promise<void> {
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGTERM");
  await exited;
}

async function measure(row: Omit<Row, "runs" | "medianRps" | "p50Ms" | "p99Ms" | "cpuMsPerRequest" | "peakRssMb" | "errors">, pid: number, baseUrl: string, makeRequest: (i: number) => BenchRequest): Promise<Row> {
  await runLoad({ baseUrl, protocol: row.protocol, concurrency: CONCURRENCY, durationMs: 1000, makeRequest }); // warm-up
  const runs: LoadResult[] = [];
  let cpuMs = 0;
  for (let run = 0; run < RUNS; run++) {
    const before = processStats(pid);
    runs.push(await runLoad({ baseUrl, protocol: row.protocol, concurrency: CONCURRENCY, durationMs: SECONDS * 1000, makeRequest }));
    cpuMs += processStats(pid).cpuMs - before.cpuMs;
  }
  const byRps = [...runs].sort((a, b) => a.rps - b.rps);
  const median = byRps[Math.floor(byRps.length / 2)]!;
  const requests = runs.reduce((sum, r) => sum + r.requests, 0);
  const firstError = runs.find((r) => r.firstError)?.firstError;
  const result: Row = {
    ...row,
    runs,
    medianRps: median.rps,
    p50Ms: median.p50Ms,
    p99Ms: median.p99Ms,
    cpuMsPerRequest: requests ? cpuMs / requests : NaN,
    peakRssMb: processStats(pid).peakRssMb,
    errors: runs.reduce((sum, r) => sum + r.errors, 0),
    ...(firstError ? { firstError } : {}),
  };
  process.stderr.write(`${result.name}: ${result.medianRps.toFixed(0)} req/s, p99 ${result.p99Ms.toFixed(1)} ms, errors ${result.errors}${firstError ? ` (${firstError})` : ""}\n`);
  return result;
}

/** Users created the way `myphone users add` creates them, and dev tokens for them. */
async function seedUsers(dataDir: string): Promise<string[]> {
  const store = SqliteEventStore.open(join(dataDir, SQLITE_FILE));
  const cipher = loadCodeCipher(undefined, dataDir);
  const commands = new UserCommands(store, { env: () => ({ now: new Date(), cipher, codePolicy: DEFAULT_CODE_POLICY, phonePolicy: { defaultRegion: "CH", check: "possible", mobileOnly: false } }) });
  const ids = Array.from({ length: USERS }, (_, i) => `4${String(i).padStart(17, "0")}`);
  for (const id of ids) await commands.execute(id, { type: "AddHumanUser", userName: id }, "200000000000000001");
  await store.close();
  const issuer = await DevTokenIssuer.open(dataDir);
  return Promise.all(ids.map((id) => issuer.mint(id, 3600)));
}

async function main(): Promise<void> {
  const rows: Row[] = [];
  const noopToken = "x";
  // One counter for the whole run: every SetMyPhone carries a number its user never had (no "Phone not changed").
  let phoneCounter = 0;
  const setFor = (protocol: Protocol, tokens: string[]) => (i: number) => {
    const phone = `+4179${String(1_000_000 + (phoneCounter++ % 8_000_000)).padStart(7, "0")}`;
    return encode(protocol, "SetMyPhone", SetMyPhoneRequestSchema, { phone }, { phone }, tokens[i % tokens.length]!);
  };
  const getFor = (protocol: Protocol, tokens: string[]) => (i: number) => encode(protocol, "GetMyPhone", GetMyPhoneRequestSchema, {}, {}, tokens[i % tokens.length]!);

  // Baselines.
  const baselines: [string, string, Protocol][] = [
    ["raw-http", "raw Node http", "raw-h1"],
    ["grpc-js", "grpc-js no-op", "grpc"],
    ["connect", "connect-node no-op", "grpc"],
    ["connect", "connect-node no-op", "connect-json-h1"],
    ["connect", "connect-node no-op", "connect-json-h2"],
    ["connect", "connect-node no-op", "grpc-web-h1"],
  ];
  for (const [kind, server, protocol] of baselines) {
    const { child, port } = await startPinned([join(ROOT, "dist/bench/noop-servers.js"), kind, String(20000 + rows.length)], {}, /listening (\d+)/);
    for (const rpc of ["SetMyPhone", "GetMyPhone"]) {
      if (kind === "raw-http" && rpc === "GetMyPhone") continue;
      const make = rpc === "SetMyPhone" ? setFor(protocol, [noopToken]) : getFor(protocol, [noopToken]);
      rows.push(await measure({ name: `${server} ${rpc} ${protocol}`, server, protocol, rpc }, child.pid!, `http://127.0.0.1:${port}`, make));
    }
    await stop(child);
  }

  // myphone on SQLite, durable, many users, abuse limits off.
  const dataDir = mkdtempSync(join(tmpdir(), "myphone-bench-"));
  try {
    const tokens = await seedUsers(dataDir);
    const env = { MYPHONE_DATA_DIR: dataDir, MYPHONE_PORT: "0", MYPHONE_HOST: "127.0.0.1", MYPHONE_ABUSE_LIMITS: "off", MYPHONE_SMS_PROVIDER: "none", MYPHONE_LOG_LEVEL: "warn" };
    const { child, port } = await startPinned([join(ROOT, "bin/myphone.js"), "serve"], { ...env, MYPHONE_LOG_LEVEL: "info" }, /"port":(\d+)/);
    const myphone: [Protocol, string][] = [
      ["grpc", "connect-node no-op grpc"],
      ["connect-json-h1", "connect-node no-op connect-json-h1"],
      ["connect-json-h2", "connect-node no-op connect-json-h2"],
      ["grpc-web-h1", "connect-node no-op grpc-web-h1"],
      ["rest-h1", "connect-node no-op connect-json-h1"],
    ];
    for (const rpc of ["SetMyPhone", "GetMyPhone"]) {
      for (const [protocol, baseline] of myphone) {
        const make = rpc === "SetMyPhone" ? setFor(protocol, tokens) : getFor(protocol, tokens);
        rows.push(await measure({ name: `myphone sqlite ${rpc} ${protocol}`, server: "myphone sqlite", protocol, rpc, baseline: `${baseline.replace(/ (grpc|connect-json-h1|connect-json-h2|grpc-web-h1)$/, "")} ${rpc} ${baseline.split(" ").at(-1)}` }, child.pid!, `http://127.0.0.1:${port}`, make));
      }
    }
    await stop(child);
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }

  for (const row of rows) {
    const base = rows.find((r) => r.name === row.baseline);
    if (base) row.ratio = row.medianRps / base.medianRps;
  }
  const table = [
    "| row | req/s (median) | p50 ms | p99 ms | CPU ms/req | peak RSS MB | errors | ratio to baseline |",
    "|---|---|---|---|---|---|---|---|",
    ...rows.map((r) => `| ${r.name} | ${r.medianRps.toFixed(0)} | ${r.p50Ms.toFixed(2)} | ${r.p99Ms.toFixed(2)} | ${r.cpuMsPerRequest.toFixed(3)} | ${r.peakRssMb.toFixed(0)} | ${r.errors} | ${r.ratio === undefined ? "" : `${r.ratio.toFixed(2)} (${r.baseline})`} |`),
  ].join("\n");
  process.stdout.write(`${table}\n`);
  const resultsDir = join(ROOT, "bench", "results");
  mkdirSync(resultsDir, { recursive: true });
  const file = join(resultsDir, `${new Date().toISOString().replace(/[:.]/g, "-")}-throughput.json`);
  writeFileSync(file, JSON.stringify({ date: new Date().toISOString(), node: process.version, runs: RUNS, seconds: SECONDS, concurrency: CONCURRENCY, users: USERS, rows }, null, 2));
  process.stdout.write(`saved ${file}\n`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
