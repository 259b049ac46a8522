import { randomInt } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { writeSecretFileOnce } from "../storage/secret-files.js";

/** A numeric id in ZITADEL's style (18 digits, time-ordered prefix), e.g. "312345678901234567". */
export function newId(now = Date.now()): string {
  return `${now}${String(randomInt(0, 100_000)).padStart(5, "0")}`.padStart(18, "1");
}

/** The organisation `users add` uses when no --org is given: created once per data directory. */
export function defaultOrgId(dataDir: string): string {
  const file = join(dataDir, "default-org-id");
  writeSecretFileOnce(file, newId());
  return readFileSync(file, "utf8").trim();
}
