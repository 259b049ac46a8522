import { createCipheriv, createDecipheriv, randomBytes, timingSafeEqual } from "node:crypto";

/** How codes look and how long they live (SPEC section 4). */
export interface CodePolicy {
  readonly length: number;
  readonly alphabet: string;
  readonly ttlMs: number;
  /** Failed attempts after which a code is dead; 0 = unlimited (ZITADEL's behaviour). */
  readonly maxAttempts: number;
}

export const DEFAULT_CODE_POLICY: CodePolicy = {
  length: 6,
  alphabet: "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789",
  ttlMs: 60 * 60 * 1000,
  maxAttempts: 5,
};

/**
 * A code as stored in `user.human.phone.code.added`: encrypted, never hashed, because the notifier must read
 * it back to put it into the SMS. The shape follows ZITADEL's crypto.CryptoValue (Go field names).
 */
export interface EncryptedCode {
  readonly CryptoType: 0;
  readonly Algorithm: "aes-256-gcm";
  readonly KeyID: string;
  /** base64(iv(12) || ciphertext || tag(16)) */
  readonly Crypted: string;
}

/** Source of random bytes; injected so the decider's tests are deterministic. */
export type RandomBytes = (size: number) => Buffer;

/** Bytes drawn from the CSPRNG per refill of the pool behind `pooledRandomBytes`. */
const RANDOM_POOL_BYTES = 4096;
let randomPool = Buffer.alloc(0);
let randomPoolOffset = 0;

/**
 * crypto.randomBytes for the small draws of codes and IVs, from a pool the CSPRNG refills 4 KiB at a time (as
 * Node's randomUUID does) to spare a call into OpenSSL per draw. Each byte is handed out once, as a copy.
 */
export function pooledRandomBytes(size: number): Buffer {
  if (size > RANDOM_POOL_BYTES) return randomBytes(size);
  if (randomPoolOffset + size > randomPool.length) {
    randomPool = randomBytes(RANDOM_POOL_BYTES);
    randomPoolOffset = 0;
  }
  const bytes = Buffer.allocUnsafe(size);
  randomPool.copy(bytes, 0, randomPoolOffset, randomPoolOffset + size);
  randomPoolOffset += size;
  return bytes;
}

/**
 * Draws a code uniformly from the alphabet: bytes at or above the largest multiple of the alphabet size are
 * rejected, so no character is more likely than another (ZITADEL's `byte % (n-1)` is biased and never emits
 * the last character).
 */
export function generateCode(
  policy: Pick<CodePolicy, "length" | "alphabet">,
  random: RandomBytes = pooledRandomBytes,
): string {
  const size = policy.alphabet.length;
  if (size < 2 || size > 256) throw new RangeError("alphabet must have 2 to 256 characters");
  const limit = 256 - (256 % size);
  let code = "";
  while (code.length < policy.length) {
    for (const byte of random(policy.length * 2)) {
      if (byte >= limit) continue;
      code += policy.alphabet[byte % size];
      if (code.length === policy.length) break;
    }
  }
  return code;
}

/** Compares two codes in time independent of where they differ. */
export function codesEqual(expected: string, submitted: string): boolean {
  const a = Buffer.from(expected, "utf8");
  const b = Buffer.from(submitted, "utf8");
  // Compare against itself on a length mismatch so both branches do the same work.
  if (a.length !== b.length) {
    timingSafeEqual(a, a);
    return false;
  }
  return timingSafeEqual(a, b);
}

/**
 * Code keys written as MYPHONE_CODE_KEYS writes them: `id:base64[,id:base64]`, each key 32 bytes, the first one
 * active. Undefined when the text is not that.
 */
export function parseCodeKeyList(text: string): { keys: Map<string, Buffer>; activeKeyId: string } | undefined {
  const keys = new Map<string, Buffer>();
  let activeKeyId = "";
  for (const entry of text.split(",")) {
    const [id, key, ...rest] = entry.trim().split(":");
    const bytes = Buffer.from(key ?? "", "base64");
    if (!id || rest.length > 0 || bytes.length !== 32) return undefined;
    keys.set(id, bytes);
    activeKeyId ||= id;
  }
  return { keys, activeKeyId };
}

/** A code encrypted with a key this process was not given (another node's, or one removed too early). */
export class UnknownCodeKeyError extends Error {
  constructor(readonly keyId: string) {
    super(`unknown code key id ${keyId}`);
    this.name = "UnknownCodeKeyError";
  }
}

/** What every node encrypts as its check value: decrypting another node's check proves it holds the same key. */
const KEY_CHECK_TEXT = "myphone code key check";

/** AES-256-GCM with a key id, so keys can be rotated: old codes stay readable while new ones use the new key. */
export class CodeCipher {
  private readonly keys: ReadonlyMap<string, Buffer>;

  /** `keys` maps key id to a 32-byte key; `activeKeyId` encrypts new codes. */
  constructor(
    keys: ReadonlyMap<string, Buffer>,
    private readonly activeKeyId: string,
    private readonly random: RandomBytes = pooledRandomBytes,
  ) {
    for (const [id, key] of keys) if (key.length !== 32) throw new RangeError(`code key ${id} must be 32 bytes`);
    if (!keys.has(activeKeyId)) throw new RangeError(`active code key ${activeKeyId} is not configured`);
    this.keys = keys;
  }

  /** The id of the key new codes are encrypted with. */
  get activeKey(): string {
    return this.activeKeyId;
  }

  /** Every key id this cipher can decrypt, the active one first. */
  get keyIds(): string[] {
    return [this.activeKeyId, ...[...this.keys.keys()].filter((id) => id !== this.activeKeyId)];
  }

  /** True when codes encrypted with key `id` can be decrypted here. */
  hasKey(id: string): boolean {
    return this.keys.has(id);
  }

  encrypt(plain: string): EncryptedCode {
    return this.encryptWith(this.activeKeyId, plain);
  }

  /** A fixed text encrypted with key `id`, recorded so other nodes can prove they hold the same key. */
  checkValue(id: string): EncryptedCode {
    return this.encryptWith(id, KEY_CHECK_TEXT);
  }

  /** True when `value` is a check value made with the same key under its id; false for another key or no such key. */
  verifiesCheck(value: EncryptedCode): boolean {
    if (!this.keys.has(value.KeyID)) return false;
    try {
      return this.decrypt(value) === KEY_CHECK_TEXT;
    } catch {
      return false;
    }
  }

  /** Throws UnknownCodeKeyError when the key is unknown, another error when the value was tampered with. */
  decrypt(value: EncryptedCode): string {
    const raw = Buffer.from(value.Crypted, "base64");
    if (raw.length < 28) throw new Error("encrypted code is too short");
    const decipher = createDecipheriv("aes-256-gcm", this.key(value.KeyID), raw.subarray(0, 12));
    decipher.setAAD(Buffer.from(value.KeyID));
    decipher.setAuthTag(raw.subarray(raw.length - 16));
    return Buffer.concat([decipher.update(raw.subarray(12, raw.length - 16)), decipher.final()]).toString("utf8");
  }

  private encryptWith(id: string, plain: string): EncryptedCode {
    const iv = this.random(12);
    const cipher = createCipheriv("aes-256-gcm", this.key(id), iv);
    cipher.setAAD(Buffer.from(id));
    const body = Buffer.concat([cipher.update(plain, "utf8"), cipher.final()]);
    const crypted = Buffer.concat([iv, body, cipher.getAuthTag()]).toString("base64");
    return { CryptoType: 0, Algorithm: "aes-256-gcm", KeyID: id, Crypted: crypted };
  }

  private key(id: string): Buffer {
    const key = this.keys.get(id);
    if (!key) throw new UnknownCodeKeyError(id);
    return key;
  }
}
