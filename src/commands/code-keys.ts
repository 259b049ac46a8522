import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { CodeCipher, parseCodeKeyList, type EncryptedCode } from "../domain/verification-code.js";
import type { CodeKeyRegistry, RecordedCodeKey } from "../eventstore/event-store.js";
import { writeSecretFileOnce } from "../storage/secret-files.js";

const KEY_FILE = "code-keys.json";

interface KeyFile {
  activeKeyId: string;
  keys: Record<string, string>;
}

/**
 * The cipher for verification codes: keys from MYPHONE_CODE_KEYS (`id:base64[,id:base64]`, first one active),
 * else a key file generated once in the data directory (development), readable only by its owner.
 */
export function loadCodeCipher(codeKeys: string | undefined, dataDir: string): CodeCipher {
  if (codeKeys) return cipherFromSetting(codeKeys);
  const file = join(dataDir, KEY_FILE);
  const fresh: KeyFile = { activeKeyId: "dev1", keys: { dev1: randomBytes(32).toString("base64") } };
  writeSecretFileOnce(file, JSON.stringify(fresh, null, 2));
  const stored = JSON.parse(readFileSync(file, "utf8")) as KeyFile;
  const keys = new Map(Object.entries(stored.keys).map(([id, key]) => [id, Buffer.from(key, "base64")]));
  return new CodeCipher(keys, stored.activeKeyId);
}

function cipherFromSetting(setting: string): CodeCipher {
  const keyList = parseCodeKeyList(setting);
  // config.ts refuses such a setting at start-up; this guards callers that pass their own text.
  if (!keyList) throw new RangeError("MYPHONE_CODE_KEYS: each entry must be id:base64 of 32 random bytes");
  return new CodeCipher(keyList.keys, keyList.activeKeyId);
}

/** How often a running node reports its active key as in use, so nodes starting later know it is still needed. */
export const CODE_KEY_HEARTBEAT_MS = 60_000;

export interface CodeKeyAgreementOptions {
  /** How long codes live (MYPHONE_CODE_TTL): a key must be held until the last code encrypted with it has expired. */
  readonly codeTtlMs: number;
  /** Called once per key id that another node encrypts with and this node lacks (a rotation under way). */
  readonly onForeignActiveKey?: (keyId: string, activeAt: Date) => void;
  readonly heartbeatMs?: number;
  readonly now?: () => Date;
}

/**
 * Keeps a deployment's nodes on the same code keys: each records its keys with a check value (CodeKeyRegistry) and
 * marks its active key in use every minute. A node may start only when each recorded id it holds is the same key and
 * it holds every key a node encrypted with within the code lifetime; else it could not send or verify those codes.
 */
export class CodeKeyAgreement {
  private readonly checks: { keyId: string; check: Readonly<Record<string, unknown>> }[];
  private readonly reported = new Set<string>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly cipher: CodeCipher,
    private readonly registry: CodeKeyRegistry,
    private readonly options: CodeKeyAgreementOptions,
  ) {
    this.checks = cipher.keyIds.map((keyId) => ({ keyId, check: { ...cipher.checkValue(keyId) } }));
  }

  /**
   * Why this node must not serve with its keys, one sentence per problem with its remedy; empty when it agrees, and
   * only then are its keys recorded (a refused node cannot hold up the others). Checked again after recording, for a
   * node that started at the same moment with another key under the same id.
   */
  async problems(): Promise<string[]> {
    const problems = this.disagreements(await this.registry.listCodeKeys(), true);
    if (problems.length > 0) return problems;
    return this.disagreements(await this.register(), false);
  }

  private disagreements(recorded: readonly RecordedCodeKey[], missingToo: boolean): string[] {
    const problems: string[] = [];
    for (const key of recorded) {
      if (this.cipher.hasKey(key.keyId)) {
        if (!this.cipher.verifiesCheck(key.check as unknown as EncryptedCode)) {
          problems.push(
            `key id ${key.keyId} is not the key other nodes use under that id (it cannot decrypt their check ` +
              `value); give every node the same keys`,
          );
        }
      } else if (missingToo && this.stillNeeded(key)) {
        problems.push(
          `key id ${key.keyId} is missing, and codes encrypted with it may be valid until ` +
            `${new Date(key.activeAt!.getTime() + this.options.codeTtlMs).toISOString()}; ` +
            "add it after the active key (README: rotating code keys)",
        );
      }
    }
    return problems;
  }

  /** Starts the heartbeat; reports keys other nodes encrypt with that this node lacks, once per key. */
  start(): void {
    this.timer = setInterval(() => void this.beat(), this.options.heartbeatMs ?? CODE_KEY_HEARTBEAT_MS);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private async beat(): Promise<void> {
    let recorded: RecordedCodeKey[];
    try {
      recorded = await this.register();
    } catch {
      // The database is away (logged by the outage monitor, or at the next beat); the record is only a hint.
      return;
    }
    for (const key of recorded) {
      if (this.cipher.hasKey(key.keyId) || !this.stillNeeded(key) || this.reported.has(key.keyId)) continue;
      this.reported.add(key.keyId);
      this.options.onForeignActiveKey?.(key.keyId, key.activeAt!);
    }
  }

  private register(): Promise<RecordedCodeKey[]> {
    return this.registry.registerCodeKeys(this.checks, this.cipher.activeKey, this.now());
  }

  /** A key some node encrypted with recently enough that a code of it may still be valid (heartbeats allowed for). */
  private stillNeeded(key: RecordedCodeKey): boolean {
    if (key.activeAt === null) return false;
    const margin = 2 * (this.options.heartbeatMs ?? CODE_KEY_HEARTBEAT_MS);
    return key.activeAt.getTime() + this.options.codeTtlMs + margin > this.now().getTime();
  }

  private now(): Date {
    return this.options.now?.() ?? new Date();
  }
}
