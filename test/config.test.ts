import { readFileSync } from "node:fs";
import { join } from "node:path";
import { CONFIG_VARIABLES, ConfigError, configTableMarkdown, loadConfig } from "../src/config.js";

test("the README's configuration table is the one generated from the schema (npm run docs:config)", () => {
  const readme = readFileSync(join(__dirname, "..", "README.md"), "utf8");
  expect(readme).toContain(configTableMarkdown());
  for (const { name } of CONFIG_VARIABLES) expect(readme).toContain(`\`${name}\``);
});

test("defaults are the embedded setup: loopback, SQLite in ./data, dev auth, console SMS, port 8080, region CH", () => {
  const config = loadConfig({});
  expect(config).toMatchObject({
    MYPHONE_HOST: "127.0.0.1",
    MYPHONE_ALLOW_DEV: false,
    MYPHONE_PORT: 8080,
    MYPHONE_STORE: "sqlite",
    MYPHONE_AUTH_MODE: "dev",
    MYPHONE_SMS_PROVIDER: "console",
    MYPHONE_DEFAULT_REGION: "CH",
    MYPHONE_PHONE_CHECK: "possible",
    MYPHONE_CODE_LENGTH: 6,
    MYPHONE_CODE_TTL: 3_600_000,
    MYPHONE_CODE_MAX_ATTEMPTS: 5,
  });
  expect(config.dataDir).toBe(join(process.cwd(), "data"));
});

test("connection and stream limits default to 100 streams a connection, 128 connections an address, 4096 in all; no admin port", () => {
  const config = loadConfig({});
  expect(config.MYPHONE_ADMIN_PORT).toBeUndefined();
  expect(config).toMatchObject({
    MYPHONE_HTTP2_MAX_STREAMS: 100,
    MYPHONE_HTTP2_CLOSE_GRACE: 10_000,
    MYPHONE_IDLE_TIMEOUT: 60_000,
    MYPHONE_MAX_CONNECTIONS: 4096,
    MYPHONE_MAX_CONNECTIONS_PER_IP: 128,
    MYPHONE_HEALTH_WATCH_PER_CONNECTION: 4,
    MYPHONE_HEALTH_WATCH_MAX: 1000,
    MYPHONE_ADMIN_HOST: "127.0.0.1",
    MYPHONE_METRICS_CACHE: 1000,
  });
});

test("values are parsed: durations, booleans, regions in any case; empty means default", () => {
  const config = loadConfig({
    MYPHONE_CODE_TTL: "90s",
    MYPHONE_PHONE_MOBILE_ONLY: "yes",
    MYPHONE_DEFAULT_REGION: "de",
    MYPHONE_PORT: "",
  });
  expect(config.MYPHONE_CODE_TTL).toBe(90_000);
  expect(config.MYPHONE_PHONE_MOBILE_ONLY).toBe(true);
  expect(config.MYPHONE_DEFAULT_REGION).toBe("DE");
  expect(config.MYPHONE_PORT).toBe(8080);
  expect(loadConfig({ MYPHONE_SHUTDOWN_TIMEOUT: "1.5m" }).MYPHONE_SHUTDOWN_TIMEOUT).toBe(90_000);
});

test.each([
  ["MYPHONE_PORT", "80000"],
  ["MYPHONE_PORT", "http"],
  ["MYPHONE_STORE", "mysql"],
  ["MYPHONE_CODE_TTL", "forever"],
  ["MYPHONE_DEFAULT_REGION", "XX"],
  ["MYPHONE_PHONE_CHECK", "strict"],
  ["MYPHONE_CODE_LENGTH", "3"],
  ["MYPHONE_PHONE_MOBILE_ONLY", "maybe"],
  ["MYPHONE_HTTP2_MAX_STREAMS", "0"],
  ["MYPHONE_MAX_CONNECTIONS_PER_IP", "0"],
  ["MYPHONE_ADMIN_PORT", "metrics"],
  ["MYPHONE_ALLOW_DEV", "please"],
  ["MYPHONE_AUTH_DEV_TOKEN_TTL", "36500d"],
  ["MYPHONE_CODE_KEYS", "k1:c2hvcnQ="],
  ["MYPHONE_CODE_KEYS", `k1:${Buffer.alloc(32).toString("base64")},k2`],
  ["MYPHONE_TRUSTED_PROXIES", "10.0.0.0/33"],
])("%s=%s stops start-up with a message naming the variable", (name, value) => {
  expect(() => loadConfig({ [name]: value })).toThrow(ConfigError);
  expect(() => loadConfig({ [name]: value })).toThrow(new RegExp(`${name}:`));
});

test("a headers timeout longer than the request timeout stops start-up; equal is fine", () => {
  expect(() => loadConfig({ MYPHONE_HEADERS_TIMEOUT: "60s" })).toThrow(
    /MYPHONE_HEADERS_TIMEOUT: must not exceed MYPHONE_REQUEST_TIMEOUT \(30000 ms\)/,
  );
  expect(() => loadConfig({ MYPHONE_HEADERS_TIMEOUT: "20s", MYPHONE_REQUEST_TIMEOUT: "10s" })).toThrow(ConfigError);
  const equal = loadConfig({ MYPHONE_HEADERS_TIMEOUT: "45s", MYPHONE_REQUEST_TIMEOUT: "45s" });
  expect([equal.MYPHONE_HEADERS_TIMEOUT, equal.MYPHONE_REQUEST_TIMEOUT]).toEqual([45_000, 45_000]);
});

test("every bad variable is named at once", () => {
  expect(() => loadConfig({ MYPHONE_PORT: "x", MYPHONE_STORE: "y" })).toThrow(/MYPHONE_PORT:[\s\S]*MYPHONE_STORE:/);
});

test("well-formed code keys and trusted proxies are accepted", () => {
  const key = Buffer.alloc(32, 7).toString("base64");
  const config = loadConfig({
    MYPHONE_CODE_KEYS: `new:${key}, old:${key}`,
    MYPHONE_TRUSTED_PROXIES: "10.0.0.0/8, ::1",
  });
  expect(config.MYPHONE_CODE_KEYS).toBe(`new:${key}, old:${key}`);
  expect(config.MYPHONE_TRUSTED_PROXIES).toEqual(["10.0.0.0/8", "::1"]);
});
