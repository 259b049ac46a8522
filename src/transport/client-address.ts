import { createContextValues, type ContextValues } from "@connectrpc/connect";
import { BlockList, isIP } from "node:net";
import { clientAddressKey } from "../api/caller-context.js";
import type { NodeRequest } from "./node-handler.js";

/**
 * The address of the client behind a request, for per-address send caps. It is the TCP peer, unless that peer
 * is a configured trusted proxy: then X-Forwarded-For is read from the right, skipping trusted proxies, and
 * the first address not trusted is the client. Without trusted proxies the header is ignored, since any
 * client can write it.
 */

/**
 * MYPHONE_TRUSTED_PROXIES as a matcher. BlockList.check builds a SocketAddress on every call (~1.5 µs, and two
 * calls a request behind a proxy: its own address and the client's), so answers are remembered per address. The
 * memo is bounded: addresses in X-Forwarded-For are the clients', as many as there are clients.
 */
export class TrustedProxies {
  private static readonly MEMO_LIMIT = 10_000;
  private readonly list = new BlockList();
  private readonly memo = new Map<string, boolean>();

  /** `entries`: addresses or CIDR ranges, already validated (config.ts checks MYPHONE_TRUSTED_PROXIES). */
  constructor(entries: readonly string[]) {
    for (const entry of entries) {
      const [address = "", prefix] = entry.split("/");
      const family = isIP(address) === 6 ? "ipv6" : "ipv4";
      if (prefix === undefined) this.list.addAddress(address, family);
      else this.list.addSubnet(address, Number(prefix), family);
    }
  }

  /** True when `address` (canonical, see canonicalAddress) is a trusted proxy. */
  has(address: string): boolean {
    let trusted = this.memo.get(address);
    if (trusted === undefined) {
      trusted = this.list.check(address, isIP(address) === 6 ? "ipv6" : "ipv4");
      if (this.memo.size >= TrustedProxies.MEMO_LIMIT) this.memo.clear();
      this.memo.set(address, trusted);
    }
    return trusted;
  }
}

/** "::ffff:192.0.2.1" → "192.0.2.1": IPv4 clients of a dual-stack socket are IPv4 clients. */
export function canonicalAddress(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  return mapped ? mapped[1]! : address.toLowerCase();
}

/** The client address of `request` (see the module comment). */
export function clientAddressOf(request: NodeRequest, trustedProxies: TrustedProxies | undefined): string | undefined {
  const peer = request.socket?.remoteAddress;
  if (!peer) return undefined;
  let client = canonicalAddress(peer);
  if (!trustedProxies || !trustedProxies.has(client)) return client;
  const header = request.headers["x-forwarded-for"];
  const hops = (Array.isArray(header) ? header.join(",") : (header ?? "")).split(",").map((hop) => hop.trim()).filter(Boolean);
  for (const hop of hops.reverse()) {
    // A hop that is not an address was not written by a proxy we trust: stop at the last trusted one.
    if (isIP(hop) === 0) break;
    client = canonicalAddress(hop);
    if (!trustedProxies.has(client)) break;
  }
  return client;
}

/** connect's `contextValues` hook: every RPC (Connect, gRPC, gRPC-Web, REST) learns its client address. */
export function clientAddressContext(trustedProxies: TrustedProxies | undefined): (request: NodeRequest) => ContextValues {
  return (request) => createContextValues().set(clientAddressKey, clientAddressOf(request, trustedProxies));
}
