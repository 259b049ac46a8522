import { randomBytes } from "node:crypto";
import { CodeKeyAgreement } from "../../src/commands/code-keys.js";
import { CodeCipher } from "../../src/domain/verification-code.js";
import { MemoryEventStore } from "../../src/eventstore/memory-event-store.js";

/** The code key agreement between nodes of one deployment, on one registry (the memory store's). */

const HOUR = 3_600_000;
const key = () => randomBytes(32);
const cipher = (keys: [string, Buffer][]) => new CodeCipher(new Map(keys), keys[0]![0]);

describe("CodeKeyAgreement", () => {
  const k1 = key();
  const k2 = key();
  let registry: MemoryEventStore;
  let clock: number;
  const agreement = (keys: [string, Buffer][], onForeignActiveKey?: (keyId: string) => void) =>
    new CodeKeyAgreement(cipher(keys), registry, {
      codeTtlMs: HOUR,
      now: () => new Date(clock),
      onForeignActiveKey,
      heartbeatMs: 10,
    });

  beforeEach(() => {
    registry = new MemoryEventStore();
    clock = Date.parse("2026-06-01T00:00:00Z");
  });

  it("lets nodes with the same keys start, and refuses a node whose key has the same id but other bytes", async () => {
    expect(await agreement([["k1", k1]]).problems()).toEqual([]);
    expect(await agreement([["k1", k1]]).problems()).toEqual([]);
    const [problem] = await agreement([["k1", key()]]).problems();
    expect(problem).toMatch(/^key id k1 is not the key other nodes use under that id/);
  });

  it("refuses a node lacking a key some node encrypted with within the code lifetime, until that lifetime has passed", async () => {
    await agreement([["k1", k1]]).problems();
    clock += 30 * 60_000;
    const [problem] = await agreement([["k2", k2]]).problems();
    expect(problem).toMatch(
      /^key id k1 is missing, and codes encrypted with it may be valid until 2026-06-01T01:00:00.000Z/,
    );
    // A refused node records nothing: it cannot hold up the nodes that are right.
    expect((await registry.listCodeKeys()).map((recorded) => recorded.keyId)).toEqual(["k1"]);
    clock += HOUR;
    expect(await agreement([["k2", k2]]).problems()).toEqual([]);
  });

  it("keeps rotation working: a new first key with the old one kept starts, and a key only held (never active) is not required", async () => {
    expect(
      await agreement([
        ["k1", k1],
        ["k2", k2],
      ]).problems(),
    ).toEqual([]);
    // k2 is recorded but nobody encrypts with it: nodes without it may still start.
    expect(await agreement([["k1", k1]]).problems()).toEqual([]);
    expect(
      await agreement([
        ["k2", k2],
        ["k1", k1],
      ]).problems(),
    ).toEqual([]);
    // Now k2 is active somewhere: a node with only k1 would not read its codes.
    expect((await agreement([["k1", k1]]).problems())[0]).toMatch(/^key id k2 is missing/);
  });

  it("tells a running node, once, that another node encrypts with a key it lacks", async () => {
    const foreign: string[] = [];
    const old = agreement([["k1", k1]], (keyId) => foreign.push(keyId));
    await old.problems();
    old.start();
    await agreement([
      ["k2", k2],
      ["k1", k1],
    ]).problems();
    await new Promise((resolve) => setTimeout(resolve, 60));
    old.stop();
    expect(foreign).toEqual(["k2"]);
  });
});
