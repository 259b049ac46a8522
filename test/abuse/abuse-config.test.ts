import { abuseLimitsOf } from "../../src/abuse/open-send-limiter.js";
import { ConfigError, loadConfig } from "../../src/config.js";

/** The abuse settings as an operator writes them, and what MYPHONE_ABUSE_LIMITS=off leaves of them. */

const HOUR = 3_600_000;

/** A cap written `perHour/1h, perDay/1d`: its hourly window, then its daily one. */
const perHourAndDay = (perHour: number, perDay: number) => [
  { max: perHour, windowMs: HOUR },
  { max: perDay, windowMs: 24 * HOUR },
];

test("defaults: 60 s cooldown, 10/h and 20/day per user, 10/h and 20/day per number (3/h and 5/day per number and user, and per number and address), 60/h and 500/day per address (IPv6 by /48), no non-geographic, premium-rate or shared-cost numbers", () => {
  const limits = abuseLimitsOf(loadConfig({}));
  expect(limits.enabled).toBe(true);
  expect(limits.sendPolicy).toEqual({
    resendCooldownMs: 60_000,
    perUser: perHourAndDay(10, 20),
    deniedRegions: new Set(["001"]),
    deniedTypes: new Set(["PREMIUM_RATE", "SHARED_COST"]),
  });
  expect(limits.sharedCaps).toEqual({
    perNumber: perHourAndDay(10, 20),
    perNumberPerUser: perHourAndDay(3, 5),
    perNumberPerAddress: perHourAndDay(3, 5),
    perAddress: perHourAndDay(60, 500),
    ipv6PrefixLength: 48,
  });
});

test("default budgets and breaker: 1,000/h and 10,000/day in all, 500/h and 5,000/day per country, 50/h and 200/day per range of 1,000 numbers", () => {
  const limits = abuseLimitsOf(loadConfig({}));
  expect(limits.scopeRules).toEqual({
    budgets: {
      global: perHourAndDay(1000, 10_000),
      country: perHourAndDay(500, 5000),
      prefix: perHourAndDay(50, 200),
    },
    breaker: {
      windowMs: HOUR,
      graceMs: 10 * 60_000,
      minSends: 20,
      minConversion: 0.2,
      coolOffMs: 30 * 60_000,
      trialSends: 3,
    },
  });
  expect(limits.prefixDroppedDigits).toBe(3);
});

test("budgets may be large or off, shares may be percentages, lists may be off, and MIN_CONVERSION=0 turns the breaker off", () => {
  const config = loadConfig({
    MYPHONE_SMS_BUDGET: "250000/1d",
    MYPHONE_SMS_BUDGET_PER_COUNTRY: "off",
    MYPHONE_SMS_BUDGET_PER_PREFIX: "10/10m",
    MYPHONE_SMS_PREFIX_DROPPED_DIGITS: "4",
    MYPHONE_PHONE_COUNTRIES_DENY: "OFF",
    MYPHONE_PHONE_TYPES_DENY: "premium_rate, voip",
    MYPHONE_SENDS_PER_IP_IPV6_PREFIX: "64",
    MYPHONE_SMS_BREAKER_MIN_CONVERSION: "0",
  });
  const limits = abuseLimitsOf(config);
  expect(limits.scopeRules).toEqual({
    budgets: { global: [{ max: 250_000, windowMs: 24 * HOUR }], country: [], prefix: [{ max: 10, windowMs: 600_000 }] },
  });
  expect(limits.prefixDroppedDigits).toBe(4);
  expect(limits.sendPolicy.deniedRegions).toEqual(new Set());
  expect(limits.sendPolicy.deniedTypes).toEqual(new Set(["PREMIUM_RATE", "VOIP"]));
  expect(limits.sharedCaps.ipv6PrefixLength).toBe(64);
  expect(loadConfig({ MYPHONE_SMS_BREAKER_MIN_CONVERSION: "35%" }).MYPHONE_SMS_BREAKER_MIN_CONVERSION).toBe(0.35);
  expect(loadConfig({ MYPHONE_PHONE_TYPES_DENY: "off" }).MYPHONE_PHONE_TYPES_DENY).toEqual([]);
});

test("caps are count/window lists (a bare unit is one of it), or off; country lists are upper-cased regions", () => {
  const config = loadConfig({
    MYPHONE_SENDS_PER_USER: "3/10m, 5/h",
    MYPHONE_SENDS_PER_NUMBER: "off",
    MYPHONE_SENDS_PER_NUMBER_PER_USER: "off",
    MYPHONE_SENDS_PER_NUMBER_PER_IP: "2/10m",
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
    deniedTypes: new Set(["PREMIUM_RATE", "SHARED_COST"]),
  });
  expect(limits.sharedCaps).toEqual({
    perNumber: [],
    perNumberPerUser: [],
    perNumberPerAddress: [{ max: 2, windowMs: 600_000 }],
    perAddress: [{ max: 1000, windowMs: 36 * HOUR }],
    ipv6PrefixLength: 48,
  });
  expect(config.MYPHONE_TRUSTED_PROXIES).toEqual(["10.0.0.0/8", "::1"]);
});

test.each([
  ["MYPHONE_SENDS_PER_USER", "5"],
  ["MYPHONE_SENDS_PER_USER", "0/1h"],
  ["MYPHONE_SENDS_PER_NUMBER", "1001/1h"],
  ["MYPHONE_SENDS_PER_NUMBER_PER_USER", "3"],
  ["MYPHONE_SENDS_PER_NUMBER_PER_IP", "0/1h"],
  ["MYPHONE_SENDS_PER_IP", "5/1w"],
  ["MYPHONE_RESEND_COOLDOWN", "soon"],
  ["MYPHONE_PHONE_COUNTRIES_DENY", "XX"],
  ["MYPHONE_PHONE_COUNTRIES_ALLOW", "CH,Switzerland"],
  ["MYPHONE_TRUSTED_PROXIES", "proxy.internal"],
  ["MYPHONE_TRUSTED_PROXIES", "10.0.0.0/33"],
  ["MYPHONE_PHONE_TYPES_DENY", "PREMIUM_RATE,EXPENSIVE"],
  ["MYPHONE_SMS_BUDGET", "5000"],
  ["MYPHONE_SMS_BUDGET_PER_COUNTRY", "0/1h"],
  ["MYPHONE_SMS_BUDGET_PER_PREFIX", "2000000000/1d"],
  ["MYPHONE_SMS_PREFIX_DROPPED_DIGITS", "0"],
  ["MYPHONE_SMS_BREAKER_MIN_CONVERSION", "1.5"],
  ["MYPHONE_SMS_BREAKER_MIN_CONVERSION", "120%"],
  ["MYPHONE_SMS_BREAKER_MIN_SENDS", "0"],
  ["MYPHONE_SMS_BREAKER_TRIALS", "0"],
  ["MYPHONE_SMS_BREAKER_GRACE", "a while"],
  ["MYPHONE_SENDS_PER_IP_IPV6_PREFIX", "8"],
  ["MYPHONE_SENDS_PER_IP_IPV6_PREFIX", "/48"],
])("%s=%s stops start-up with a message naming the variable", (name, value) => {
  expect(() => loadConfig({ [name]: value })).toThrow(ConfigError);
  expect(() => loadConfig({ [name]: value })).toThrow(new RegExp(`${name}:`));
});

test("MYPHONE_ABUSE_LIMITS=off turns every limit off, whatever else is set", () => {
  const limits = abuseLimitsOf(
    loadConfig({
      MYPHONE_ABUSE_LIMITS: "off",
      MYPHONE_SENDS_PER_NUMBER: "1/1h",
      MYPHONE_PHONE_COUNTRIES_DENY: "CH",
      MYPHONE_RESEND_COOLDOWN: "1h",
    }),
  );
  expect(limits.enabled).toBe(false);
  expect(limits.sendPolicy).toEqual({ resendCooldownMs: 0, perUser: [], deniedRegions: new Set() });
  expect(limits.sharedCaps).toEqual({ perNumber: [], perNumberPerUser: [], perNumberPerAddress: [], perAddress: [] });
  expect(limits.scopeRules).toEqual({ budgets: { global: [], country: [], prefix: [] } });
});
