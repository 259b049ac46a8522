import { abuseLimitsOf } from "../../src/abuse/open-send-limiter.js";
import { ConfigError, loadConfig } from "../../src/config.js";

/** The abuse settings as an operator writes them, and what MYPHONE_ABUSE_LIMITS=off leaves of them. */

const HOUR = 3_600_000;

test("defaults: 60 s cooldown, 10/h and 20/day per user, 5/h and 10/day per number, 60/h and 500/day per address", () => {
  const limits = abuseLimitsOf(loadConfig({}));
  expect(limits.enabled).toBe(true);
  expect(limits.sendPolicy).toEqual({
    resendCooldownMs: 60_000,
    perUser: [
      { max: 10, windowMs: HOUR },
      { max: 20, windowMs: 24 * HOUR },
    ],
    deniedRegions: new Set(),
  });
  expect(limits.sharedCaps).toEqual({
    perNumber: [
      { max: 5, windowMs: HOUR },
      { max: 10, windowMs: 24 * HOUR },
    ],
    perAddress: [
      { max: 60, windowMs: HOUR },
      { max: 500, windowMs: 24 * HOUR },
    ],
  });
});

test("caps are count/window lists (a bare unit is one of it), or off; country lists are upper-cased regions", () => {
  const config = loadConfig({
    MYPHONE_SENDS_PER_USER: "3/10m, 5/h",
    MYPHONE_SENDS_PER_NUMBER: "off",
    MYPHONE_SENDS_PER_IP: "1000/1.5d",
    MYPHONE_RESEND_COOLDOWN: "0",
    MYPHONE_PHONE_COUNTRIES_ALLOW: "ch, de,001",
    MYPHONE_PHONE_COUNTRIES_DENY: "ru",
    MYPHONE_TRUSTED_PROXIES: "10.0.0.0/8, ::1",
  });
  const limits = abuseLimitsOf(config);
  expect(limits.sendPolicy).toEqual({
    resendCooldownMs: 0,
    perUser: [
      { max: 3, windowMs: 600_000 },
      { max: 5, windowMs: HOUR },
    ],
    allowedRegions: new Set(["CH", "DE", "001"]),
    deniedRegions: new Set(["RU"]),
  });
  expect(limits.sharedCaps).toEqual({ perNumber: [], perAddress: [{ max: 1000, windowMs: 36 * HOUR }] });
  expect(config.MYPHONE_TRUSTED_PROXIES).toEqual(["10.0.0.0/8", "::1"]);
});

test.each([
  ["MYPHONE_SENDS_PER_USER", "5"],
  ["MYPHONE_SENDS_PER_USER", "0/1h"],
  ["MYPHONE_SENDS_PER_NUMBER", "1001/1h"],
  ["MYPHONE_SENDS_PER_IP", "5/1w"],
  ["MYPHONE_RESEND_COOLDOWN", "soon"],
  ["MYPHONE_PHONE_COUNTRIES_DENY", "XX"],
  ["MYPHONE_PHONE_COUNTRIES_ALLOW", "CH,Switzerland"],
  ["MYPHONE_TRUSTED_PROXIES", "proxy.internal"],
  ["MYPHONE_TRUSTED_PROXIES", "10.0.0.0/33"],
])("%s=%s stops start-up with a message naming the variable", (name, value) => {
  expect(() => loadConfig({ [name]: value })).toThrow(ConfigError);
  expect(() => loadConfig({ [name]: value })).toThrow(new RegExp(`${name}:`));
});

test("MYPHONE_ABUSE_LIMITS=off turns every limit off, whatever else is set", () => {
  const limits = abuseLimitsOf(
    loadConfig({ MYPHONE_ABUSE_LIMITS: "off", MYPHONE_SENDS_PER_NUMBER: "1/1h", MYPHONE_PHONE_COUNTRIES_DENY: "CH", MYPHONE_RESEND_COOLDOWN: "1h" }),
  );
  expect(limits.enabled).toBe(false);
  expect(limits.sendPolicy).toEqual({ resendCooldownMs: 0, perUser: [], deniedRegions: new Set() });
  expect(limits.sharedCaps).toEqual({ perNumber: [], perAddress: [] });
});
