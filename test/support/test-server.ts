import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { loadConfig } from "../../src/config.js";
import { createLogger } from "../../src/logger.js";
import { startMyphone, type RunningServer } from "../../src/server/myphone-server.js";

/** A real myphone server on a free loopback port, with its JSON log lines captured for assertions. */
export interface TestServer extends RunningServer {
  readonly dataDir: string;
  /** Every log line so far, parsed. */
  readonly logs: Record<string, unknown>[];
  /** Creates a user through the same command path the CLI uses; returns ids and a fresh dev token. */
  addUser(options?: { machine?: boolean; org?: string; userName?: string }): Promise<TestUser>;
  /** Resolves with the text of the next console SMS to `phone` logged after `afterLine` (default: any time). */
  waitForSms(phone: string, afterLine?: number): Promise<string>;
  /** Stops the server and removes its data directory (unless kept). */
  stop(options?: { keepData?: boolean }): Promise<void>;
}

export interface TestUser {
  readonly userId: string;
  readonly orgId: string;
  readonly token: string;
}

let counter = 0;

/** Starts a server; `env` overrides settings (defaults: loopback, port 0, admin port 0, SQLite in a temp dir, quiet console SMS, no abuse limits). */
export async function startTestServer(env: Record<string, string> = {}): Promise<TestServer> {
  const dataDir = env.MYPHONE_DATA_DIR ?? mkdtempSync(join(tmpdir(), "myphone-test-"));
  const config = loadConfig({
    MYPHONE_HOST: "127.0.0.1",
    MYPHONE_PORT: "0",
    MYPHONE_DATA_DIR: dataDir,
    MYPHONE_SMS_POLL_INTERVAL: "200ms",
    MYPHONE_SHUTDOWN_TIMEOUT: "5s",
    // Most tests send many codes per user and per address quickly; the abuse tests turn the limits back on.
    MYPHONE_ABUSE_LIMITS: "off",
    // /metrics lives on the admin listener; tests compare scrapes taken moments apart, so none is reused.
    MYPHONE_ADMIN_PORT: "0",
    MYPHONE_METRICS_CACHE: "0",
    ...env,
  });
  const logs: Record<string, unknown>[] = [];
  const waiters = new Set<() => void>();
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString("utf8").split("\n"))
        if (line.trim()) logs.push(JSON.parse(line) as Record<string, unknown>);
      for (const wake of waiters) wake();
      callback();
    },
  });
  const server = await startMyphone(config, { logger: createLogger("info", sink) });

  const smsTo = (phone: string, from: number): string | undefined => {
    for (const line of logs.slice(from)) {
      const sms = line.sms as { to?: string; text?: string } | undefined;
      if (sms?.to === phone) return sms.text;
    }
    return undefined;
  };

  return {
    ...server,
    dataDir,
    logs,
    async addUser(options = {}) {
      const userId = `${Date.now()}${String(++counter).padStart(5, "0")}`;
      const orgId = options.org ?? "200000000000000001";
      const userName = options.userName ?? `user${counter}`;
      await server.commands.execute(
        userId,
        options.machine ? { type: "AddMachineUser", userName } : { type: "AddHumanUser", userName },
        orgId,
      );
      return { userId, orgId, token: await server.issuer.mint(userId, 600) };
    },
    waitForSms(phone, afterLine = 0) {
      return new Promise((resolve, reject) => {
        const timeout = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`no SMS to ${phone} within 10 s`));
        }, 10_000);
        const check = () => {
          const text = smsTo(phone, afterLine);
          if (text === undefined) return;
          clearTimeout(timeout);
          waiters.delete(check);
          resolve(text);
        };
        waiters.add(check);
        check();
      });
    },
    async stop(options = {}) {
      await server.close();
      if (!options.keepData && !env.MYPHONE_DATA_DIR) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** The verification code inside an SMS text (the last word). */
export function codeFromSms(text: string): string {
  const code = text.trim().split(/\s+/).at(-1);
  if (!code) throw new Error(`no code in SMS text: ${text}`);
  return code;
}
