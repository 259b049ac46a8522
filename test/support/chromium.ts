import { existsSync } from "node:fs";
import { chromium, type Browser } from "playwright-core";

/**
 * The browser the browser tests drive: Debian's chromium (playwright-core downloads none), which `npm test`
 * installs when it is missing and runs as root (scripts/install-chromium.mjs), or the build MYPHONE_TEST_CHROMIUM names.
 */
export const CHROMIUM = process.env.MYPHONE_TEST_CHROMIUM?.trim() || "/usr/bin/chromium";

/**
 * `describe` when CHROMIUM exists; otherwise, outside CI, `describe.skip` after one line naming the command that
 * installs it. Under CI=true a missing browser is not skipped: the suite runs and fails, naming what is missing.
 */
export function describeWithChromium(): jest.Describe {
  if (existsSync(CHROMIUM) || process.env.CI === "true") return describe;
  // One plain line on stderr (console.warn would add jest's stack trace).
  process.stderr.write(
    `SKIPPING the browser tests: ${CHROMIUM} not found; install it with \`sudo apt-get install chromium\` ` +
      "(`npm test` does that itself when run as root)\n",
  );
  return describe.skip;
}

/** Starts headless CHROMIUM with flags that work in containers and keep it off the network. */
export function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM))
    throw new Error(`${CHROMIUM} is missing: apt-get install chromium (npm test does as root)`);
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
    timeout: 30_000,
  });
}
