// npm test's pretest: the browser tests drive Debian's chromium (playwright-core downloads no browser). When it is
// missing and this runs as root on Debian, install it (as CI runs); otherwise the browser tests skip, saying how to
// get it (test/support/chromium.ts). MYPHONE_TEST_CHROMIUM names another build, which is never installed here.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";

/** Where Debian's chromium package puts the browser (test/support/chromium.ts's default too). */
const DEBIAN_CHROMIUM = "/usr/bin/chromium";

const chosen = process.env.MYPHONE_TEST_CHROMIUM?.trim();
const canInstall =
  !chosen && !existsSync(DEBIAN_CHROMIUM) && process.getuid?.() === 0 && existsSync("/usr/bin/apt-get");
if (canInstall) {
  console.log(
    "npm test: installing Debian's chromium for the browser tests (apt-get install chromium, about a minute)",
  );
  // No stdin (CI), no questions (noninteractive); apt's output only when it fails. A failure is reported by the
  // browser tests too, which then skip (or fail under CI=true).
  const apt = (args) => {
    const result = spawnSync("apt-get", args, {
      stdio: ["ignore", "pipe", "pipe"],
      encoding: "utf8",
      maxBuffer: 64 * 1024 * 1024,
      env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
    });
    if (result.status === 0) return true;
    console.error(
      `npm test: apt-get ${args.join(" ")} failed (${result.error?.message ?? `exit status ${result.status}`}):`,
    );
    console.error(`${result.stdout ?? ""}${result.stderr ?? ""}`.trim().split("\n").slice(-20).join("\n"));
    return false;
  };
  if (apt(["update", "-qq"]) && apt(["install", "-y", "-qq", "--no-install-recommends", "chromium"])) {
    const version = spawnSync(DEBIAN_CHROMIUM, ["--version"], { encoding: "utf8" }).stdout?.trim();
    console.log(
      `npm test: ${version || `apt-get installed chromium, but ${DEBIAN_CHROMIUM} does not answer --version`}`,
    );
  }
}
