// Lint: ESLint's and typescript-eslint's recommended rules, plus the project's layering rule for src/domain.
import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["dist/", "gen/", "third_party/", "node_modules/", "coverage/", "data/", "bench/results/"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: "readonly", console: "readonly", Buffer: "readonly", require: "readonly", module: "writable", __dirname: "readonly", URL: "readonly", setTimeout: "readonly", clearTimeout: "readonly", setInterval: "readonly", clearInterval: "readonly", queueMicrotask: "readonly" } },
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_", destructuredArrayIgnorePattern: "^_" }],
      "@typescript-eslint/no-require-imports": "off",
    },
  },
  {
    // Tests poke at JSON bodies whose shape is the very thing under test.
    files: ["test/**/*.ts"],
    rules: { "@typescript-eslint/no-explicit-any": "off" },
  },
  {
    // The domain is pure: no framework, no adapters, no I/O modules.
    files: ["src/domain/**/*.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          patterns: [
            { group: ["**/api/**", "**/eventstore/**", "**/server/**", "**/notify/**", "**/auth/**", "**/app/**"], message: "src/domain stays pure" },
            { group: ["@connectrpc/*", "better-sqlite3", "pino", "node:fs", "node:net", "node:http", "node:http2"], message: "src/domain does no I/O" },
          ],
        },
      ],
    },
  },
);
