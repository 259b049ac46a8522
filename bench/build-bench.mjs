// Bundles the TypeScript benchmark entry points into dist/bench/ (dependencies stay external).
import { build } from "esbuild";
import { readdirSync } from "node:fs";

const entries = readdirSync(new URL(".", import.meta.url)).filter((f) => f.endsWith(".ts") && !["loadgen.ts", "stats.ts"].includes(f)); // modules, not entry points
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
