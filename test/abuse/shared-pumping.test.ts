import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DevTokenIssuer } from "../../src/auth/dev-token-issuer.js";
import { openEventStore } from "../../src/eventstore/open-event-store.js";
import { runCli, startCliServer, type CliServer } from "../support/cli-process.js";
import { describeWithPostgres, usePostgresDatabase } from "../support/postgres.js";
import { addUsersToStore } from "../support/store-users.js";
import { codeFromSms } from "../support/test-server.js";
import { restRefusal, setPhone, verify } from "./wire.js";

/**
 * SMS budgets and the conversion breaker hold across server processes (issue 21): two `myphone serve` processes
 * on one PostgreSQL database share every budget (racing requests never get more codes than a budget allows,
 * whichever process each reaches), a breaker one process trips refuses on the other, codes verified on one
 * process count for the other's judgement, and `myphone abuse status` / `myphone abuse reset` see and close
 * the breakers the servers tripped.
 */

const USERS = 60;

describeWithPostgres()("PostgreSQL", () => {
  const database = usePostgresDatabase("shared_pumping");

  describe("two myphone serve processes on one PostgreSQL database", () => {
    let dataDir: string;
    /** Two processes with budgets (breaker off), two with the breaker (budgets off), all on one database. */
    let budgeted: CliServer[] = [];
    let guarded: CliServer[] = [];
    let tokens: string[] = [];
    let budgetEnv: Record<string, string>;
    let breakerEnv: Record<string, string>;
    let nextUser = 0;
    /** A user nobody has used yet in this file. */
    const token = () => tokens[nextUser++]!;
    /** The log lines of the breaker processes with `msg`. */
    const lines = (msg: string) => guarded.flatMap((server) => server.lines).filter((line) => line.msg === msg);
    const judged = () => new Promise((resolve) => setTimeout(resolve, 1_100));
    /** The code of the SMS to `phone`, printed by whichever process's SMS worker sent it (they share the outbox). */
    const codeSentTo = async (phone: string): Promise<string> => {
      for (
        const deadline = Date.now() + 15_000;
        Date.now() < deadline;
        await new Promise((resolve) => setTimeout(resolve, 50))
      ) {
        for (const line of [...budgeted, ...guarded].flatMap((server) => server.lines)) {
          const sms = line.sms as { to?: string; text?: string } | undefined;
          if (sms?.to === phone && sms.text) return codeFromSms(sms.text);
        }
      }
      throw new Error(`no SMS to ${phone}`);
    };

    beforeAll(async () => {
      dataDir = mkdtempSync(join(tmpdir(), "myphone-shared-pumping-"));
      const store = await openEventStore({ MYPHONE_STORE: "postgres", dataDir, MYPHONE_DATABASE_URL: database.url });
      const userIds = Array.from({ length: USERS }, (_, i) => `41000000000000${String(i).padStart(4, "0")}`);
      await addUsersToStore(store, userIds, "org-pumping", { dataDir });
      await store.close();
      const issuer = await DevTokenIssuer.open(dataDir);
      tokens = await Promise.all(userIds.map((userId) => issuer.mint(userId, 600)));
      const common = {
        MYPHONE_STORE: "postgres",
        MYPHONE_DATABASE_URL: database.url,
        MYPHONE_DATA_DIR: dataDir,
        MYPHONE_SMS_PROVIDER: "console",
        MYPHONE_ABUSE_LIMITS: "on",
        MYPHONE_RESEND_COOLDOWN: "0",
        MYPHONE_ADMIN_PORT: "0",
      };
      budgetEnv = {
        ...common,
        MYPHONE_SMS_BUDGET: "10/1h",
        MYPHONE_SMS_BUDGET_PER_COUNTRY: "4/1h",
        MYPHONE_SMS_BUDGET_PER_PREFIX: "2/1h",
        MYPHONE_SMS_BREAKER_MIN_CONVERSION: "0",
      };
      breakerEnv = {
        ...common,
        MYPHONE_SMS_BUDGET: "off",
        MYPHONE_SMS_BUDGET_PER_COUNTRY: "off",
        MYPHONE_SMS_BUDGET_PER_PREFIX: "off",
        // Judged in one-second slices, without a grace: a slice of codes is judged once it is over.
        MYPHONE_SMS_BREAKER_WINDOW: "1m",
        MYPHONE_SMS_BREAKER_GRACE: "0",
        MYPHONE_SMS_BREAKER_MIN_SENDS: "3",
        MYPHONE_SMS_BREAKER_MIN_CONVERSION: "0.5",
        MYPHONE_SMS_BREAKER_COOLOFF: "1h",
      };
      [budgeted, guarded] = await Promise.all([
        Promise.all([startCliServer(budgetEnv), startCliServer(budgetEnv)]),
        Promise.all([startCliServer(breakerEnv), startCliServer(breakerEnv)]),
      ]);
    }, 60_000);

    afterAll(async () => {
      const all = [...budgeted, ...guarded];
      for (const server of all) server.child.kill("SIGTERM");
      await Promise.all(all.map((server) => server.exited));
      rmSync(dataDir, { recursive: true, force: true });
    });

    describe("budgets", () => {
      const url = (i: number) => budgeted[i % 2]!.url;

      test("a range's budget: three users racing for one range of 1,000 numbers on both processes, two get a code", async () => {
        const answers = await Promise.all([1, 2, 3].map((i) => setPhone(url(i), token(), `+3361234000${i}`)));
        expect(answers.map((answer) => answer.status).sort()).toEqual([200, 200, 429]);
        expect(restRefusal(answers.find((answer) => answer.status === 429)!).id).toBe("MYPHONE-SnPfx");
      });

      test("a country's budget: seven users racing for German numbers in seven ranges on both processes, four get a code", async () => {
        const answers = await Promise.all(
          Array.from({ length: 7 }, (_, i) => setPhone(url(i), token(), `+4917612${i}00000`)),
        );
        expect(answers.map((answer) => answer.status).sort()).toEqual([200, 200, 200, 200, 429, 429, 429]);
        for (const answer of answers.filter((a) => a.status === 429))
          expect(restRefusal(answer).id).toBe("MYPHONE-SnCtr");
      });

      test("the deployment's budget counts the sends of both processes", async () => {
        // 6 codes so far; four more fit, spread over countries and ranges so no other budget refuses.
        for (const [i, phone] of ["+447400123001", "+34612345001", "+31612345001", "+46701234001"].entries()) {
          expect((await setPhone(url(i), token(), phone)).status).toBe(200);
        }
        for (const i of [0, 1]) {
          const answer = await setPhone(url(i), token(), `+4520123${i}00`);
          expect({ status: answer.status, id: restRefusal(answer).id }).toEqual({ status: 429, id: "MYPHONE-SnGlb" });
        }
        const status = JSON.parse(await runCli(["abuse", "status", "--json"], budgetEnv)) as { budgets: unknown[] };
        expect(status.budgets).toEqual([
          { kind: "global", max: 10, windowMs: 3_600_000, used: 10, scope: "global" },
          { kind: "country", max: 4, windowMs: 3_600_000, used: 4, scope: "country:DE" },
          { kind: "prefix", max: 2, windowMs: 3_600_000, used: 2, scope: "prefix:+33612340" },
        ]);
      });
    });

    describe("conversion breaker", () => {
      const url = (i: number) => guarded[i % 2]!.url;

      test("a breaker one process trips refuses on the other; the trip is logged once", async () => {
        for (let i = 0; i < 3; i++) expect((await setPhone(url(i), token(), `+4366412340${i}0`)).status).toBe(200);
        await judged();
        const first = await setPhone(url(0), token(), "+436641234050");
        const second = await setPhone(url(1), token(), "+436641234060");
        expect([first, second].map((answer) => [answer.status, restRefusal(answer).id])).toEqual([
          [429, "MYPHONE-SnBrk"],
          [429, "MYPHONE-SnBrk"],
        ]);
        expect(Number(second.retryAfter)).toBeGreaterThan(3500);
        const trips = lines("sms breaker tripped: too few codes verified").map((line) => line.scope);
        expect(trips.sort()).toEqual(["country:AT", "prefix:+436641234"]);
        // Both processes read the breakers from the database.
        for (const server of guarded) {
          const { adminPort } = server.lines.find((line) => line.msg === "myphone listening")!;
          const metrics = await (await fetch(`http://127.0.0.1:${String(adminPort)}/metrics`)).text();
          expect(metrics).toMatch(/^myphone_sms_breakers\{kind="country",phase="open"\} 1$/m);
          expect(metrics).toMatch(/^myphone_sms_breakers\{kind="prefix",phase="open"\} 1$/m);
        }
      });

      test("codes verified on one process count for the breaker on the other", async () => {
        const users = [token(), token(), token()];
        const phones = ["+393471230010", "+393471230020", "+393471230030"];
        for (const [i, user] of users.entries()) expect((await setPhone(url(0), user, phones[i]!)).status).toBe(200);
        for (const i of [0, 1])
          expect((await verify(url(1), users[i]!, await codeSentTo(phones[i]!))).status).toBe(200);
        await judged();
        // Two of three verified: at the 50% minimum, so Italy and its range stay closed.
        expect((await setPhone(url(1), token(), "+393471230040")).status).toBe(200);
      });

      test("myphone abuse status shows the breakers the servers tripped and the busiest ranges; reset closes them", async () => {
        await judged();
        const status = JSON.parse(await runCli(["abuse", "status", "--json"], breakerEnv)) as {
          budgets: unknown[];
          breakers: { scope: string; phase: string }[];
          topPrefixes: unknown[];
        };
        expect(status.budgets).toEqual([]);
        expect(status.breakers.map((breaker) => [breaker.scope, breaker.phase])).toEqual([
          ["country:AT", "open"],
          ["prefix:+436641234", "open"],
        ]);
        expect(status.topPrefixes).toEqual([
          { scope: "prefix:+393471230", sends: 4, judgedSends: 4, verified: 2, conversion: 0.5 },
          { scope: "prefix:+436641234", sends: 3, judgedSends: 3, verified: 0, conversion: 0 },
        ]);

        const text = await runCli(["abuse", "status", "--top", "1"], breakerEnv);
        expect(text).toMatch(/^ {2}country:AT +open until \d{4}-/m);
        expect(text).toMatch(/^ {2}prefix:\+393471230 +sent +4 +judged +4 +verified +2 +conversion +50\.0%$/m);
        expect(text).not.toMatch(/prefix:\+436641234 +sent/);

        expect(JSON.parse(await runCli(["abuse", "reset", "--scope", "country:at"], breakerEnv))).toEqual({
          closed: ["country:AT"],
        });
        expect(JSON.parse(await runCli(["abuse", "reset", "--scope", "prefix:+43 664 1234"], breakerEnv))).toEqual({
          closed: ["prefix:+436641234"],
        });
        await expect(runCli(["abuse", "reset", "--scope", "country:AT"], breakerEnv)).rejects.toMatchObject({
          code: 1,
          stderr: expect.stringContaining("no breaker is open for country:AT"),
        });
        await expect(runCli(["abuse", "reset", "--scope", "planet:earth"], breakerEnv)).rejects.toMatchObject({
          code: 1,
          stderr: expect.stringContaining("expected country:"),
        });
        // Closed for both processes, and the codes from before the reset are not judged again.
        expect((await setPhone(url(1), token(), "+436641234070")).status).toBe(200);
        expect((await setPhone(url(0), token(), "+436641234080")).status).toBe(200);
        expect(JSON.parse(await runCli(["abuse", "status", "--json"], breakerEnv)).breakers).toEqual([]);
      });
    });
  });
});
