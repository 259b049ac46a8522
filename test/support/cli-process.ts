import { execFile, spawn, type ChildProcess } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";

const ROOT = join(__dirname, "..", "..");
/** The package's bin, as a user runs it (needs `npm run build`, which `npm test` does first). */
export const CLI = join(ROOT, "bin", "myphone.js");

const run = promisify(execFile);

/** Runs `myphone <args>` with the given environment; resolves with stdout. */
export async function runCli(args: string[], env: Record<string, string>): Promise<string> {
  const { stdout } = await run(process.execPath, [CLI, ...args], { env: { ...process.env, ...env }, timeout: 30_000 });
  return stdout;
}

/** A `myphone serve` child process; its stdout JSON lines are collected. */
export interface CliServer {
  readonly child: ChildProcess;
  readonly port: number;
  readonly url: string;
  readonly lines: Record<string, unknown>[];
  /** Resolves with the first line (at index >= from) matching `predicate`. */
  waitForLine(
    predicate: (line: Record<string, unknown>) => boolean,
    from?: number,
    timeoutMs?: number,
  ): Promise<Record<string, unknown>>;
  /** Resolves with the exit code (or signal name) once the process has exited. */
  exited: Promise<number | string>;
}

/**
 * The settings of one node of a scaled-out deployment: the PostgreSQL database, the data folder (dev token key) and
 * the code keys all nodes share, SMS to the fake webhook at `webhookUrl`.
 */
export function sharedNodeEnv(shared: {
  databaseUrl: string;
  dataDir: string;
  codeKeys: string;
  webhookUrl: string;
}): Record<string, string> {
  return {
    MYPHONE_STORE: "postgres",
    MYPHONE_DATABASE_URL: shared.databaseUrl,
    MYPHONE_DATA_DIR: shared.dataDir,
    MYPHONE_CODE_KEYS: shared.codeKeys,
    MYPHONE_SMS_PROVIDER: "webhook",
    MYPHONE_SMS_WEBHOOK_URL: `${shared.webhookUrl}/sms`,
  };
}

/** Starts `myphone serve` on a free port (MYPHONE_PORT=0, abuse limits off by default) and waits for its "listening" line. */
export async function startCliServer(env: Record<string, string>): Promise<CliServer> {
  const child = spawn(process.execPath, [CLI, "serve"], {
    // Abuse limits off unless `env` turns them on: most tests send many codes quickly from one address.
    env: { ...process.env, MYPHONE_HOST: "127.0.0.1", MYPHONE_PORT: "0", MYPHONE_ABUSE_LIMITS: "off", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const lines: Record<string, unknown>[] = [];
  const waiters = new Set<() => void>();
  let pending = "";
  let stderr = "";
  child.stdout!.on("data", (chunk: Buffer) => {
    pending += chunk.toString("utf8");
    const parts = pending.split("\n");
    pending = parts.pop()!;
    for (const part of parts) if (part.trim()) lines.push(JSON.parse(part) as Record<string, unknown>);
    for (const wake of waiters) wake();
  });
  child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString("utf8")));
  const exited = new Promise<number | string>((resolve) =>
    child.once("exit", (code, signal) => resolve(code ?? signal ?? -1)),
  );
  exited.then(() => {
    for (const wake of waiters) wake();
  });

  const waitForLine: CliServer["waitForLine"] = (predicate, from = 0, timeoutMs = 15_000) =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => done(new Error(`no matching log line within ${timeoutMs} ms; stderr: ${stderr}`)),
        timeoutMs,
      );
      const done = (error?: Error, line?: Record<string, unknown>) => {
        clearTimeout(timer);
        waiters.delete(check);
        if (error) reject(error);
        else resolve(line!);
      };
      const check = () => {
        const line = lines.slice(from).find(predicate);
        if (line) return done(undefined, line);
        if (child.exitCode !== null || child.signalCode !== null) done(new Error(`server exited; stderr: ${stderr}`));
      };
      waiters.add(check);
      check();
    });

  const listening = await waitForLine((line) => line.msg === "myphone listening");
  const port = listening.port as number;
  return { child, port, url: `http://127.0.0.1:${port}`, lines, waitForLine, exited };
}

/**
 * SetMyPhone over REST for crash tests: the new stream sequence when the server acknowledged the call (200), or
 * undefined when it did not (any other status, or the call was cut, e.g. by a SIGKILL): such a call may or may
 * not have committed, so only acknowledged ones may be checked for durability.
 */
export async function setPhoneAcknowledged(baseUrl: string, token: string, phone: string): Promise<number | undefined> {
  try {
    const response = await fetch(`${baseUrl}/auth/v1/users/me/phone`, {
      method: "PUT",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({ phone }),
      signal: AbortSignal.timeout(10_000),
    });
    if (response.status !== 200) return undefined;
    const body = (await response.json()) as { details: { sequence: string } };
    return Number(body.details.sequence);
  } catch {
    return undefined;
  }
}
