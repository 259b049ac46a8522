import { loadCodeCipher } from "../../src/commands/code-keys.js";
import { UserCommands } from "../../src/commands/user-commands.js";
import { DEFAULT_CODE_POLICY } from "../../src/domain/verification-code.js";
import type { EventStore } from "../../src/eventstore/event-store.js";

/**
 * Creates human users the way `myphone users add` does, straight in the store (user name = user id), for tests
 * that need many users before or beside real server processes. `codeKeys` is MYPHONE_CODE_KEYS when the test
 * sets it; the users' commands never use the code cipher, but the command environment needs one.
 */
export async function addUsersToStore(
  store: EventStore,
  userIds: readonly string[],
  owner: string,
  keys: { dataDir: string; codeKeys?: string },
): Promise<void> {
  const cipher = loadCodeCipher(keys.codeKeys, keys.dataDir);
  const commands = new UserCommands(store, {
    env: () => ({
      now: new Date(),
      cipher,
      codePolicy: DEFAULT_CODE_POLICY,
      phonePolicy: { defaultRegion: "CH", check: "possible", mobileOnly: false },
    }),
  });
  for (const userId of userIds) await commands.execute(userId, { type: "AddHumanUser", userName: userId }, owner);
}
