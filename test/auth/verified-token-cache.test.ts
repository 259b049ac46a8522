import { SignJWT } from "jose";
import type { AuthenticatedCaller, Authenticator } from "../../src/auth/authenticator.js";
import { tokenError } from "../../src/auth/authenticator.js";
import { VerifiedTokenCache } from "../../src/auth/verified-token-cache.js";

/** A real HS256-signed JWT is only used for its `exp` here; the inner authenticator decides validity. */
const secret = new TextEncoder().encode("k".repeat(32));
const token = (sub: string, expSeconds: number) =>
  new SignJWT({}).setProtectedHeader({ alg: "HS256" }).setSubject(sub).setExpirationTime(expSeconds).sign(secret);

class CountingAuthenticator implements Authenticator {
  calls = 0;
  reject = new Set<string>();
  async verify(value: string): Promise<AuthenticatedCaller> {
    this.calls++;
    if (this.reject.has(value)) throw tokenError();
    return { userId: "u1" };
  }
}

test("reuses a verification until maxAge, never past exp, and never caches a rejection", async () => {
  let now = 1_000_000_000_000;
  const inner = new CountingAuthenticator();
  const cache = new VerifiedTokenCache(inner, { maxAgeMs: 60_000, maxEntries: 10, now: () => now });
  const long = await token("u1", now / 1000 + 3600);

  await cache.verify(long);
  await cache.verify(long);
  expect(inner.calls).toBe(1);
  now += 60_001; // past maxAge: checked again
  await cache.verify(long);
  expect(inner.calls).toBe(2);

  const short = await token("u1", now / 1000 + 5);
  await cache.verify(short);
  now += 5_001; // past exp: checked again, and now the inner authenticator refuses it
  inner.reject.add(short);
  await expect(cache.verify(short)).rejects.toMatchObject({ id: "AUTH-7fs1e" });
  await expect(cache.verify(short)).rejects.toMatchObject({ id: "AUTH-7fs1e" });
  expect(inner.calls).toBe(5);
});

test("keeps at most maxEntries tokens", async () => {
  const now = 1_000_000_000_000;
  const inner = new CountingAuthenticator();
  const cache = new VerifiedTokenCache(inner, { maxAgeMs: 60_000, maxEntries: 2, now: () => now });
  const tokens = await Promise.all(["a", "b", "c"].map((sub) => token(sub, now / 1000 + 3600)));
  for (const t of tokens) await cache.verify(t);
  await cache.verify(tokens[0]!); // evicted as the oldest: verified again
  expect(inner.calls).toBe(4);
  await cache.verify(tokens[2]!); // still cached
  expect(inner.calls).toBe(4);
});
