import { mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SetMyPhoneRequestSchema } from "../gen/zitadel/auth_pb.js";
import {
  SERVER_CORE,
  alternatingRounds,
  cpuMs,
  encode,
  envNumber,
  machine,
  markdownTable,
  outboxDrained,
  phoneNumber,
  saveResult,
  seedUsers,
  startMyphone,
  stop,
  syscalls,
} from "./harness.js";
import { openConnections, runLoad, type Protocol } from "./loadgen.js";
import { median } from "./stats.js";

/**
 * `npm run bench:aging`: how SetMyPhone's cost grows with the SQLite file. Two myphone servers (SQLite, durable,
 * abuse limits off, SMS provider `none`) on freshly seeded stores run side by side on core 0, the load generator
 * on core 1. One is aged first: BENCH_AGING_SECONDS of SetMyPhone at 64 in flight. Then BENCH_ROUNDS rounds of
 * BENCH_SECONDS per server, back to back, alternating which goes first (this VM's speed drifts within minutes,
 * so only such pairs carry a ratio); the SMS outbox is drained after every load. Per server: req/s, CPU per
 * request, write and read syscalls per request (SQLite writes one `pwrite` per WAL frame header and one per page;
 * reads are pages that left SQLite's cache), and the file sizes. Saves bench/results/<date>-aging.json.
 * Environment: BENCH_AGING_SECONDS (120), BENCH_ROUNDS (5), BENCH_SECONDS (5), BENCH_USERS (2000),
 * BENCH_AGING_PROTOCOL (rest-h1).
 */

const AGING_SECONDS = envNumber("BENCH_AGING_SECONDS", 120);
const ROUNDS = envNumber("BENCH_ROUNDS", 5);
const SECONDS = envNumber("BENCH_SECONDS", 5);
const USERS = envNumber("BENCH_USERS", 2000);
const CONCURRENCY = 64;
/** The protocols myphone serves SetMyPhone on (raw-h1 is the baselines' plain HTTP). */
const AGING_PROTOCOLS: readonly Protocol[] = [
  "grpc",
  "grpc-web-h1",
  "connect-json-h1",
  "connect-json-h2",
  "rest-h1",
  "rest-h2",
];
const PROTOCOL = protocolSetting(process.env.BENCH_AGING_PROTOCOL ?? "rest-h1");

function protocolSetting(value: string): Protocol {
  const protocol = AGING_PROTOCOLS.find((p) => p === value);
  if (!protocol) throw new Error(`BENCH_AGING_PROTOCOL=${value} is not one of ${AGING_PROTOCOLS.join(", ")}`);
  return protocol;
}

interface Side {
  readonly name: "fresh" | "aged";
  readonly dataDir: string;
  readonly load: (durationMs: number) => Promise<Sample>;
}

interface Sample {
  rps: number;
  requests: number;
  errors: number;
  p99Ms: number;
  cpuMsPerRequest: number;
  writesPerRequest: number;
  readsPerRequest: number;
}

/** Bytes of the store's files (database, WAL), MB. */
function storeMb(dataDir: string): number {
  const files = readdirSync(dataDir).filter((name) => name.includes(".sqlite"));
  return files.reduce((sum, name) => sum + statSync(join(dataDir, name)).size, 0) / 1e6;
}

async function main(): Promise<void> {
  const dirs: string[] = [];
  const servers: Awaited<ReturnType<typeof startMyphone>>[] = [];
  // One counter for both servers: every SetMyPhone carries a number its user never had.
  let sets = 0;
  const open = async (name: Side["name"]): Promise<Side> => {
    const dataDir = mkdtempSync(join(tmpdir(), `myphone-bench-aging-${name}-`));
    dirs.push(dataDir);
    const storeEnv = { MYPHONE_STORE: "sqlite", MYPHONE_DATA_DIR: dataDir };
    const tokens = await seedUsers(storeEnv, USERS, 4 * 3600);
    const server = await startMyphone({ ...storeEnv, MYPHONE_ABUSE_LIMITS: "off", MYPHONE_SMS_PROVIDER: "none" });
    servers.push(server);
    const url = `http://127.0.0.1:${server.port}`;
    const connections = openConnections(url, { sockets: CONCURRENCY });
    const makeRequest = () => {
      const n = sets++;
      const phone = phoneNumber(n);
      return encode(PROTOCOL, "SetMyPhone", SetMyPhoneRequestSchema, { phone }, { phone }, tokens[n % tokens.length]!);
    };
    const pid = server.child.pid!;
    const load = async (durationMs: number): Promise<Sample> => {
      const cpuBefore = cpuMs(pid);
      const before = syscalls(pid);
      const result = await runLoad({
        baseUrl: url,
        protocol: PROTOCOL,
        concurrency: CONCURRENCY,
        durationMs,
        makeRequest,
        connections,
      });
      // The worker's catch-up belongs to this load's requests: counted here, never during the other server's load.
      await outboxDrained(server.adminUrl);
      const after = syscalls(pid);
      const per = (value: number) => value / Math.max(1, result.requests);
      return {
        rps: result.rps,
        requests: result.requests,
        errors: result.errors,
        p99Ms: result.p99Ms,
        cpuMsPerRequest: per(cpuMs(pid) - cpuBefore),
        writesPerRequest: per(after.writes - before.writes),
        readsPerRequest: per(after.reads - before.reads),
      };
    };
    return { name, dataDir, load };
  };

  try {
    const fresh = await open("fresh");
    const aged = await open("aged");
    process.stderr.write(`aging: ${AGING_SECONDS} s of SetMyPhone ${PROTOCOL} on the second server\n`);
    const aging = await aged.load(AGING_SECONDS * 1000);
    // Both warm up (JIT, token cache) the same way before the rounds.
    await fresh.load(2000);
    await aged.load(2000);
    const sizesBefore = { fresh: storeMb(fresh.dataDir), aged: storeMb(aged.dataDir) };
    const rounds = (await alternatingRounds(fresh.load, aged.load, ROUNDS, SECONDS * 1000)).map(
      ({ a: freshSample, b: agedSample }, round) => {
        process.stderr.write(
          `round ${round + 1}: fresh ${freshSample.rps.toFixed(0)} req/s, aged ${agedSample.rps.toFixed(0)} req/s\n`,
        );
        return {
          fresh: freshSample,
          aged: agedSample,
          rpsRatio: agedSample.rps / freshSample.rps,
          cpuRatio: agedSample.cpuMsPerRequest / freshSample.cpuMsPerRequest,
        };
      },
    );
    const sideMedians = (name: Side["name"]) => ({
      rps: median(rounds.map((r) => r[name].rps)),
      cpuMsPerRequest: median(rounds.map((r) => r[name].cpuMsPerRequest)),
      writesPerRequest: median(rounds.map((r) => r[name].writesPerRequest)),
      readsPerRequest: median(rounds.map((r) => r[name].readsPerRequest)),
      p99Ms: median(rounds.map((r) => r[name].p99Ms)),
      errors: rounds.reduce((sum, r) => sum + r[name].errors, 0),
    });
    const summary = {
      fresh: { ...sideMedians("fresh"), storeMbBefore: sizesBefore.fresh, storeMbAfter: storeMb(fresh.dataDir) },
      aged: {
        ...sideMedians("aged"),
        storeMbBefore: sizesBefore.aged,
        storeMbAfter: storeMb(aged.dataDir),
        agingRequests: aging.requests,
      },
      rpsRatio: median(rounds.map((r) => r.rpsRatio)),
      cpuRatio: median(rounds.map((r) => r.cpuRatio)),
    };
    const fmt = (value: number, digits: number) => value.toFixed(digits);
    const table = markdownTable(
      [
        "server",
        "store MB (start of rounds)",
        "req/s",
        "CPU ms/req",
        "write syscalls/req",
        "read syscalls/req",
        "p99 ms",
        "errors",
      ],
      (["fresh", "aged"] as const).map((name) => {
        const side = summary[name];
        return [
          name,
          fmt(side.storeMbBefore, 0),
          fmt(side.rps, 0),
          fmt(side.cpuMsPerRequest, 3),
          fmt(side.writesPerRequest, 2),
          fmt(side.readsPerRequest, 2),
          fmt(side.p99Ms, 1),
          String(side.errors),
        ];
      }),
    );
    process.stdout.write(
      `\nSetMyPhone ${PROTOCOL} on a fresh and an aged store (aged by ${aging.requests} SetMyPhone; medians of ${ROUNDS} paired rounds of ${SECONDS} s):\n${table}\n` +
        `aged / fresh: req/s ${fmt(summary.rpsRatio, 2)} (rounds ${rounds.map((r) => fmt(r.rpsRatio, 2)).join(" ")}), CPU per request ${fmt(summary.cpuRatio, 2)}\n`,
    );
    const file = saveResult("aging", {
      machine: machine(),
      settings: {
        agingSeconds: AGING_SECONDS,
        rounds: ROUNDS,
        seconds: SECONDS,
        users: USERS,
        concurrency: CONCURRENCY,
        protocol: PROTOCOL,
        serverCore: SERVER_CORE,
      },
      summary,
      rounds,
    });
    process.stdout.write(`saved ${file}\n`);
  } finally {
    for (const server of servers) await stop(server.child);
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
