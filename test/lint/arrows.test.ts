import { execFile } from "node:child_process";
import { join } from "node:path";

/**
 * DESIGN.md's arrows are lint rules (eslint.config.mjs): an import that points the wrong way fails `npm run lint`.
 * Each case below is a one-line file linted as if it sat at `file`, through ESLint's Node API with the project's
 * own configuration; wrong-way imports must be refused by no-restricted-imports, right-way ones must pass.
 */

const ROOT = join(__dirname, "..", "..");

/** [where the file sits, what it imports] */
type Case = readonly [file: string, source: string];

const WRONG_WAY: Case[] = [
  ["src/domain/phone.ts", "../api/wire-errors.js"],
  ["src/domain/phone.ts", "../eventstore/event-store.js"],
  ["src/domain/phone.ts", "node:fs"],
  ["src/config.ts", "./api/caller-context.js"],
  ["src/config.ts", "./transport/client-address.js"],
  ["src/logger.ts", "./config.js"],
  ["src/storage/file.ts", "../eventstore/event-store.js"],
  ["src/eventstore/store.ts", "../config.js"],
  ["src/eventstore/store.ts", "../abuse/send-guard.js"],
  ["src/eventstore/postgres/store.ts", "../../abuse/send-guard.js"],
  ["src/abuse/limiter.ts", "../eventstore/sqlite-write-batcher.js"],
  ["src/abuse/limiter.ts", "../config.js"],
  ["src/abuse/sqlite-send-limiter.ts", "../eventstore/postgres-event-store.js"],
  ["src/abuse/sqlite-send-limiter.ts", "../eventstore/sqlite-file.js"],
  ["src/auth/provisioner.ts", "../commands/user-commands.js"],
  ["src/auth/provisioner.ts", "../eventstore/event-store.js"],
  ["src/auth/provisioner.ts", "../config.js"],
  ["src/commands/commands.ts", "../eventstore/sqlite-event-store.js"],
  ["src/commands/commands.ts", "../eventstore/open-event-store.js"],
  ["src/commands/commands.ts", "../abuse/postgres-send-limiter.js"],
  ["src/commands/commands.ts", "../api/phone-service.js"],
  ["src/notify/notifier.ts", "../commands/user-commands.js"],
  ["src/notify/notifier.ts", "../api/phone-service.js"],
  ["src/notify/notifier.ts", "../server/metrics.js"],
  ["src/api/service.ts", "../server/metrics.js"],
  ["src/api/service.ts", "../transport/rpc-transport.js"],
  ["src/api/service.ts", "../eventstore/memory-event-store.js"],
  ["src/api/service.ts", "../config.js"],
  ["src/transport/rest.ts", "../server/rpc-telemetry.js"],
  ["src/transport/rest.ts", "../commands/user-commands.js"],
  ["src/transport/rest.ts", "@connectrpc/connect/protocol-grpc"],
  ["test/transport/x.test.ts", "@connectrpc/connect/protocol"],
];

const RIGHT_WAY: Case[] = [
  ["src/domain/phone.ts", "./errors.js"],
  ["src/config.ts", "./domain/phone-number.js"],
  ["src/eventstore/store.ts", "../domain/user-events.js"],
  ["src/eventstore/store.ts", "../storage/sqlite-file.js"],
  ["src/eventstore/postgres/store.ts", "../event-store.js"],
  ["src/abuse/limiter.ts", "../storage/write-batcher.js"],
  ["src/abuse/sqlite-send-limiter.ts", "../storage/sqlite-file.js"],
  ["src/auth/issuer.ts", "../storage/secret-files.js"],
  ["src/commands/commands.ts", "../eventstore/event-store.js"],
  ["src/commands/commands.ts", "../abuse/send-guard.js"],
  ["src/notify/notifier.ts", "../eventstore/event-store.js"],
  ["src/notify/notifier.ts", "../logger.js"],
  ["src/api/service.ts", "../commands/user-commands.js"],
  ["src/api/service.ts", "../auth/authenticator.js"],
  ["src/transport/rest.ts", "../api/wire-errors.js"],
  ["src/transport/rest.ts", "../../gen/google/api/annotations_pb.js"],
  ["src/transport/rest.ts", "@connectrpc/connect-node"],
  ["src/server/myphone-server.ts", "../eventstore/postgres-event-store.js"],
  ["src/server/myphone-server.ts", "../config.js"],
  ["src/cli.ts", "./server/myphone-server.js"],
];

/** Lints each case in a child process (ESLint loads its ESM config with import(), which jest's module system does not offer). */
async function restrictionsOf(cases: readonly Case[]): Promise<string[][]> {
  const script = `
    import { ESLint } from "eslint";
    const cases = JSON.parse(process.argv[1]);
    const eslint = new ESLint({ cwd: process.cwd() });
    const out = [];
    for (const [file, source] of cases) {
      const [result] = await eslint.lintText(\`import "\${source}";\\n\`, { filePath: file });
      out.push(result.messages.map((m) => \`\${m.ruleId ?? "fatal"}: \${m.message}\`));
    }
    process.stdout.write(JSON.stringify(out));
  `;
  const stdout = await new Promise<string>((resolve, reject) =>
    execFile(
      process.execPath,
      ["--input-type=module", "-e", script, JSON.stringify(cases)],
      { cwd: ROOT, timeout: 60_000 },
      (error, out, err) => (error ? reject(new Error(`${error.message}\n${err}`)) : resolve(out)),
    ),
  );
  return JSON.parse(stdout) as string[][];
}

test("wrong-way imports fail lint with the arrow they break", async () => {
  const results = await restrictionsOf(WRONG_WAY);
  const unrefused = WRONG_WAY.filter(
    (_, i) => !results[i]!.some((message) => message.startsWith("no-restricted-imports: ")),
  );
  expect(unrefused).toEqual([]);
  // The message names the rule's source, so whoever hits it knows where the arrows are written down.
  expect(results[0]).toEqual([
    "no-restricted-imports: '../api/wire-errors.js' import is restricted from being used by a pattern. src/domain imports nothing of ours (DESIGN.md, Arrows)",
  ]);
});

test("right-way imports pass", async () => {
  const results = await restrictionsOf(RIGHT_WAY);
  expect(RIGHT_WAY.map((c, i) => [...c, results[i]])).toEqual(RIGHT_WAY.map((c) => [...c, []]));
});

test("the arrows themselves form no cycle, so no cycle between folders can pass lint", async () => {
  const script = `import { ARROWS } from "./eslint.config.mjs"; process.stdout.write(JSON.stringify(ARROWS));`;
  const arrows = await new Promise<Record<string, string[]>>((resolve, reject) =>
    execFile(process.execPath, ["--input-type=module", "-e", script], { cwd: ROOT, timeout: 60_000 }, (error, out) =>
      error ? reject(error) : resolve(JSON.parse(out)),
    ),
  );
  const visiting = new Set<string>();
  const done = new Set<string>();
  const cycleFrom = (part: string, path: string[]): string[] | undefined => {
    if (visiting.has(part)) return [...path, part];
    if (done.has(part)) return undefined;
    visiting.add(part);
    for (const next of arrows[part] ?? []) {
      const cycle = cycleFrom(next, [...path, part]);
      if (cycle) return cycle;
    }
    visiting.delete(part);
    done.add(part);
    return undefined;
  };
  expect(
    Object.keys(arrows)
      .map((part) => cycleFrom(part, []))
      .filter(Boolean),
  ).toEqual([]);
  expect(Object.keys(arrows)).toEqual(
    expect.arrayContaining([
      "domain",
      "storage",
      "eventstore",
      "abuse",
      "commands",
      "auth",
      "notify",
      "api",
      "transport",
      "config",
    ]),
  );
});
