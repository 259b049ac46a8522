/**
 * The Fetch API's Headers on a Map, for the headers of a fast-path call (request, response, trailers). Node 20's
 * Headers (undici's) runs WebIDL conversion, name and value checks and list bookkeeping on every call, and a
 * unary call makes four or five of them; this one behaves the same for what connect and myphone do with them
 * (case-insensitive names, values joined with ", ", set-cookie kept apart, iteration sorted by name, the same
 * TypeError for a name or value Headers refuses) at a fraction of the cost. It is not `instanceof Headers`:
 * code that needs a real one passes it to `new Headers(...)`, which takes any iterable of pairs.
 */
export class PlainHeaders implements Headers {
  /** Lower-case name to value (duplicates joined with ", "); set-cookie values are kept apart in `cookies`. */
  private readonly map = new Map<string, string>();
  private cookies: string[] | undefined;

  constructor(init?: HeadersInit | PlainHeaders) {
    if (init === undefined) return;
    if (init instanceof PlainHeaders) {
      for (const [name, value] of init.map) this.map.set(name, value);
      if (init.cookies) this.cookies = [...init.cookies];
    } else if (Array.isArray(init) || isIterable(init)) {
      for (const pair of init as Iterable<readonly string[]>) {
        if (pair.length !== 2) throw new TypeError("Headers constructor: expected name/value pair to be length 2");
        this.append(pair[0]!, pair[1]!);
      }
    } else {
      for (const name of Object.keys(init)) this.append(name, (init as Record<string, string>)[name]!);
    }
  }

  /**
   * Headers from a Node request's header object (names already lower-case and checked by Node's parser),
   * without HTTP/2 pseudo-headers; repeated headers arrive as arrays.
   */
  static fromNode(headers: Readonly<Record<string, string | string[] | undefined>>): PlainHeaders {
    const out = new PlainHeaders();
    for (const name in headers) {
      if (name.charCodeAt(0) === 0x3a) continue;
      const value = headers[name];
      if (typeof value === "string") out.add(name, normalise(value));
      else if (Array.isArray(value)) for (const item of value) out.add(name, normalise(item));
    }
    return out;
  }

  append(name: string, value: string): void {
    const key = checkedName(name);
    this.add(key, checkedValue(value));
  }

  set(name: string, value: string): void {
    const key = checkedName(name);
    const normalised = checkedValue(value);
    if (key === "set-cookie") this.cookies = [normalised];
    else this.map.set(key, normalised);
  }

  get(name: string): string | null {
    const key = checkedName(name);
    if (key === "set-cookie") return this.cookies ? this.cookies.join(", ") : null;
    return this.map.get(key) ?? null;
  }

  has(name: string): boolean {
    const key = checkedName(name);
    return key === "set-cookie" ? this.cookies !== undefined : this.map.has(key);
  }

  delete(name: string): void {
    const key = checkedName(name);
    if (key === "set-cookie") this.cookies = undefined;
    else this.map.delete(key);
  }

  getSetCookie(): string[] {
    return this.cookies ? [...this.cookies] : [];
  }

  forEach(callback: (value: string, name: string, parent: Headers) => void, thisArg?: unknown): void {
    for (const [name, value] of this.entries()) callback.call(thisArg, value, name, this);
  }

  *entries(): IterableIterator<[string, string]> {
    // Sorted by name, each set-cookie on its own, as Headers iterates (a snapshot, so callbacks may change this).
    const names = [...this.map.keys()];
    if (this.cookies) names.push("set-cookie");
    names.sort();
    const pairs: [string, string][] = [];
    for (const name of names) {
      if (name === "set-cookie") for (const cookie of this.cookies!) pairs.push([name, cookie]);
      else pairs.push([name, this.map.get(name)!]);
    }
    yield* pairs;
  }

  *keys(): IterableIterator<string> {
    for (const [name] of this.entries()) yield name;
  }

  *values(): IterableIterator<string> {
    for (const [, value] of this.entries()) yield value;
  }

  [Symbol.iterator](): IterableIterator<[string, string]> {
    return this.entries();
  }

  /** The headers as the object Node's writeHead and addTrailers take (set-cookie as an array). */
  toNode(): Record<string, string | string[]> {
    const out: Record<string, string | string[]> = {};
    for (const [name, value] of this.map) out[name] = value;
    if (this.cookies) out["set-cookie"] = [...this.cookies];
    return out;
  }

  private add(key: string, value: string): void {
    if (key === "set-cookie") {
      (this.cookies ??= []).push(value);
      return;
    }
    const existing = this.map.get(key);
    this.map.set(key, existing === undefined ? value : `${existing}, ${value}`);
  }
}

/** RFC 9110 token characters: what Headers accepts as a name. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** What Headers refuses in a value (after stripping leading and trailing whitespace): NUL, CR, LF, non-bytes. */
const FORBIDDEN_IN_VALUE = /[\0\r\n\u0100-\uffff]/;

function checkedName(name: string): string {
  const text = String(name);
  if (!TOKEN.test(text)) throw new TypeError(`Headers: invalid header name "${text}"`);
  return text.toLowerCase();
}

function checkedValue(value: string): string {
  const normalised = normalise(String(value));
  if (FORBIDDEN_IN_VALUE.test(normalised)) throw new TypeError(`Headers: invalid header value "${normalised}"`);
  return normalised;
}

/** Headers strips leading and trailing HTTP whitespace (tab, line feed, carriage return, space) from a value. */
function normalise(value: string): string {
  const first = value.charCodeAt(0);
  const last = value.charCodeAt(value.length - 1);
  return first === 0x20 || first === 0x09 || first === 0x0a || first === 0x0d || last === 0x20 || last === 0x09 || last === 0x0a || last === 0x0d
    ? value.replace(/^[\t\n\r ]+|[\t\n\r ]+$/g, "")
    : value;
}

function isIterable(value: unknown): value is Iterable<unknown> {
  return typeof value === "object" && value !== null && typeof (value as { [Symbol.iterator]?: unknown })[Symbol.iterator] === "function";
}
