// Builds the self-service page into dist/web: web/app.ts bundled by esbuild (connect-web, the generated
// AuthService client and the error texts), plus the static index.html and style.css. Part of `npm run build`.
import { build } from "esbuild";
import { copyFileSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const out = join(root, "dist", "web");

mkdirSync(out, { recursive: true });
await build({
  entryPoints: [join(root, "web", "app.ts")],
  outfile: join(out, "app.js"),
  bundle: true,
  format: "iife",
  platform: "browser",
  target: ["es2020"],
  minify: true,
  legalComments: "eof",
  logLevel: "warning",
});
for (const file of ["index.html", "style.css"]) copyFileSync(join(root, "web", file), join(out, file));
