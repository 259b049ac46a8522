// Copies the few Google API protos we import from the maintained `google-proto-files` npm package into
// third_party/ (git-ignored), so `buf lint` and `buf generate` see them without network access.
import { cpSync, mkdirSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";

const require = createRequire(import.meta.url);
const source = dirname(require.resolve("google-proto-files/package.json"));
const target = join(dirname(new URL(import.meta.url).pathname), "..", "third_party");
const files = [
  "google/api/annotations.proto",
  "google/api/http.proto",
  "google/rpc/status.proto",
  "google/rpc/error_details.proto",
];

rmSync(target, { recursive: true, force: true });
for (const file of files) {
  mkdirSync(dirname(join(target, file)), { recursive: true });
  cpSync(join(source, file), join(target, file));
}
