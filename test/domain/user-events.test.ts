import { decide } from "../../src/domain/phone-decider.js";
import {
  parseUserEvent,
  UnreadableEventError,
  UserEventType,
  type StoredEvent,
  type UserEvent,
} from "../../src/domain/user-events.js";
import { eventTime, given, makeEnv, OWNER, reader } from "./given-when-then.js";

/**
 * The store boundary of the user aggregate: stored events become typed user events in one step, which refuses
 * what evolve could only guess at (an unknown type, data that does not match its type).
 */

const code = reader.encrypt("ABC123");

/** One event of every type, with the data the decider writes for it. */
const EVERY_TYPE: readonly UserEvent[] = [
  { type: UserEventType.humanAdded, data: { userName: "alice", preferredLanguage: "de", displayName: "Alice" } },
  { type: UserEventType.humanAdded, data: { userName: "bob" } },
  { type: UserEventType.machineAdded, data: { userName: "robot" } },
  { type: UserEventType.userRemoved, data: null },
  { type: UserEventType.phoneChanged, data: { phone: "+41791234567" } },
  { type: UserEventType.phoneCodeAdded, data: { code, expiry: 3_600_000_000_000 } },
  // v2's return_code (ZITADEL's field name)
  { type: UserEventType.phoneCodeAdded, data: { code, expiry: 3_600_000_000_000, code_returned: true } },
  { type: UserEventType.phoneCodeSent, data: { generatorInfo: {} } },
  // A code Twilio Verify holds, and its code.sent (ZITADEL's generatorId and generatorInfo).
  { type: UserEventType.phoneCodeAdded, data: { generatorId: `VA${"1".repeat(32)}`, expiry: 3_600_000_000_000 } },
  {
    type: UserEventType.phoneCodeSent,
    data: { generatorInfo: { id: `VA${"1".repeat(32)}`, verificationId: `VE${"2".repeat(32)}` } },
  },
  { type: UserEventType.phoneVerified, data: null },
  { type: UserEventType.phoneVerificationFailed, data: null },
  { type: UserEventType.phoneRemoved, data: null },
];

/** As a store hands it back: JSON round trip, metadata of a recorded event. */
function stored(type: string, data: unknown, sequence = 7): StoredEvent & { aggregateType: string; position: bigint } {
  return {
    aggregateType: "user",
    aggregateId: "u1",
    type,
    data: JSON.parse(JSON.stringify(data)) as unknown,
    owner: OWNER,
    sequence,
    position: 42n,
    createdAt: eventTime(sequence),
  };
}

describe("parseUserEvent", () => {
  it.each(EVERY_TYPE.map((event) => [event.type, event] as const))(
    "reads %s as the typed event with its place in the stream",
    (_type, event) => {
      expect(parseUserEvent(stored(event.type, event.data))).toStrictEqual({
        ...event,
        owner: OWNER,
        sequence: 7,
        createdAt: eventTime(7),
      });
    },
  );

  it("reads every event the decider writes", () => {
    const env = makeEnv();
    const { events } = decide({ type: "SetPhone", phone: "079 123 45 67" }, given([EVERY_TYPE[0]!]).state, env);
    expect(events.map((event) => event.type)).toEqual([UserEventType.phoneChanged, UserEventType.phoneCodeAdded]);
    events.forEach((event, index) =>
      expect(parseUserEvent(stored(event.type, event.data, index + 2))).toMatchObject(event),
    );
  });

  it("refuses an unknown event type, naming user, sequence and type but not the data", () => {
    const read = () =>
      parseUserEvent(stored("user.human.email.changed", { email: "a@example.com", phone: "+41000000000" }, 5));
    expect(read).toThrow(UnreadableEventError);
    expect(read).toThrow("user u1, event 5 (user.human.email.changed): unknown event type");
    expect(read).not.toThrow(/example|\+41/);
  });

  it("refuses names that are not event types of its own, such as inherited object keys", () => {
    expect(() => parseUserEvent(stored("toString", null))).toThrow("unknown event type");
    expect(() => parseUserEvent(stored("__proto__", null))).toThrow("unknown event type");
  });

  it.each([
    ["human.added without data", UserEventType.humanAdded, null],
    ["human.added without userName", UserEventType.humanAdded, { displayName: "Alice" }],
    ["human.added with a numeric language", UserEventType.humanAdded, { userName: "alice", preferredLanguage: 7 }],
    ["machine.added with a numeric userName", UserEventType.machineAdded, { userName: 7 }],
    ["phone.changed without phone", UserEventType.phoneChanged, {}],
    ["phone.changed as a list", UserEventType.phoneChanged, ["+41791234567"]],
    ["code.added without expiry", UserEventType.phoneCodeAdded, { code }],
    ["code.added with a text expiry", UserEventType.phoneCodeAdded, { code, expiry: "3600" }],
    ["code.added with a negative expiry", UserEventType.phoneCodeAdded, { code, expiry: -1 }],
    ["code.added without the key id", UserEventType.phoneCodeAdded, { code: { ...code, KeyID: undefined }, expiry: 1 }],
    [
      "code.added with another algorithm",
      UserEventType.phoneCodeAdded,
      { code: { ...code, Algorithm: "des" }, expiry: 1 },
    ],
    ["code.added with neither code nor generatorId", UserEventType.phoneCodeAdded, { expiry: 1 }],
    [
      "code.added with both a code and a generatorId",
      UserEventType.phoneCodeAdded,
      { code, generatorId: "VA1", expiry: 1 },
    ],
    ["code.added with an empty generatorId", UserEventType.phoneCodeAdded, { generatorId: "", expiry: 1 }],
    ["code.added with a text code_returned", UserEventType.phoneCodeAdded, { code, expiry: 1, code_returned: "yes" }],
    ["code.sent without generatorInfo", UserEventType.phoneCodeSent, {}],
    ["code.sent with a numeric verificationId", UserEventType.phoneCodeSent, { generatorInfo: { verificationId: 7 } }],
    ["phone.verified with data", UserEventType.phoneVerified, { code: "ABC123" }],
    ["user.removed with data", UserEventType.userRemoved, {}],
  ])("refuses %s", (_label, type, data) => {
    expect(() => parseUserEvent(stored(type, data))).toThrow(
      `user u1, event 7 (${type}): data does not match the event type`,
    );
  });
});
