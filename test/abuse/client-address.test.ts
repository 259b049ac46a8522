import { addressBucket } from "../../src/abuse/send-guard.js";
import { BlockList } from "node:net";
import { isAddressOrRange } from "../../src/config.js";
import { canonicalAddress, clientAddressOf, TrustedProxies } from "../../src/transport/client-address.js";
import type { NodeRequest } from "../../src/transport/node-handler.js";

/** Which address the per-address caps count: the TCP peer, or X-Forwarded-For behind trusted proxies only. */

/** The two fields clientAddressOf reads, as Node's request objects carry them. */
function request(peer: string | undefined, forwardedFor?: string | string[]): NodeRequest {
  return {
    socket: { remoteAddress: peer },
    headers: forwardedFor === undefined ? {} : { "x-forwarded-for": forwardedFor },
  } as unknown as NodeRequest;
}

describe("clientAddressOf", () => {
  const proxies = new TrustedProxies(["10.0.0.0/8", "2001:db8:ffff::1"]);

  it("is the TCP peer when no proxy is trusted, whatever X-Forwarded-For claims", () => {
    expect(clientAddressOf(request("203.0.113.7", "198.51.100.1"), undefined)).toBe("203.0.113.7");
    expect(clientAddressOf(request("203.0.113.7", "198.51.100.1"), new TrustedProxies([]))).toBe("203.0.113.7");
  });

  it("is the TCP peer when the peer is not a trusted proxy", () => {
    expect(clientAddressOf(request("192.0.2.1", "198.51.100.1"), proxies)).toBe("192.0.2.1");
  });

  it("behind a trusted proxy, is the rightmost X-Forwarded-For hop that is not a trusted proxy", () => {
    expect(clientAddressOf(request("10.1.2.3", "198.51.100.1"), proxies)).toBe("198.51.100.1");
    // A client may prepend anything; only what trusted proxies appended counts.
    expect(clientAddressOf(request("10.1.2.3", "1.1.1.1, 198.51.100.1, 10.9.9.9"), proxies)).toBe("198.51.100.1");
    expect(clientAddressOf(request("10.1.2.3", ["1.1.1.1", "198.51.100.1"]), proxies)).toBe("198.51.100.1");
    expect(clientAddressOf(request("2001:db8:ffff::1", "2001:db8:1::5"), proxies)).toBe("2001:db8:1::5");
  });

  it("keys a hop that is not an address by its text, never by the proxy; without a header the proxy is the client", () => {
    expect(clientAddressOf(request("10.1.2.3", "198.51.100.1, unknown"), proxies)).toBe("hop:unknown");
    expect(clientAddressOf(request("10.1.2.3", "198.51.100.1, _hidden, 10.9.9.9"), proxies)).toBe("hop:_hidden");
    // Bounded, printable: a client cannot grow keys or put control characters into log lines.
    expect(clientAddressOf(request("10.1.2.3", `x\u0007${"a".repeat(500)}`), proxies)).toBe(`hop:x?${"a".repeat(62)}`);
    expect(clientAddressOf(request("10.1.2.3"), proxies)).toBe("10.1.2.3");
    // Only trusted proxies all the way: the leftmost is as far as we can see.
    expect(clientAddressOf(request("10.1.2.3", "10.4.4.4"), proxies)).toBe("10.4.4.4");
  });

  it("reads IPv4-mapped IPv6 peers as IPv4, and has no address for a closed socket", () => {
    expect(canonicalAddress("::ffff:192.0.2.1")).toBe("192.0.2.1");
    expect(clientAddressOf(request("::ffff:10.1.2.3", "198.51.100.1"), proxies)).toBe("198.51.100.1");
    expect(clientAddressOf(request(undefined), proxies)).toBeUndefined();
  });
});

describe("hops written with a port, or as RFC 7239 Forwarded", () => {
  const proxies = new TrustedProxies(["10.0.0.0/8", "2001:db8:ffff::1"]);
  const forwarded = (peer: string, header: string | string[]) =>
    ({ socket: { remoteAddress: peer }, headers: { forwarded: header } }) as unknown as NodeRequest;

  it.each([
    ["198.51.100.1:47011", "198.51.100.1"],
    ["[2001:db8:1::5]:443", "2001:db8:1::5"],
    ["[2001:DB8:1::5]", "2001:db8:1::5"],
    ["[::ffff:198.51.100.2]:80", "198.51.100.2"],
    // A trusted proxy written with its port is still skipped.
    ["198.51.100.3, 10.9.9.9:8080", "198.51.100.3"],
  ])("X-Forwarded-For %s names %s", (header, client) => {
    expect(clientAddressOf(request("10.1.2.3", header), proxies)).toBe(client);
  });

  it.each([["198.51.100.1:99999"], ["[198.51.100.1]:80"], ["198.51.100.1:"], ["[2001:db8::1"]])(
    "%s is no address, so it is keyed by its text",
    (hop) => {
      expect(clientAddressOf(request("10.1.2.3", hop), proxies)).toBe(`hop:${hop}`);
    },
  );

  it("reads Forwarded's for= (tokens, quoted strings, several elements and lines) only when that header is configured", () => {
    const options = { trustedProxies: proxies, header: "forwarded" as const };
    expect(clientAddressOf(forwarded("10.1.2.3", "for=192.0.2.60;proto=http;by=203.0.113.43"), options)).toBe(
      "192.0.2.60",
    );
    expect(
      clientAddressOf(forwarded("10.1.2.3", 'for=1.1.1.1, For="[2001:db8:cafe::17]:4711", for=10.2.2.2'), options),
    ).toBe("2001:db8:cafe::17");
    expect(clientAddressOf(forwarded("10.1.2.3", ["for=1.1.1.1", 'for="198.51.100.9:5000";by=x']), options)).toBe(
      "198.51.100.9",
    );
    // A comma or semicolon inside a quoted string is not a separator.
    expect(clientAddressOf(forwarded("10.1.2.3", 'for="a,b;c"'), options)).toBe("hop:a,b;c");
    expect(clientAddressOf(forwarded("10.1.2.3", "for=unknown"), options)).toBe("hop:unknown");
    expect(clientAddressOf(forwarded("10.1.2.3", "proto=https"), options)).toBe("hop:proto=https");
    // The other header is not read: a client could have written it.
    expect(clientAddressOf(forwarded("10.1.2.3", "for=192.0.2.60"), proxies)).toBe("10.1.2.3");
    expect(clientAddressOf(request("10.1.2.3", "198.51.100.1"), options)).toBe("10.1.2.3");
  });
});

describe("trusted proxies", () => {
  it("answers as Node's BlockList does, asked again and past its memo's size", () => {
    const entries = ["10.0.0.0/8", "192.0.2.7", "2001:db8::/32"];
    const list = new BlockList();
    list.addSubnet("10.0.0.0", 8, "ipv4");
    list.addAddress("192.0.2.7", "ipv4");
    list.addSubnet("2001:db8::", 32, "ipv6");
    const proxies = new TrustedProxies(entries);
    const addresses = Array.from({ length: 12_000 }, (_, i) =>
      i % 3 === 0
        ? `10.${(i >> 8) & 255}.${i & 255}.1`
        : i % 3 === 1
          ? `192.0.${(i >> 8) & 255}.${i & 255}`
          : `2001:db${i % 2 ? "8" : "9"}::${i.toString(16)}`,
    );
    const expected = (a: string) => list.check(a, a.includes(":") ? "ipv6" : "ipv4");
    // Each address asked twice in a row (the second answer is the memo's), then all again after the memo filled up.
    for (const round of [1, 2]) {
      const wrong = addresses.filter((a) => proxies.has(a) !== expected(a) || proxies.has(a) !== expected(a));
      expect({ round, wrong }).toEqual({ round, wrong: [] });
    }
    expect(addresses.filter((a) => proxies.has(a)).length).toBeGreaterThan(4_000);
  });
});

describe("MYPHONE_TRUSTED_PROXIES entries", () => {
  it.each(["127.0.0.1", "10.0.0.0/8", "::1", "2001:db8::/32", "0.0.0.0/0"])("accepts %s", (entry) =>
    expect(isAddressOrRange(entry)).toBe(true),
  );
  it.each(["localhost", "10.0.0.0/33", "::1/129", "10.0.0.0/8/8", "10.0.0.0/x", ""])("refuses %s", (entry) =>
    expect(isAddressOrRange(entry)).toBe(false),
  );
});

describe("addressBucket", () => {
  it("counts IPv4 addresses one by one", () => {
    expect(addressBucket("203.0.113.7")).toBe("203.0.113.7");
  });

  it("counts IPv6 addresses by their /48 by default, however they are written", () => {
    expect(addressBucket("2001:db8:1:2:3:4:5:6")).toBe("2001:db8:1::/48");
    expect(addressBucket("2001:db8:1:ffff::99")).toBe("2001:db8:1::/48");
    expect(addressBucket("2001:0db8:0001:0002:ffff::1")).toBe("2001:db8:1::/48");
    expect(addressBucket("::1")).toBe("0:0:0::/48");
    expect(addressBucket("fe80::1%eth0")).toBe("fe80:0:0::/48");
    expect(addressBucket("64:ff9b::192.0.2.1")).toBe("64:ff9b:0::/48");
  });

  it("counts IPv6 addresses by their /64 when told, however they are written", () => {
    expect(addressBucket("2001:db8:1:2:3:4:5:6", 64)).toBe("2001:db8:1:2::/64");
    expect(addressBucket("2001:db8:1:2::99", 64)).toBe("2001:db8:1:2::/64");
    expect(addressBucket("2001:0db8:0001:0002:ffff::1", 64)).toBe("2001:db8:1:2::/64");
    expect(addressBucket("::1", 64)).toBe("0:0:0:0::/64");
    expect(addressBucket("fe80::1%eth0", 64)).toBe("fe80:0:0:0::/64");
    expect(addressBucket("64:ff9b::192.0.2.1", 64)).toBe("64:ff9b:0:0::/64");
  });

  it("masks prefix lengths that end inside a group, and keeps whole addresses at /128", () => {
    expect(addressBucket("2001:db8:12ff::1", 40)).toBe("2001:db8:1200::/40");
    expect(addressBucket("2001:db8:1:2:3:4:5:6", 56)).toBe("2001:db8:1:0::/56");
    expect(addressBucket("2001:db8:1:2:3:4:5:6", 60)).toBe("2001:db8:1:0::/60");
    expect(addressBucket("2001:db8:1:2:3:4:5:6", 128)).toBe("2001:db8:1:2:3:4:5:6/128");
    expect(addressBucket("203.0.113.7", 16)).toBe("203.0.113.7");
  });
});
