import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { CodeCipher, parseCodeKeyList } from "../domain/verification-code.js";
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
