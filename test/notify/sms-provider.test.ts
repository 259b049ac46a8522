import { retryAfterMs } from "../../src/notify/sms-provider.js";
import { TWILIO_CANCEL_CODES } from "../../src/notify/twilio-sms-provider.js";

/** The small rules the providers share: Retry-After parsing and Twilio's cancel list. */

test("Retry-After is read as seconds or as an HTTP date; anything else is ignored", () => {
  const now = Date.parse("2026-11-25T12:00:00Z");
  expect(retryAfterMs("120", now)).toBe(120_000);
  expect(retryAfterMs(" 0 ", now)).toBe(0);
  expect(retryAfterMs("Wed, 25 Nov 2026 12:00:30 GMT", now)).toBe(30_000);
  expect(retryAfterMs("Wed, 25 Nov 2026 11:00:00 GMT", now)).toBe(0);
  expect(retryAfterMs("soon", now)).toBeUndefined();
  expect(retryAfterMs(null, now)).toBeUndefined();
  expect(retryAfterMs("", now)).toBeUndefined();
});

test("Twilio codes that cancel a job concern the recipient; rate limits and our own account are retried", () => {
  for (const code of [21211, 21408, 21610, 21614]) expect(TWILIO_CANCEL_CODES.has(code)).toBe(true);
  for (const code of [20429, 20003, 21606, 20500]) expect(TWILIO_CANCEL_CODES.has(code)).toBe(false);
});
