import { UserCommands } from "../../src/commands/user-commands.js";
import { DEFAULT_CODE_POLICY } from "../../src/domain/verification-code.js";
import { replay } from "../../src/domain/phone-decider.js";
import { parseUserEvent, UnreadableEventError, USER_AGGREGATE } from "../../src/domain/user-events.js";
import { MemoryEventStore } from "../../src/eventstore/memory-event-store.js";
import { testCipher } from "../domain/given-when-then.js";

/** The state cache must never hide an event: two command runners on one store stand for two processes. */

function commandsOn(store: MemoryEventStore): UserCommands {
  const cipher = testCipher();
  return new UserCommands(store, {
    env: () => ({
      now: new Date(),
      cipher,
      codePolicy: DEFAULT_CODE_POLICY,
      phonePolicy: { defaultRegion: "CH", check: "possible", mobileOnly: false },
    }),
  });
}

test("a cached state picks up events another process appended, and equals a full replay", async () => {
  const store = new MemoryEventStore();
  const nodeA = commandsOn(store);
  const nodeB = commandsOn(store);
  await nodeA.execute("u1", { type: "AddHumanUser", userName: "u1" }, "org1");
  await nodeA.execute("u1", { type: "SetPhone", phone: "+41 79 111 11 11" });
  expect((await nodeA.load("u1")).phone).toBe("+41791111111"); // cached in A now

  await nodeB.execute("u1", { type: "SetPhone", phone: "+41 79 222 22 22" });
  await nodeB.execute("u1", { type: "RemovePhone" });
  await nodeB.execute("u1", { type: "SetPhone", phone: "+41 79 333 33 33" });

  const cached = await nodeA.load("u1");
  expect(cached).toEqual(replay((await store.readStream(USER_AGGREGATE, "u1")).map(parseUserEvent)));
  expect(cached.phone).toBe("+41793333333");
  // A's next command decides on that fresh state: the same number is "not changed".
  await expect(nodeA.execute("u1", { type: "SetPhone", phone: "+41793333333" })).rejects.toMatchObject({
    id: "COMMAND-wF94r",
  });
});

test("a command decided on a cached state that another process has moved on is re-decided on the fresh state", async () => {
  const store = new MemoryEventStore();
  const nodeA = commandsOn(store);
  const nodeB = commandsOn(store);
  await nodeA.execute("u1", { type: "AddHumanUser", userName: "u1" }, "org1");
  expect((await nodeA.load("u1")).phone).toBe(""); // A caches a user without a phone

  // B sets a phone: A's cache does not know. A refusal on the stale state ("no phone") would be wrong.
  await nodeB.execute("u1", { type: "SetPhone", phone: "+41 79 111 11 11" });
  const removed = await nodeA.execute("u1", { type: "RemovePhone" });
  expect(removed.state.phone).toBe("");

  // B sets a phone again; A's SetPhone of another number appends: the expected sequence catches the stale state,
  // and the retry decides on B's events (one phone.changed after B's, no lost or doubled write).
  await nodeB.execute("u1", { type: "SetPhone", phone: "+41 79 222 22 22" });
  const set = await nodeA.execute("u1", { type: "SetPhone", phone: "+41 79 333 33 33" });
  const events = await store.readStream(USER_AGGREGATE, "u1");
  expect(set.state).toEqual(replay(events.map(parseUserEvent)));
  expect(
    events
      .filter((event) => event.type === "user.human.phone.changed")
      .map((event) => (event.data as { phone: string }).phone),
  ).toEqual(["+41791111111", "+41792222222", "+41793333333"]);
});

test("a stored event the code cannot read fails loads and commands loudly instead of being skipped", async () => {
  const store = new MemoryEventStore();
  const commands = commandsOn(store);
  await commands.execute("u1", { type: "AddHumanUser", userName: "u1" }, "org1");
  await commands.execute("u2", { type: "AddHumanUser", userName: "u2" }, "org1");
  const write = (userId: string, type: string, data: Record<string, unknown>) =>
    store.append({
      aggregateType: USER_AGGREGATE,
      aggregateId: userId,
      owner: "org1",
      expectedSequence: 1,
      events: [{ type, data }],
    });
  await write("u1", "user.human.email.changed", { email: "a@example.com" });
  await write("u2", "user.human.phone.changed", { phone: 41791111111 });

  await expect(commands.load("u1")).rejects.toThrow(UnreadableEventError);
  // The command decides on the cached state first; its append then meets the stored event, and the re-read fails.
  await expect(commands.execute("u1", { type: "SetPhone", phone: "+41 79 111 11 11" })).rejects.toThrow(
    "user u1, event 2 (user.human.email.changed): unknown event type",
  );
  await expect(commandsOn(store).load("u2")).rejects.toThrow(
    "user u2, event 2 (user.human.phone.changed): data does not match the event type",
  );
  expect(await store.readStream(USER_AGGREGATE, "u1")).toHaveLength(2);
});
