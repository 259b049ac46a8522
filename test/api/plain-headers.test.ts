import { PlainHeaders } from "../../src/api/plain-headers.js";
import { nodeHeadersOf } from "../../src/api/unary-method.js";

/**
 * PlainHeaders stands in for the Fetch API's Headers on the fast paths, so it is held to Node's own Headers:
 * the same operations on both must give the same answers, the same iteration and the same refusals.
 */

type Op = readonly ["append" | "set", string, string] | readonly ["delete", string];

/** Applies `ops` to a Headers-like object; records "throws" for a refused operation. */
function apply(headers: Headers, ops: readonly Op[]): string[] {
  const outcomes: string[] = [];
  for (const op of ops) {
    try {
      if (op[0] === "delete") headers.delete(op[1]);
      else headers[op[0]](op[1], op[2]);
      outcomes.push("ok");
    } catch (error) {
      // By name: Node's Headers throws the TypeError of another realm than jest's.
      outcomes.push((error as Error).name);
    }
  }
  return outcomes;
}

/** Everything a reader can observe of a Headers-like object. */
function observe(headers: Headers, names: readonly string[]) {
  const pairs: [string, string][] = [];
  headers.forEach((value, name) => pairs.push([name, value]));
  const safe = <T>(read: () => T): T | "TypeError" => {
    try {
      return read();
    } catch {
      return "TypeError";
    }
  };
  return {
    pairs,
    iterated: [...(headers as unknown as Iterable<[string, string]>)],
    keys: [...(headers as unknown as { keys(): Iterable<string> }).keys()],
    values: [...(headers as unknown as { values(): Iterable<string> }).values()],
    cookies: headers.getSetCookie(),
    gets: names.map((name) => safe(() => headers.get(name))),
    has: names.map((name) => safe(() => headers.has(name))),
  };
}

const NAMES = ["Content-Type", "content-type", "X-Request-Id", "authorization", "Set-Cookie", "set-cookie", "trailer-grpc-status", "bad name", "bad:name", "", "ünïcode"];
const VALUES = ["application/json", " padded\t", "a, b", "", "x\r\ny", "nul\0", "é-latin1", "€-not-a-byte", "Bearer abc.def", "\t  "];

/** A small deterministic generator, so a failing sequence can be replayed. */
function* sequences(count: number): Generator<Op[]> {
  let seed = 7;
  const next = (n: number) => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    // The high bits: an LCG's low bits repeat with a short period.
    return Math.floor((seed / 2 ** 31) * n);
  };
  for (let i = 0; i < count; i++) {
    const ops: Op[] = [];
    const length = 1 + next(12);
    for (let j = 0; j < length; j++) {
      const kind = next(3);
      const name = NAMES[next(NAMES.length)]!;
      ops.push(kind === 2 ? ["delete", name] : [kind === 0 ? "append" : "set", name, VALUES[next(VALUES.length)]!]);
    }
    yield ops;
  }
}

test("any sequence of append, set and delete reads the same as on Node's Headers", () => {
  for (const ops of sequences(2000)) {
    const real = new Headers();
    const plain = new PlainHeaders();
    expect({ ops, outcomes: apply(plain, ops) }).toEqual({ ops, outcomes: apply(real, ops) });
    expect({ ops, seen: observe(plain, NAMES) }).toEqual({ ops, seen: observe(real, NAMES) });
  }
});

test("constructed from a record, a list of pairs or another Headers like Node's Headers", () => {
  const record = { "Content-Type": "application/grpc", "grpc-status": "0", "x-padded": "  v  " };
  const pairs: [string, string][] = [
    ["set-cookie", "a=1"],
    ["Set-Cookie", "b=2"],
    ["accept", "x"],
    ["Accept", "y"],
  ];
  for (const init of [record, pairs, new Headers(pairs)]) {
    expect(observe(new PlainHeaders(init), NAMES)).toEqual(observe(new Headers(init), NAMES));
  }
  const copied = new PlainHeaders(new PlainHeaders(pairs));
  expect(observe(copied, NAMES)).toEqual(observe(new Headers(pairs), NAMES));
  // And Node's Headers takes a PlainHeaders like any iterable of pairs.
  expect(observe(new Headers(copied as unknown as HeadersInit), NAMES)).toEqual(observe(new Headers(pairs), NAMES));
  expect(() => new PlainHeaders([["only-a-name"]] as unknown as [string, string][])).toThrow("expected name/value pair to be length 2");
  expect(() => new Headers([["only-a-name"]] as unknown as [string, string][])).toThrow("expected name/value pair to be length 2");
});

test("from a Node request's headers: pseudo-headers left out, repeated headers joined, cookies kept apart", () => {
  const node = { ":path": "/x", ":method": "POST", authorization: "Bearer t", accept: ["a", "b"], "set-cookie": ["c=1", "d=2"], "x-empty": "", "x-padded": " v " };
  const real = new Headers();
  real.append("authorization", "Bearer t");
  real.append("accept", "a");
  real.append("accept", "b");
  real.append("set-cookie", "c=1");
  real.append("set-cookie", "d=2");
  real.append("x-empty", "");
  real.append("x-padded", " v ");
  expect(observe(PlainHeaders.fromNode(node), NAMES)).toEqual(observe(real, NAMES));
});

test("as Node response headers: the same object whether it started as PlainHeaders or Headers", () => {
  const pairs: [string, string][] = [
    ["content-type", "application/json"],
    ["set-cookie", "a=1"],
    ["set-cookie", "b=2"],
    ["x-many", "1"],
    ["x-many", "2"],
  ];
  expect(nodeHeadersOf(new PlainHeaders(pairs))).toEqual({ "content-type": "application/json", "set-cookie": ["a=1", "b=2"], "x-many": "1, 2" });
  expect(nodeHeadersOf(new Headers(pairs))).toEqual(nodeHeadersOf(new PlainHeaders(pairs)));
});
