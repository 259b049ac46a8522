import { UserCommands } from "../../src/app/user-commands.js";
import { DEFAULT_CODE_POLICY } from "../../src/domain/verification-code.js";
import { replay } from "../../src/domain/phone-decider.js";
import { USER_AGGREGATE } from "../../src/domain/user-events.js";
import { MemoryEventStore } from "../../src/eventstore/memory-event-store.js";
import { testCipher } from "../domain/given-when-then.js";

/** The state cache must never hide an event: two command runners on one store stand for two processes. */

function commandsOn(store: MemoryEventStore): UserCommands {
  const cipher = testCipher();
  return new UserCommands(store, {
    env: () => ({ now: new Date(), cipher, codePolicy: DEFAULT_CODE_POLICY, phonePolicy: { defaultRegion: "CH", check: "possible", mobileOnly: false } }),
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
  expect(cached).toEqual(replay(await store.readStream(USER_AGGREGATE, "u1")));
  expect(cached.phone).toBe("+41793333333");
  // A's next command decides on that fresh state: the same number is "not changed".
  await expect(nodeA.execute("u1", { type: "SetPhone", phone: "+41793333333" })).rejects.toMatchObject({ id: "COMMAND-wF94r" });
});
