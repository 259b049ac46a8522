import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { startTestServer, type TestServer } from "./support/test-server.js";

/** The README's grpc-js example, run as a user would run it, against a real server. */

const run = promisify(execFile);
const EXAMPLE = join(__dirname, "..", "examples", "grpc-js-set-my-phone.js");
let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server.stop());

test("examples/grpc-js-set-my-phone.js sets and reads the phone", async () => {
  const user = await server.addUser();
  const env = { ...process.env, MYPHONE_URL: new URL(server.url).host, MYPHONE_TOKEN: user.token };
  const { stdout } = await run(process.execPath, [EXAMPLE, "+41 79 765 43 21"], { env, timeout: 20_000 });
  const { set, get } = JSON.parse(stdout) as { set: any; get: any };
  expect(set.details).toMatchObject({
    sequence: "3",
    resourceOwner: user.orgId,
    changeDate: { seconds: expect.any(String) },
  });
  expect(set.details.creationDate).toBeUndefined();
  expect(get.phone.phone).toBe("+41797654321");
  expect(get.phone.isPhoneVerified ?? false).toBe(false);

  const again = await run(process.execPath, [EXAMPLE, "+41797654321"], { env, timeout: 20_000 }).catch(
    (error: { stderr: string }) => error,
  );
  expect(JSON.parse((again as { stderr: string }).stderr)).toEqual({
    code: 9,
    message: "Phone not changed (COMMAND-wF94r)",
  });
});
