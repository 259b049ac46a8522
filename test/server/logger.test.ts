import { createLogger, fixedFieldsLogger } from "../../src/logger.js";

/** Collects the lines a logger writes. */
function capture() {
  const lines: string[] = [];
  return { lines, destination: { write: (line: string) => void lines.push(line) } };
}

const accessFields = {
  requestId: "req-1",
  rpc: "zitadel.auth.v1.AuthService/SetMyPhone",
  protocol: "grpc",
  status: "ok",
  userId: "42",
  durationMs: 1.5,
};

test("the fixed-fields logger writes the access line exactly as the redacting logger does", () => {
  const { lines, destination } = capture();
  const logger = createLogger("info", destination);
  const access = fixedFieldsLogger(logger);
  logger.info(accessFields, "rpc");
  access.info(accessFields, "rpc");
  // Without the time: the two lines may fall into different milliseconds.
  const [redacting, fixed] = lines.map((line) => {
    const { time, ...rest } = JSON.parse(line) as Record<string, unknown>;
    expect(typeof time).toBe("string");
    return rest;
  });
  expect(fixed).toEqual(redacting);
  expect(fixed).toMatchObject({ ...accessFields, service: "myphone", msg: "rpc", level: 30 });
});

test("it follows the logger's level, and the logger itself still redacts secrets", () => {
  const { lines, destination } = capture();
  const logger = createLogger("warn", destination);
  fixedFieldsLogger(logger).info(accessFields, "rpc");
  expect(lines).toHaveLength(0);
  logger.warn({ authorization: "Bearer secret-token", code: "123456", nested: { token: "t0k" } }, "careless");
  expect(lines.join("")).not.toMatch(/secret-token|123456|t0k/);
  expect(JSON.parse(lines[0]!)).toMatchObject({
    authorization: "[redacted]",
    code: "[redacted]",
    nested: { token: "[redacted]" },
  });
});

test("lines carry an ISO time that moves with the clock", async () => {
  const { lines, destination } = capture();
  const logger = createLogger("info", destination);
  logger.info("first");
  await new Promise((resolve) => setTimeout(resolve, 5));
  logger.info("second");
  const [first, second] = lines.map((line) => (JSON.parse(line) as { time: string }).time);
  expect(first).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  expect(Date.parse(second!)).toBeGreaterThan(Date.parse(first!));
  expect(Math.abs(Date.parse(second!) - Date.now())).toBeLessThan(1000);
});
