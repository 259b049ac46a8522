import { randomBytes } from "node:crypto";
import {
  pooledRandomBytes,
  CodeCipher,
  DEFAULT_CODE_POLICY,
  codesEqual,
  generateCode,
  type EncryptedCode,
  type RandomBytes,
} from "../../src/domain/verification-code.js";
import { KEY, counterBytes } from "./given-when-then.js";

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

/** A byte source that plays back `script` first, then continues with `then`. */
function scripted(script: number[], then: RandomBytes = counterBytes(0)): RandomBytes {
  const queue = [...script];
  const calls: number[] = [];
  const source: RandomBytes = (size) => {
    calls.push(size);
    const out = Buffer.alloc(size);
    for (let i = 0; i < size; i++) out[i] = queue.length > 0 ? queue.shift()! : then(1)[0]!;
    return out;
  };
  return Object.assign(source, { calls });
}

describe("DEFAULT_CODE_POLICY", () => {
  it("is 6 characters of A-Z0-9, valid 1 hour, 5 attempts", () => {
    expect(DEFAULT_CODE_POLICY).toEqual({ length: 6, alphabet: ALPHABET, ttlMs: 3_600_000, maxAttempts: 5 });
  });
});

describe("generateCode", () => {
  it("uses only alphabet characters and honours the length", () => {
    for (const length of [1, 6, 8, 32, 100]) {
      for (let i = 0; i < 50; i++) {
        const code = generateCode({ length, alphabet: ALPHABET });
        expect(code).toHaveLength(length);
        expect(code).toMatch(/^[A-Z0-9]+$/);
      }
    }
  });

  it("honours a custom alphabet", () => {
    const code = generateCode({ length: 64, alphabet: "01" });
    expect(code).toMatch(/^[01]{64}$/);
    expect(generateCode({ length: 10, alphabet: "xy" }, counterBytes(0))).toBe("xyxyxyxyxy");
  });

  it("uses the default policy's length", () => {
    expect(generateCode(DEFAULT_CODE_POLICY)).toMatch(/^[A-Z0-9]{6}$/);
  });

  it("maps bytes to characters by their remainder, including 35 → '9'", () => {
    // 0 → A, 25 → Z, 26 → 0, 35 → 9, 36 → A, 71 → 9, 251 = 6*36+35 → 9
    expect(generateCode({ length: 7, alphabet: ALPHABET }, scripted([0, 25, 26, 35, 36, 71, 251]))).toBe("AZ09A99");
  });

  it("rejects the bytes 252..255 (above the largest multiple of 36) so there is no modulo bias", () => {
    const source = scripted([252, 253, 254, 255, 0, 1, 2, 3, 4, 5, 6, 7]);
    // Without rejection, 252..255 would be A..D.
    expect(generateCode({ length: 6, alphabet: ALPHABET }, source)).toBe("ABCDEF");
  });

  it("draws more bytes when a whole batch is rejected", () => {
    const source = scripted([...Array(12).fill(255), 10, 11, 12, 13, 14, 15]) as RandomBytes & { calls: number[] };
    expect(generateCode({ length: 6, alphabet: ALPHABET }, source)).toBe("KLMNOP");
    expect(source.calls.length).toBeGreaterThanOrEqual(2);
  });

  it("keeps byte 251 (the last accepted one) and rejects only 252", () => {
    expect(generateCode({ length: 2, alphabet: ALPHABET }, scripted([252, 251, 252, 0]))).toBe("9A");
  });

  it("refuses alphabets with fewer than 2 or more than 256 characters", () => {
    expect(() => generateCode({ length: 6, alphabet: "A" })).toThrow(RangeError);
    expect(() => generateCode({ length: 6, alphabet: "A".repeat(257) })).toThrow(RangeError);
  });

  it("is uniform over all 36 characters, including '9' (chi-square over 216,000 draws)", () => {
    const draws = 216_000;
    const counts = new Map<string, number>([...ALPHABET].map((c) => [c, 0]));
    let drawn = 0;
    while (drawn < draws) {
      const code = generateCode({ length: 1000, alphabet: ALPHABET }, randomBytes);
      for (const c of code) counts.set(c, (counts.get(c) ?? 0) + 1);
      drawn += code.length;
    }
    expect(counts.size).toBe(36);
    const expected = draws / 36; // 6000
    let chiSquare = 0;
    for (const c of ALPHABET) {
      const observed = counts.get(c)!;
      expect(observed).toBeGreaterThan(0);
      chiSquare += (observed - expected) ** 2 / expected;
    }
    // 35 degrees of freedom: P(chi² > 90) ≈ 1e-6. ZITADEL's `byte % 35` (no '9') gives chi² ≈ 6000+,
    // plain `byte % 36` (A..D 8/7 as likely) gives ≈ 400.
    expect(chiSquare).toBeLessThan(90);
    expect(counts.get("9")! / expected).toBeGreaterThan(0.9);
    expect(counts.get("9")! / expected).toBeLessThan(1.1);
  });
});

describe("codesEqual", () => {
  it("is true for equal codes", () => {
    expect(codesEqual("ABC123", "ABC123")).toBe(true);
    expect(codesEqual("ÄÖÜ😀", "ÄÖÜ😀")).toBe(true);
  });

  it("is false for different codes of the same length", () => {
    expect(codesEqual("ABC123", "ABC124")).toBe(false);
    expect(codesEqual("ABC123", "abc123")).toBe(false);
  });

  it("is false for different lengths", () => {
    expect(codesEqual("ABC123", "ABC12")).toBe(false);
    expect(codesEqual("ABC123", "ABC1234")).toBe(false);
    expect(codesEqual("ABC123", "")).toBe(false);
  });

  it("compares bytes, not UTF-16 units (same JS length, different UTF-8 length)", () => {
    expect("é".length).toBe("e".length);
    expect(codesEqual("e", "é")).toBe(false);
  });
});

describe("CodeCipher", () => {
  const KEY2 = Buffer.alloc(32, 0xab);

  it("round-trips a code and labels it with the algorithm and active key id", () => {
    const cipher = new CodeCipher(new Map([["k1", KEY]]), "k1");
    const value = cipher.encrypt("ABC123");
    expect(value).toEqual({ CryptoType: 0, Algorithm: "aes-256-gcm", KeyID: "k1", Crypted: expect.any(String) });
    // iv(12) + ciphertext(6) + tag(16)
    expect(Buffer.from(value.Crypted, "base64")).toHaveLength(34);
    expect(value.Crypted).not.toContain("ABC123");
    expect(Buffer.from(value.Crypted, "base64").includes(Buffer.from("ABC123"))).toBe(false);
    expect(cipher.decrypt(value)).toBe("ABC123");
  });

  it("round-trips non-ASCII text", () => {
    const cipher = new CodeCipher(new Map([["k1", KEY]]), "k1");
    expect(cipher.decrypt(cipher.encrypt("Grüße 😀"))).toBe("Grüße 😀");
  });

  it("gives a different ciphertext each time for the same plaintext", () => {
    const cipher = new CodeCipher(new Map([["k1", KEY]]), "k1");
    const a = cipher.encrypt("ABC123");
    const b = cipher.encrypt("ABC123");
    expect(a.Crypted).not.toBe(b.Crypted);
    expect(Buffer.from(a.Crypted, "base64").subarray(0, 12)).not.toEqual(
      Buffer.from(b.Crypted, "base64").subarray(0, 12),
    );
    expect(cipher.decrypt(a)).toBe("ABC123");
    expect(cipher.decrypt(b)).toBe("ABC123");
  });

  it("takes the IV from the injected byte source", () => {
    const cipher = new CodeCipher(new Map([["k1", KEY]]), "k1", counterBytes(0));
    const raw = Buffer.from(cipher.encrypt("ABC123").Crypted, "base64");
    expect([...raw.subarray(0, 12)]).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
  });

  it.each([
    ["the IV", 0],
    ["the ciphertext", 12],
    ["the tag", 33],
  ])("throws when one byte of %s is flipped", (_label, index) => {
    const cipher = new CodeCipher(new Map([["k1", KEY]]), "k1");
    const value = cipher.encrypt("ABC123");
    const raw = Buffer.from(value.Crypted, "base64");
    raw[index] = raw[index]! ^ 0x01;
    expect(() => cipher.decrypt({ ...value, Crypted: raw.toString("base64") })).toThrow();
  });

  it("throws when the value is too short to hold iv and tag", () => {
    const cipher = new CodeCipher(new Map([["k1", KEY]]), "k1");
    expect(() => cipher.decrypt({ ...cipher.encrypt("X"), Crypted: Buffer.alloc(27).toString("base64") })).toThrow(
      /too short/,
    );
  });

  it("throws for an unknown key id", () => {
    const cipher = new CodeCipher(new Map([["k1", KEY]]), "k1");
    const value: EncryptedCode = { ...cipher.encrypt("ABC123"), KeyID: "k9" };
    expect(() => cipher.decrypt(value)).toThrow(/unknown code key id k9/);
  });

  it("binds the key id: relabelling a value with another configured key id fails", () => {
    const cipher = new CodeCipher(
      new Map([
        ["k1", KEY],
        ["k2", KEY],
      ]),
      "k1",
    );
    const value = cipher.encrypt("ABC123");
    expect(() => cipher.decrypt({ ...value, KeyID: "k2" })).toThrow();
  });

  it("throws when the key behind a key id is a different key", () => {
    const value = new CodeCipher(new Map([["k1", KEY]]), "k1").encrypt("ABC123");
    const other = new CodeCipher(new Map([["k1", KEY2]]), "k1");
    expect(() => other.decrypt(value)).toThrow();
  });

  it("rotation: after the active key changes, codes under the old key id still decrypt", () => {
    const before = new CodeCipher(new Map([["k1", KEY]]), "k1");
    const old = before.encrypt("OLD111");

    const after = new CodeCipher(
      new Map([
        ["k1", KEY],
        ["k2", KEY2],
      ]),
      "k2",
    );
    const fresh = after.encrypt("NEW222");
    expect(fresh.KeyID).toBe("k2");
    expect(after.decrypt(old)).toBe("OLD111");
    expect(after.decrypt(fresh)).toBe("NEW222");
    // The old configuration cannot read codes made with the new key.
    expect(() => before.decrypt(fresh)).toThrow(/unknown code key id k2/);
  });

  it.each([0, 16, 31, 33, 64])("refuses a %i-byte key with RangeError", (size) => {
    expect(() => new CodeCipher(new Map([["k1", Buffer.alloc(size)]]), "k1")).toThrow(RangeError);
  });

  it("refuses a wrong-size key even when it is not the active one", () => {
    expect(
      () =>
        new CodeCipher(
          new Map([
            ["k1", KEY],
            ["old", Buffer.alloc(16)],
          ]),
          "k1",
        ),
    ).toThrow(RangeError);
  });

  it("refuses an active key id that is not configured", () => {
    expect(() => new CodeCipher(new Map([["k1", KEY]]), "k2")).toThrow(RangeError);
  });
});

describe("pooledRandomBytes", () => {
  test("never hands out the same bytes twice, across refills of the pool", () => {
    // 12-byte draws over several 4 KiB refills: any repeat of a 12-byte draw means bytes were reused.
    const seen = new Set<string>();
    for (let i = 0; i < 2000; i++) seen.add(pooledRandomBytes(12).toString("hex"));
    expect(seen.size).toBe(2000);
  });

  test("gives copies: changing one draw changes no other", () => {
    const first = pooledRandomBytes(16);
    const before = Buffer.from(first);
    const second = pooledRandomBytes(16);
    second.fill(0);
    expect(first).toEqual(before);
  });

  test("gives the size asked for, also above the pool size", () => {
    expect(pooledRandomBytes(1)).toHaveLength(1);
    expect(pooledRandomBytes(5000)).toHaveLength(5000);
  });

  test("is roughly uniform (each byte value drawn within 30% of its expected count)", () => {
    const counts = new Array<number>(256).fill(0);
    for (let i = 0; i < 1000; i++) for (const byte of pooledRandomBytes(256)) counts[byte]!++;
    for (const count of counts) expect(Math.abs(count - 1000)).toBeLessThan(300);
  });
});
