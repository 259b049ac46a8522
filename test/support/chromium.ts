import { existsSync } from "node:fs";

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
