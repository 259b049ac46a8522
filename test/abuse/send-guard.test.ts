import { Writable } from "node:stream";
import { blurredWaitSeconds, SendGuard } from "../../src/abuse/send-guard.js";
import { MemorySendLimiter } from "../../src/abuse/send-limiter.js";
import { MemorySmsScopeStore } from "../../src/abuse/sms-scope-store.js";
import { UserCommands } from "../../src/commands/user-commands.js";
import { DomainError } from "../../src/domain/errors.js";
import { NO_SEND_RULES } from "../../src/domain/code-send-rules.js";
import { DEFAULT_CODE_POLICY } from "../../src/domain/verification-code.js";
import { MemoryEventStore } from "../../src/eventstore/memory-event-store.js";
import { createLogger } from "../../src/logger.js";
import { TEST_PHONE_POLICY, testCipher } from "../domain/given-when-then.js";

/**
 * The application layer's part of the shared caps (UserCommands with a SendGuard): one reservation per code
 * sent, kept when a command re-runs after losing an optimistic-concurrency race, and given back when the
 * re-run no longer sends (so racing writers are never charged twice, nor for sends that did not happen).
 */

const HOUR = 3_600_000;

function setup(caps: { perNumber?: number; perAddress?: number; globalBudget?: number }) {
  const logs: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString("utf8").split("\n"))
        if (line.trim()) logs.push(JSON.parse(line) as Record<string, unknown>);
      callback();
    },
  });
  const limiter = new MemorySendLimiter();
  const guard = new SendGuard({
    limiter,
    caps: {
      perNumber: caps.perNumber ? [{ max: caps.perNumber, windowMs: HOUR }] : [],
      perNumberPerUser: [],
      perNumberPerAddress: [],
      perAddress: caps.perAddress ? [{ max: caps.perAddress, windowMs: HOUR }] : [],
    },
    logger: createLogger("info", sink),
    ...(caps.globalBudget && {
      scopes: {
        store: new MemorySmsScopeStore({
          budgets: { global: [{ max: caps.globalBudget, windowMs: HOUR }], country: [], prefix: [] },
        }),
        rules: { budgets: { global: [{ max: caps.globalBudget, windowMs: HOUR }], country: [], prefix: [] } },
        prefixDroppedDigits: 3,
      },
    }),
  });
  const store = new MemoryEventStore();
  const cipher = testCipher();
  const commands = new UserCommands(store, {
    env: () => ({
      now: new Date(),
      phonePolicy: TEST_PHONE_POLICY,
      codePolicy: DEFAULT_CODE_POLICY,
      cipher,
      sendPolicy: NO_SEND_RULES,
    }),
    sendGuard: guard,
  });
  const addUser = async (userId: string) => {
    await commands.execute(userId, { type: "AddHumanUser", userName: userId }, "org");
    return userId;
  };
  return { commands, limiter, logs, addUser };
}

const origin = { clientAddress: "203.0.113.9" };
const errorIdOf = (promise: Promise<unknown>) =>
  promise.then(
    () => "ok",
    (error: unknown) => (error instanceof DomainError ? error.id : String(error)),
  );

test("twenty racing SetMyPhone calls of one user are charged once each, retries included", async () => {
  const { commands, addUser } = setup({ perAddress: 20 });
  const user = await addUser("u1");
  const outcomes = await Promise.all(
    Array.from({ length: 20 }, (_, i) =>
      errorIdOf(commands.execute(user, { type: "SetPhone", phone: `+4179${1_000_000 + i}` }, undefined, origin)),
    ),
  );
  expect(outcomes).toEqual(Array.from({ length: 20 }, () => "ok"));
  // The address has used exactly its 20 sends: the next one is refused.
  const other = await addUser("u2");
  expect(await errorIdOf(commands.execute(other, { type: "SetPhone", phone: "+41792000000" }, undefined, origin))).toBe(
    "MYPHONE-SnAdr",
  );
});

test("a racing call that ends up sending nothing gives its reservation back", async () => {
  const { commands, addUser } = setup({ perNumber: 2 });
  const alice = await addUser("alice");
  // Both calls reserve; the loser re-runs, finds the number already set and answers "not changed".
  const outcomes = await Promise.all(
    [1, 2].map(() =>
      errorIdOf(commands.execute(alice, { type: "SetPhone", phone: "+41793000000" }, undefined, origin)),
    ),
  );
  expect(outcomes.sort()).toEqual(["COMMAND-wF94r", "ok"]);
  // Only the winner's send counts: one more user may still get a code for the number.
  const bob = await addUser("bob");
  expect(await errorIdOf(commands.execute(bob, { type: "SetPhone", phone: "+41793000000" }, undefined, origin))).toBe(
    "ok",
  );
  const carol = await addUser("carol");
  expect(await errorIdOf(commands.execute(carol, { type: "SetPhone", phone: "+41793000000" }, undefined, origin))).toBe(
    "MYPHONE-SnNum",
  );
});

test("commands that send no code reserve nothing, and a refused send appends nothing", async () => {
  const { commands, addUser, logs } = setup({ perNumber: 1 });
  const alice = await addUser("alice");
  await commands.execute(alice, { type: "SetPhone", phone: "+41794000000" }, undefined, origin);
  const before = (await commands.load(alice)).sequence;
  expect(await errorIdOf(commands.execute(alice, { type: "ResendPhoneCode" }, undefined, origin))).toBe(
    "MYPHONE-SnNum",
  );
  await commands.execute(alice, { type: "VerifyPhone", code: "WRONG1" }, undefined, origin).catch(() => undefined);
  await commands.execute(alice, { type: "RemovePhone" }, undefined, origin);
  const after = await commands.load(alice);
  expect(after.sequence).toBe(before + 2); // verification.failed and phone.removed; no code.added
  expect(logs.filter((line) => line.msg === "abuse limit refused a request")).toEqual([
    expect.objectContaining({
      level: 40,
      limit: "sends_per_number",
      errorId: "MYPHONE-SnNum",
      userId: alice,
      command: "ResendPhoneCode",
      clientAddress: "203.0.113.9",
      retryAfterSeconds: 3600,
    }),
  ]);
});

test("without a client address only the per-number cap applies", async () => {
  const { commands, addUser } = setup({ perAddress: 1 });
  for (const name of ["a", "b", "c"]) {
    const user = await addUser(name);
    expect(
      await errorIdOf(commands.execute(user, { type: "SetPhone", phone: `+4179500000${name.charCodeAt(0) % 10}` })),
    ).toBe("ok");
  }
});

test("a send the per-number cap refuses gives back what the budgets had counted for it", async () => {
  const { commands, addUser } = setup({ perNumber: 1, globalBudget: 2 });
  const [alice, bob, carol, dave] = [
    await addUser("alice"),
    await addUser("bob"),
    await addUser("carol"),
    await addUser("dave"),
  ];
  expect(await errorIdOf(commands.execute(alice, { type: "SetPhone", phone: "+41796000000" }, undefined, origin))).toBe(
    "ok",
  );
  // Counted by the global budget first, then refused by the number's cap: the budget must not keep it.
  expect(await errorIdOf(commands.execute(bob, { type: "SetPhone", phone: "+41796000000" }, undefined, origin))).toBe(
    "MYPHONE-SnNum",
  );
  expect(await errorIdOf(commands.execute(carol, { type: "SetPhone", phone: "+41796000001" }, undefined, origin))).toBe(
    "ok",
  );
  expect(await errorIdOf(commands.execute(dave, { type: "SetPhone", phone: "+41796000002" }, undefined, origin))).toBe(
    "MYPHONE-SnGlb",
  );
});

test("a blurred wait is rounded up to a whole quarter of the refusing window", () => {
  expect(blurredWaitSeconds(1, { max: 5, windowMs: HOUR })).toBe(900);
  expect(blurredWaitSeconds(900, { max: 5, windowMs: HOUR })).toBe(900);
  expect(blurredWaitSeconds(901, { max: 5, windowMs: HOUR })).toBe(1800);
  expect(blurredWaitSeconds(3599, { max: 5, windowMs: HOUR })).toBe(3600);
  expect(blurredWaitSeconds(7 * 3600 + 5, { max: 10, windowMs: 24 * HOUR })).toBe(12 * 3600);
  expect(blurredWaitSeconds(1, { max: 1, windowMs: 2000 })).toBe(1);
});
