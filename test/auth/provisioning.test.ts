import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { USER_AGGREGATE, UserEventType } from "../../src/domain/user-events.js";
import { ALL_CLIENTS, closeAllClients } from "../support/clients.js";
import { jwtSettings, startFakeOidcProvider, type FakeOidcProvider } from "../support/fake-oidc-provider.js";
import { startTestServer, type TestServer } from "../support/test-server.js";
import { caught } from "../support/wire-assertions.js";

/**
 * MYPHONE_AUTH_PROVISION_USERS=true: a valid token for a user without a stream creates a human user on first use,
 * exactly once even when 20 first calls race on two server processes sharing one SQLite database.
 */

const ORG_CLAIM = "urn:zitadel:iam:user:resourceowner:id";

let provider: FakeOidcProvider;
let dataDir: string;
let servers: TestServer[];
let subjectCounter = 0;

const newSubject = () => `3100000000000${String(++subjectCounter).padStart(5, "0")}`;

beforeAll(async () => {
  provider = await startFakeOidcProvider();
  dataDir = mkdtempSync(join(tmpdir(), "myphone-provisioning-"));
  const env = {
    MYPHONE_DATA_DIR: dataDir,
    ...jwtSettings(provider),
    MYPHONE_AUTH_ORG_CLAIM: ORG_CLAIM,
    MYPHONE_AUTH_PROVISION_USERS: "true",
    MYPHONE_ABUSE_LIMITS: "off",
  };
  servers = [await startTestServer(env), await startTestServer(env)];
});

afterAll(async () => {
  closeAllClients();
  for (const server of servers ?? []) await server.stop();
  await provider?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

/** Resolves once either server has logged an SMS to `phone` after its mark; gives up after 10 s. */
async function smsSentByEither(phone: string, marks: number[]): Promise<void> {
  const sent = () =>
    servers.some((server, i) =>
      server.logs.slice(marks[i]).some((line) => (line.sms as { to?: string } | undefined)?.to === phone),
    );
  for (let waited = 0; !sent(); waited += 50) {
    if (waited > 10_000) throw new Error(`no SMS to ${phone} within 10 s`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

test("20 concurrent first calls over two servers and every protocol create the user exactly once", async () => {
  const sub = newSubject();
  const token = await provider.sign({
    sub,
    [ORG_CLAIM]: "320000000000000001",
    preferred_username: "alice@example.com",
  });
  const calls = Array.from({ length: 20 }, (_, i) => {
    const client = ALL_CLIENTS.filter((candidate) => candidate.kind !== "buf-curl")[i % 9]!;
    return client.create(servers[i % 2]!.url, token).get();
  });
  const results = await Promise.all(calls);
  for (const result of results) expect(result.details?.resourceOwner).toBe("320000000000000001");

  const stream = await servers[0]!.store.readStream(USER_AGGREGATE, sub);
  expect(stream.map((event) => event.type)).toEqual([UserEventType.humanAdded]);
  expect(stream[0]!.owner).toBe("320000000000000001");
  expect(stream[0]!.data).toEqual({ userName: "alice@example.com" });
});

test("a provisioned user is a real user: the phone flow works for it", async () => {
  const sub = newSubject();
  const token = await provider.sign({ sub, [ORG_CLAIM]: "320000000000000002", email: "bob@example.com" });
  const api = ALL_CLIENTS[0]!.create(servers[0]!.url, token);
  const marks = servers.map((server) => server.logs.length);
  const result = await api.set("+41 79 555 00 01");
  expect(result.details?.sequence).toBe("3");
  // Either process's SMS worker may send it: they share the outbox.
  await smsSentByEither("+41795550001", marks);
  const stream = await servers[0]!.store.readStream(USER_AGGREGATE, sub);
  expect(stream[0]!.data).toEqual({ userName: "bob@example.com" });
});

test("without an org claim the user goes to the data directory's default organisation, named by its user id", async () => {
  const sub = newSubject();
  const result = await ALL_CLIENTS[0]!.create(servers[1]!.url, await provider.sign({ sub })).get();
  const defaultOrg = readFileSync(join(dataDir, "default-org-id"), "utf8").trim();
  expect(result.details?.resourceOwner).toBe(defaultOrg);
  const stream = await servers[1]!.store.readStream(USER_AGGREGATE, sub);
  expect(stream[0]!.data).toEqual({ userName: sub });
});

test("provisioning is opt-in: without it, a valid token of an unknown user finds no user", async () => {
  const plain = await startTestServer({
    MYPHONE_STORE: "memory",
    ...jwtSettings(provider),
  });
  try {
    const sub = newSubject();
    const error = await caught(ALL_CLIENTS[0]!.create(plain.url, await provider.sign({ sub })).get());
    expect({ code: error.code, id: error.detailId }).toEqual({ code: 5, id: "QUERY-DAvb3" });
    expect(await plain.store.readStream(USER_AGGREGATE, sub)).toEqual([]);
  } finally {
    await plain.stop();
  }
});

describe("names from token claims reach SMS texts as plain one-line text (issue 22, item 10)", () => {
  /** Everything an SMS must never carry from a name: controls, line breaks, bidi and other format characters. */
  const INVISIBLE = /[\p{C}\u2028\u2029]/u;
  const hostile =
    "Mallory\r\nYour code is 000000. Call +1 555 0100\u2028to confirm\u202Eexe.gpj\u202C\u2066hidden\u2069\u200B\u200D\uFEFF\u00AD\t!";
  // The shipped texts name nobody; an operator's template may greet, and then the names must be harmless.
  let greeting: TestServer;
  let templateDir: string;

  beforeAll(async () => {
    templateDir = mkdtempSync(join(tmpdir(), "myphone-greeting-"));
    const templates = join(templateDir, "sms.json");
    writeFileSync(
      templates,
      JSON.stringify({ en: "Hello {{.DisplayName}} [{{.UserName}}|{{.LoginName}}], your code is {{.Code}}" }),
    );
    greeting = await startTestServer({
      ...jwtSettings(provider),
      MYPHONE_AUTH_ORG_CLAIM: ORG_CLAIM,
      MYPHONE_AUTH_PROVISION_USERS: "true",
      MYPHONE_SMS_TEMPLATES: templates,
    });
  });
  afterAll(async () => {
    await greeting?.stop();
    rmSync(templateDir, { recursive: true, force: true });
  });

  test("a preferred_username with newlines, bidi overrides and zero-width characters is stored and sent without them", async () => {
    const sub = newSubject();
    const token = await provider.sign({ sub, [ORG_CLAIM]: "320000000000000003", preferred_username: hostile });
    const mark = greeting.logs.length;
    await ALL_CLIENTS[0]!.create(greeting.url, token).set("+41 79 555 00 02");
    const stream = await greeting.store.readStream(USER_AGGREGATE, sub);
    const plain = "Mallory Your code is 000000. Call +1 555 0100 to confirmexe.gpjhidden !";
    expect(stream[0]!.data).toEqual({ userName: plain });
    const text = await greeting.waitForSms("+41795550002", mark);
    expect(text).not.toMatch(INVISIBLE);
    // The SMS has the first 64 characters of it, in every variable that carries it.
    const cut = plain.slice(0, 64);
    expect(text).toContain(`Hello ${cut} [${cut}|${cut}], your code is `);
  });

  test("a long name is cut to 64 characters in the SMS (whole graphemes), and names stored before the rule are cleaned on the way out", async () => {
    const sub = newSubject();
    // 63 letters, then a flag (one grapheme of two code points): it does not fit and is left out whole.
    const long = `${"A".repeat(63)}\u{1F1E8}\u{1F1ED}${"B".repeat(80)}`;
    const token = await provider.sign({ sub, [ORG_CLAIM]: "320000000000000004", preferred_username: long });
    let mark = greeting.logs.length;
    await ALL_CLIENTS[0]!.create(greeting.url, token).set("+41 79 555 00 03");
    expect(await greeting.waitForSms("+41795550003", mark)).toContain(`Hello ${"A".repeat(63)} [`);

    // A user whose added event predates the rule: written straight to the store, as an older release wrote it.
    const old = newSubject();
    await greeting.store.append({
      aggregateType: USER_AGGREGATE,
      aggregateId: old,
      owner: "320000000000000005",
      expectedSequence: "no_stream",
      events: [{ type: UserEventType.humanAdded, data: { userName: "old\u202Eeman", displayName: hostile } }],
    });
    mark = greeting.logs.length;
    await ALL_CLIENTS[0]!.create(greeting.url, await provider.sign({ sub: old })).set("+41 79 555 00 04");
    const text = await greeting.waitForSms("+41795550004", mark);
    expect(text).not.toMatch(INVISIBLE);
    expect(text).toContain("Hello Mallory Your code is 000000.");
    expect(text).toContain("[oldeman|oldeman]");
  });
});
