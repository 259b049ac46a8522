import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startCliServer } from "../support/cli-process.js";

/**
 * `myphone serve | head -1`, or a log collector that died: stdout's reader is gone, and the first line written
 * after that is the shutdown's. With sonic-boom 4, pino's exit flush retried that EPIPE forever and SIGTERM never
 * ended the process (package.json overrides sonic-boom to 5, which gives up).
 */
test("SIGTERM ends the server even when stdout's reader has gone away", async () => {
  const dataDir = mkdtempSync(join(tmpdir(), "myphone-log-gone-"));
  try {
    const server = await startCliServer({ MYPHONE_DATA_DIR: dataDir });
    server.child.stdout!.destroy();
    await new Promise((resolve) => setTimeout(resolve, 200));
    server.child.kill("SIGTERM");
    let timer: NodeJS.Timeout | undefined;
    const outcome = await Promise.race([
      server.exited,
      new Promise((resolve) => (timer = setTimeout(() => resolve("still running after 10 s"), 10_000))),
    ]);
    clearTimeout(timer);
    if (outcome === "still running after 10 s") server.child.kill("SIGKILL");
    expect(outcome).toBe(0);
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}, 30_000);
