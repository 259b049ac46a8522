// Lint: ESLint's and typescript-eslint's recommended rules, plus DESIGN.md's arrows between the parts of src.
import js from "@eslint/js";
import tseslint from "typescript-eslint";

/**
 * DESIGN.md's arrow table: what each part of src may import from src. A part imports itself freely; every part
 * not listed is refused, so a wrong-way arrow (and with it any cycle between parts) fails `npm run lint`.
 * `server/` and `cli.ts` are the composition root: they may import anything, and only they read config.ts.
 */
export const ARROWS = {
  domain: [],
  config: ["domain"],
  logger: [],
  storage: ["domain"],
  eventstore: ["domain", "storage"],
  abuse: ["domain", "storage", "logger"],
  commands: ["domain", "eventstore", "abuse", "storage"],
  auth: ["domain", "storage", "logger"],
  notify: ["domain", "eventstore", "logger"],
  api: ["domain", "commands", "auth"],
  transport: ["api"],
};

/** Parts that may use another part's ports only: its adapters (memory, SQLite, PostgreSQL) and the factories opening them stay out. */
const PORTS_ONLY = { commands: ["eventstore", "abuse"], notify: ["eventstore"] };

const FOLDERS = [
  "domain",
  "storage",
  "eventstore",
  "abuse",
  "commands",
  "auth",
  "notify",
  "api",
  "transport",
  "server",
];
const FILES = ["config", "logger", "cli"];

/** connect marks these private and outside semver; the transport uses connect's public API only. */
const PRIVATE_CONNECT_API = {
  group: ["@connectrpc/connect/protocol", "@connectrpc/connect/protocol-*"],
  message: "connect's private API: use the exports of @connectrpc/connect and @connectrpc/connect-node",
};

/** The domain is pure: no framework, no I/O modules. */
const DOMAIN_PACKAGES = {
  group: ["@connectrpc/*", "better-sqlite3", "pg", "pino", "node:fs", "node:net", "node:http", "node:http2"],
  message: "src/domain does no I/O",
};

const escape = (text) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** A relative import of `part` from anywhere in src. */
function importOf(part) {
  const tail = FILES.includes(part) ? "(\\.js)?$" : "(/|$)";
  return `^(\\./|(\\.\\./)+)${escape(part)}${tail}`;
}

/** The no-restricted-imports patterns of one part. */
function patternsOf(part) {
  const may = ARROWS[part];
  const rule =
    may.length > 0 ? `src/${part} may import only ${may.join(", ")} of ours` : `src/${part} imports nothing of ours`;
  const message = `${rule} (DESIGN.md, Arrows)`;
  const patterns = [...FOLDERS, ...FILES]
    .filter((other) => other !== part && !may.includes(other))
    .map((other) => ({ regex: importOf(other), message }));
  for (const folder of PORTS_ONLY[part] ?? []) {
    patterns.push({
      regex: `^(\\./|(\\.\\./)+)${folder}/.*(memory|sqlite|postgres|open-)`,
      message: `src/${part} may import the ports of src/${folder}, not its adapters (DESIGN.md, Arrows)`,
    });
  }
  patterns.push(PRIVATE_CONNECT_API);
  if (part === "domain") patterns.push(DOMAIN_PACKAGES);
  return patterns;
}

const restrictImports = (patterns) => ({ "no-restricted-imports": ["error", { patterns }] });

export default tseslint.config(
  { ignores: ["dist/", "gen/", "third_party/", "node_modules/", "coverage/", "data/", "bench/results/"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: {
        process: "readonly",
        console: "readonly",
        Buffer: "readonly",
        require: "readonly",
        module: "writable",
        __dirname: "readonly",
        URL: "readonly",
        setTimeout: "readonly",
        clearTimeout: "readonly",
        setInterval: "readonly",
        clearInterval: "readonly",
        queueMicrotask: "readonly",
      },
    },
    rules: {
      "@typescript-eslint/no-unused-vars": [
        "error",
        { argsIgnorePattern: "^_", varsIgnorePattern: "^_", destructuredArrayIgnorePattern: "^_" },
      ],
      "@typescript-eslint/no-require-imports": "off",
      ...restrictImports([PRIVATE_CONNECT_API]),
    },
  },
  {
    // Tests poke at JSON bodies whose shape is the very thing under test.
    files: ["test/**/*.ts"],
    rules: { "@typescript-eslint/no-explicit-any": "off" },
  },
  ...Object.keys(ARROWS).map((part) => ({
    files: FOLDERS.includes(part) ? [`src/${part}/**/*.ts`] : [`src/${part}.ts`],
    rules: restrictImports(patternsOf(part)),
  })),
);
