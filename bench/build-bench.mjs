// Bundles the TypeScript benchmark entry points into dist/bench/ (dependencies stay external).
import { build } from "esbuild";
import { readdirSync } from "node:fs";

/** Modules the entry points import; every other bench/*.ts is an entry point. */
const MODULES = ["loadgen.ts", "stats.ts", "harness.ts", "h2load.ts"];
const entries = readdirSync(new URL(".", import.meta.url)).filter((f) => f.endsWith(".ts") && !MODULES.includes(f));
await build({
  entryPoints: entries.map((f) => new URL(f, import.meta.url).pathname),
  outdir: new URL("../dist/bench", import.meta.url).pathname,
  bundle: true,
  platform: "node",
  target: "node20",
  format: "cjs",
  packages: "external",
  sourcemap: true,
  logLevel: "warning",
});
