import { createContextValues, type ContextValues } from "@connectrpc/connect";
import { BlockList, isIP } from "node:net";
import { clientAddressKey } from "../api/caller-context.js";
import type { NodeRequest } from "./node-handler.js";

/**
 * The client address behind a request, for per-address caps: the TCP peer, or behind a trusted proxy the first
 * untrusted hop of its forwarding header, read from the right. Without trusted proxies the headers are ignored:
 * any client can write them.
 */

/**
 * MYPHONE_TRUSTED_PROXIES as a matcher, memoised per address because BlockList.check builds a SocketAddress per call;
 * bounded, since forwarded addresses are as many as the clients.
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

/** The header trusted proxies name clients in (MYPHONE_TRUSTED_PROXY_HEADER). */
export type ForwardingHeader = "x-forwarded-for" | "forwarded";

/** The forwarding headers a request may carry; the other one of the pair is ignored. */
const FORWARDING_HEADERS: readonly ForwardingHeader[] = ["x-forwarded-for", "forwarded"];

export interface ClientAddressOptions {
  /** Absent: the TCP peer is every request's client, and forwarding headers are ignored. */
  readonly trustedProxies?: TrustedProxies;
  /** Which header trusted proxies write (default X-Forwarded-For). */
  readonly header?: ForwardingHeader;
  /** Told once per situation of an ignored forwarding header: no proxy is trusted, or a proxy wrote the other one. */
  readonly onIgnoredHeader?: (header: ForwardingHeader, trustedPeer: boolean) => void;
}

/** Longest hop text kept as a client key when the hop is no address, so a client cannot grow keys and log lines. */
export const MAX_HOP_KEY_CHARS = 64;
/** Prefix of client keys that are a hop's text rather than an address: never mistaken for one. */
export const UNPARSED_HOP_PREFIX = "hop:";

/** The client address of `request` (see the module comment). */
export function clientAddressOf(
  request: NodeRequest,
  options: ClientAddressOptions | TrustedProxies | undefined,
): string | undefined {
  const { trustedProxies, header = "x-forwarded-for" } =
    options instanceof TrustedProxies ? { trustedProxies: options } : (options ?? {});
  const peer = request.socket?.remoteAddress;
  if (!peer) return undefined;
  let client = canonicalAddress(peer);
  if (!trustedProxies || !trustedProxies.has(client)) return client;
  const hops =
    header === "forwarded"
      ? forwardedHops(request.headers.forwarded)
      : forwardedForHops(request.headers["x-forwarded-for"]);
  for (let index = hops.length - 1; index >= 0; index--) {
    const hop = hops[index]!;
    const address = hopAddress(hop);
    // A hop that is no address (`unknown`, an obfuscated `_id`, garbage) is still a client, not the proxy that
    // wrote it: counting it as the proxy would put everyone behind the proxy in one bucket.
    if (address === undefined) return unparsedHopKey(hop);
    client = address;
    if (!trustedProxies.has(client)) break;
  }
  return client;
}

/** The hops of X-Forwarded-For (every header line, comma-separated), in order. */
function forwardedForHops(header: string | string[] | undefined): string[] {
  if (header === undefined) return [];
  return (Array.isArray(header) ? header.join(",") : header)
    .split(",")
    .map((hop) => hop.trim())
    .filter((hop) => hop !== "");
}

/**
 * The `for` values of RFC 7239 `Forwarded`, in order. An element without `for` is still a hop, so it counts as its
 * whole text rather than being skipped.
 */
function forwardedHops(header: string | string[] | undefined): string[] {
  if (header === undefined) return [];
  const text = Array.isArray(header) ? header.join(",") : header;
  const hops: string[] = [];
  let element = "";
  let forValue: string | undefined;
  let inQuotes = false;
  const endElement = () => {
    const raw = element.trim();
    if (forValue !== undefined) hops.push(forValue);
    else if (raw !== "") hops.push(raw);
    element = "";
    forValue = undefined;
  };
  // Pairs are read when their end (`;`, `,` or the end of the text) is reached outside quotes.
  let pair = "";
  const endPair = () => {
    const equals = pair.indexOf("=");
    if (equals > 0 && pair.slice(0, equals).trim().toLowerCase() === "for" && forValue === undefined) {
      forValue = unquote(pair.slice(equals + 1).trim());
    }
    pair = "";
  };
  for (let i = 0; i < text.length; i++) {
    const char = text[i]!;
    if (inQuotes) {
      if (char === "\\" && i + 1 < text.length) {
        pair += char + text[++i]!;
        element += char + text[i]!;
        continue;
      }
      if (char === '"') inQuotes = false;
    } else if (char === '"') {
      inQuotes = true;
    } else if (char === ";" || char === ",") {
      endPair();
      if (char === ",") endElement();
      else element += char;
      continue;
    }
    pair += char;
    element += char;
  }
  endPair();
  endElement();
  return hops;
}

/** A quoted-string's content (backslash escapes resolved); a token as it is. */
function unquote(value: string): string {
  if (value.length < 2 || !value.startsWith('"') || !value.endsWith('"')) return value;
  return value.slice(1, -1).replace(/\\(.)/g, "$1");
}

/** The canonical address a hop names, port dropped (`192.0.2.1:47011`, `[2001:db8::1]:443`); undefined for none. */
export function hopAddress(hop: string): string | undefined {
  if (isIP(hop) !== 0) return canonicalAddress(hop);
  const written = /^\[([^\]]+)\](?::(\d{1,5}))?$/.exec(hop) ?? /^(\d{1,3}(?:\.\d{1,3}){3}):(\d{1,5})$/.exec(hop);
  if (!written || Number(written[2] ?? 0) > 65535) return undefined;
  const address = written[1]!;
  // Brackets are for IPv6 only; a bare address with a port is IPv4 only (IPv6 would be ambiguous).
  return isIP(address) === (hop.startsWith("[") ? 6 : 4) ? canonicalAddress(address) : undefined;
}

/** The key a hop that is no address is counted under: its text, printable ASCII only and bounded. */
function unparsedHopKey(hop: string): string {
  return UNPARSED_HOP_PREFIX + hop.replace(/[^\x21-\x7e]/g, "?").slice(0, MAX_HOP_KEY_CHARS);
}

/** connect's `contextValues` hook giving every call its client address; reports ignored forwarding headers once. */
export function clientAddressContext(options: ClientAddressOptions = {}): (request: NodeRequest) => ContextValues {
  const { trustedProxies, header = "x-forwarded-for", onIgnoredHeader } = options;
  // Behind trusted proxies, untrusted clients sending the headers are normal (and ignored); without any, the
  // headers mean a proxy nobody configured.
  let untrustedReported = !onIgnoredHeader || trustedProxies !== undefined;
  let otherHeaderReported = !onIgnoredHeader || trustedProxies === undefined;
  return (request) => {
    const address = clientAddressOf(request, options);
    if (!untrustedReported || !otherHeaderReported) {
      const sent = FORWARDING_HEADERS.find((name) => request.headers[name] !== undefined);
      if (sent !== undefined) {
        const trustedPeer =
          trustedProxies !== undefined &&
          request.socket?.remoteAddress !== undefined &&
          trustedProxies.has(canonicalAddress(request.socket.remoteAddress));
        if (!untrustedReported) {
          untrustedReported = true;
          onIgnoredHeader!(sent, false);
        } else if (trustedPeer && !otherHeaderReported && request.headers[header] === undefined) {
          otherHeaderReported = true;
          onIgnoredHeader!(sent, true);
        }
      }
    }
    return createContextValues().set(clientAddressKey, address);
  };
}
