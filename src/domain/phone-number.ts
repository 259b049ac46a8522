import { PhoneNumberFormat, PhoneNumberType, PhoneNumberUtil } from "google-libphonenumber";
import { DomainError, Errors } from "./errors.js";

/**
 * How strictly a parsed number is checked: `parse` accepts what libphonenumber parses (ZITADEL's behaviour),
 * `possible` also demands a possible length for the country, `valid` a number in an assigned range.
 */
export type PhoneCheck = "parse" | "possible" | "valid";

export interface PhonePolicy {
  /** ISO 3166-1 alpha-2 region used for national numbers (ZITADEL's default: CH). */
  readonly defaultRegion: string;
  readonly check: PhoneCheck;
  /** Refuse numbers libphonenumber knows are not mobile (fixed line, toll free, ...). */
  readonly mobileOnly: boolean;
}

export const ZITADEL_PHONE_POLICY: PhonePolicy = { defaultRegion: "CH", check: "parse", mobileOnly: false };

const util = PhoneNumberUtil.getInstance();
const MOBILE_TYPES = new Set([PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE]);

/** True when the region code is one libphonenumber has metadata for (used to validate configuration). */
export function isSupportedRegion(region: string): boolean {
  return (util.getSupportedRegions() as string[]).includes(region);
}

/**
 * Normalises user input to E.164 ("+41791234567"). A leading "+" means international; otherwise the number is
 * read in the policy's default region. Throws DomainError PHONE-so0wa (or a stricter MYPHONE- id) when refused.
 */
export function normalisePhone(input: string, policy: PhonePolicy): string {
  let parsed;
  try {
    parsed = util.parse(input, policy.defaultRegion);
  } catch {
    throw new DomainError(Errors.phoneInvalid);
  }
  if (policy.check === "possible" && !util.isPossibleNumber(parsed)) throw new DomainError(Errors.phoneNotPossible);
  if (policy.check === "valid" && !util.isValidNumber(parsed)) throw new DomainError(Errors.phoneNotValid);
  if (policy.mobileOnly && !MOBILE_TYPES.has(util.getNumberType(parsed))) throw new DomainError(Errors.phoneNotMobile);
  return util.format(parsed, PhoneNumberFormat.E164);
}

/** libphonenumber's number types by name, as MYPHONE_PHONE_TYPES_DENY names them. */
export const PHONE_NUMBER_TYPES = [
  "FIXED_LINE",
  "MOBILE",
  "FIXED_LINE_OR_MOBILE",
  "TOLL_FREE",
  "PREMIUM_RATE",
  "SHARED_COST",
  "VOIP",
  "PERSONAL_NUMBER",
  "PAGER",
  "UAN",
  "VOICEMAIL",
  "UNKNOWN",
] as const;
export type PhoneNumberTypeName = (typeof PHONE_NUMBER_TYPES)[number];

const TYPE_NAMES = new Map<number, PhoneNumberTypeName>(
  PHONE_NUMBER_TYPES.map((name) => [PhoneNumberType[name], name]),
);

/** What the abuse rules look at in a normalised number: its possible regions and its kind. */
export interface NumberFacts {
  readonly regions: readonly string[];
  readonly type: PhoneNumberTypeName;
}

/** Facts of recently seen numbers: one send looks a number up several times (rules, budgets, breaker). */
const factsMemo = new Map<string, NumberFacts>();
const FACTS_MEMO_LIMIT = 10_000;

/**
 * The regions (see regionsOfParsed) and libphonenumber type of a normalised (E.164) number, from one parse.
 * Memoised: it is a pure function of the number, and parsing is the costly part of every abuse rule.
 */
export function describeNumber(e164: string): NumberFacts {
  let facts = factsMemo.get(e164);
  if (!facts) {
    const parsed = util.parse(e164);
    facts = { regions: regionsOfParsed(parsed), type: TYPE_NAMES.get(util.getNumberType(parsed)) ?? "UNKNOWN" };
    if (factsMemo.size >= FACTS_MEMO_LIMIT) factsMemo.clear();
    factsMemo.set(e164, facts);
  }
  return facts;
}

/**
 * The ISO regions a normalised number may belong to: libphonenumber's, or when it cannot tell (an unassigned number
 * under a shared calling code such as +1) every region of the calling code, so country lists cannot be dodged with
 * an unassigned number. Non-geographic numbers have the region "001".
 */
function regionsOfParsed(parsed: ReturnType<PhoneNumberUtil["parse"]>): string[] {
  const region = util.getRegionCodeForNumber(parsed);
  if (region) return [region];
  // Present in the library, missing from its type declarations.
  const regionsOf = (util as unknown as { getRegionCodesForCountryCode(code: number): string[] })
    .getRegionCodesForCountryCode;
  return regionsOf.call(util, parsed.getCountryCodeOrDefault());
}
