import { CodeServiceUnavailableError, type ExternalCodeChecker } from "../../src/domain/external-code-service.js";
import { UserCommands } from "../../src/commands/user-commands.js";
import type { ExternalCodeCheck, ExternalCodeVerdict } from "../../src/domain/phone-decider.js";
import { USER_AGGREGATE, UserEventType } from "../../src/domain/user-events.js";
import { DEFAULT_CODE_POLICY } from "../../src/domain/verification-code.js";
import { MemoryEventStore } from "../../src/eventstore/memory-event-store.js";
import { testCipher } from "../domain/given-when-then.js";

/**
 * Issue 20, item 6, in the command layer: a VerifyPhone on a code an external service holds asks that service once,
 * before deciding, and keeps its answer when a concurrent write makes the command run again (an approved
 * verification cannot be asked about twice). A second process stands in for the SMS worker's code.sent.
 */

const SERVICE = `VA${"a".repeat(32)}`;

function commandsOn(store: MemoryEventStore, checker?: ExternalCodeChecker): UserCommands {
  const cipher = testCipher();
  const phonePolicy = { defaultRegion: "CH", check: "possible", mobileOnly: false } as const;
  return new UserCommands(store, {
    env: () => ({
      now: new Date(),
      cipher,
      codePolicy: DEFAULT_CODE_POLICY,
      phonePolicy,
      externalCodeGenerator: SERVICE,
    }),
    codeChecker: checker,
  });
}

async function userWithExternalCode(store: MemoryEventStore): Promise<void> {
  const commands = commandsOn(store);
  await commands.execute("u1", { type: "AddHumanUser", userName: "u1" }, "org1");
  await commands.execute("u1", { type: "SetPhone", phone: "+41 79 111 11 11" });
}

const types = async (store: MemoryEventStore) =>
  (await store.readStream(USER_AGGREGATE, "u1")).map((event) => event.type);

test("the service is asked once even when a concurrent append makes the command run again", async () => {
  const store = new MemoryEventStore();
  await userWithExternalCode(store);
  const worker = commandsOn(store);
  const asked: ExternalCodeCheck[] = [];
  const checker: ExternalCodeChecker = {
    generatorId: SERVICE,
    async check(check) {
      asked.push(check);
      // While Twilio answers, the SMS worker records code.sent: the append below then loses its race.
      if (asked.length === 1)
        await worker.execute("u1", {
          type: "MarkPhoneCodeSent",
          codeSequence: 3,
          generatorInfo: { id: SERVICE, verificationId: "VE1" },
        });
      return "approved";
    },
  };
  await commandsOn(store, checker).execute("u1", { type: "VerifyPhone", code: "123456" });
  expect(asked).toEqual([
    { generatorId: SERVICE, verificationId: "", phone: "+41791111111", code: "123456", codeSequence: 3 },
  ]);
  expect(await types(store)).toEqual([
    UserEventType.humanAdded,
    UserEventType.phoneChanged,
    UserEventType.phoneCodeAdded,
    UserEventType.phoneCodeSent,
    UserEventType.phoneVerified,
  ]);
});

test("a service that cannot be asked: Unavailable MYPHONE-CoUna, nothing appended", async () => {
  const store = new MemoryEventStore();
  await userWithExternalCode(store);
  const checker: ExternalCodeChecker = {
    generatorId: SERVICE,
    check: (): Promise<ExternalCodeVerdict> =>
      Promise.reject(new CodeServiceUnavailableError("twilio verify check answered HTTP 503")),
  };
  await expect(commandsOn(store, checker).execute("u1", { type: "VerifyPhone", code: "123456" })).rejects.toMatchObject(
    { id: "MYPHONE-CoUna", kind: "Unavailable" },
  );
  expect(await types(store)).toHaveLength(3);
});

test("a code of another service (the provider changed since) is a wrong code, asked of nobody", async () => {
  const store = new MemoryEventStore();
  await userWithExternalCode(store);
  const check = jest.fn(async (): Promise<ExternalCodeVerdict> => "approved");
  await expect(
    commandsOn(store, { generatorId: `VA${"b".repeat(32)}`, check }).execute("u1", {
      type: "VerifyPhone",
      code: "123456",
    }),
  ).rejects.toMatchObject({ id: "COMMAND-sM0cs" });
  await expect(commandsOn(store).execute("u1", { type: "VerifyPhone", code: "123456" })).rejects.toMatchObject({
    id: "COMMAND-sM0cs",
  });
  expect(check).not.toHaveBeenCalled();
  expect((await types(store)).slice(3)).toEqual([
    UserEventType.phoneVerificationFailed,
    UserEventType.phoneVerificationFailed,
  ]);
});
