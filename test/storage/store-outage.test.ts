import { isStoreOutage, StoreOutageMonitor } from "../../src/storage/store-outage.js";

/** Which failures count as the database being down (not a bug), and how an outage is reported: once each way. */

const withCode = (code: string, message = "x") => Object.assign(new Error(message), { code });

describe("isStoreOutage", () => {
  it.each([
    ["PostgreSQL admin shutdown", withCode("57P01", "terminating connection due to administrator command")],
    ["PostgreSQL crash shutdown", withCode("57P02")],
    ["PostgreSQL starting up", withCode("57P03", "the database system is starting up")],
    ["a connection exception (class 08)", withCode("08006")],
    ["too many connections", withCode("53300")],
    ["a refused connection", withCode("ECONNREFUSED", "connect ECONNREFUSED 127.0.0.1:5432")],
    ["a reset connection", withCode("ECONNRESET")],
    ["node-postgres: terminated", new Error("Connection terminated unexpectedly")],
    ["node-postgres: pool timeout", new Error("timeout exceeded when trying to connect")],
    ["node-postgres: connect timeout", new Error("Connection terminated due to connection timeout")],
    ["SQLite busy past busy_timeout", withCode("SQLITE_BUSY", "database is locked")],
    ["SQLite I/O error", withCode("SQLITE_IOERR_WRITE")],
    ["SQLite disk full", withCode("SQLITE_FULL")],
    ["an error caused by one", new Error("cannot open", { cause: withCode("ECONNREFUSED") })],
    [
      "every address of a host refused",
      Object.assign(new AggregateError([withCode("ECONNREFUSED"), withCode("ECONNREFUSED")]), { code: "ECONNREFUSED" }),
    ],
  ])("%s is an outage", (_case, error) => {
    expect(isStoreOutage(error)).toBe(true);
  });

  it.each([
    ["a syntax error", withCode("42601")],
    ["a unique violation", withCode("23505")],
    ["a deadlock", withCode("40P01")],
    ["a corrupt SQLite file", withCode("SQLITE_CORRUPT")],
    ["SQLite constraint", withCode("SQLITE_CONSTRAINT_PRIMARYKEY")],
    ["a bug", new TypeError("cannot read properties of undefined")],
    ["no error at all", "ECONNREFUSED"],
  ])("%s is not", (_case, error) => {
    expect(isStoreOutage(error)).toBe(false);
  });
});

describe("StoreOutageMonitor", () => {
  it("reports the start once, probes until the store answers and calls stopped failing, then reports the end once", async () => {
    const events: string[] = [];
    let answers = false;
    const monitor = new StoreOutageMonitor({
      probe: async () => {
        if (!answers) throw withCode("ECONNREFUSED");
      },
      onStart: (reason) => events.push(`start ${reason}`),
      onEnd: () => events.push("end"),
      probeIntervalMs: 10,
      quietMs: 50,
    });
    expect(monitor.report(new TypeError("a bug"))).toBe(false);
    expect(monitor.report(withCode("ECONNREFUSED", "connect ECONNREFUSED"))).toBe(true);
    expect(monitor.report(withCode("57P03"))).toBe(true);
    expect(monitor.down).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(events).toEqual(["start ECONNREFUSED connect ECONNREFUSED"]);
    answers = true;
    for (let waited = 0; monitor.down; waited += 10) {
      if (waited > 2000) throw new Error("the outage did not end");
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(events).toEqual(["start ECONNREFUSED connect ECONNREFUSED", "end"]);
    monitor.report(withCode("SQLITE_BUSY", "database is locked"));
    expect(events.at(-1)).toBe("start SQLITE_BUSY database is locked");
    monitor.stop();
  });
});
