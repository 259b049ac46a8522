import { Code, ConnectError } from "@connectrpc/connect";
import { RetryInfoSchema } from "../gen/google/rpc/error_details_pb.js";
import { ErrorDetailSchema } from "../gen/zitadel/message_pb.js";
import { Errors } from "../src/domain/errors.js";

const NOT_A_NUMBER =
  "That does not look like a phone number. Type it with the country code, for example +41 79 123 45 67.";
const ACCOUNT_NOT_FOUND = "Your account was not found. Check that you pasted the token of the right account.";
const TOO_MANY = "Too many codes were sent. Please try again later.";
const UNREACHABLE = "The service cannot be reached right now. Check your connection and try again.";

/** What to tell a person for each error id the API answers (the API's own texts are written for developers). */
const MESSAGES: Record<string, string> = {
  [Errors.tokenInvalid.id]: "Your access token was not accepted. It may have expired: paste a fresh one.",
  [Errors.orgNotFound.id]: "Your organisation is not known here. Check the token you pasted.",
  [Errors.phoneLength.id]: "Type a phone number (at most 50 characters).",
  [Errors.phoneInvalid.id]: NOT_A_NUMBER,
  [Errors.phoneNotPossible.id]: NOT_A_NUMBER,
  [Errors.phoneNotValid.id]: "This number does not exist in its country. Check it for typing mistakes.",
  [Errors.phoneNotMobile.id]: "Please use a mobile number: the code comes by SMS.",
  [Errors.phoneCountryNotAllowed.id]: "Codes cannot be sent to numbers of this country. Please use another number.",
  [Errors.phoneTypeNotAllowed.id]:
    "Codes cannot be sent to this kind of number (premium rate or shared cost). Please use a mobile number.",
  [Errors.userNotFoundOnSet.id]: ACCOUNT_NOT_FOUND,
  [Errors.userNotFoundOnResend.id]: ACCOUNT_NOT_FOUND,
  [Errors.userNotFoundOnRemove.id]: ACCOUNT_NOT_FOUND,
  [Errors.userNotFoundOnGet.id]: ACCOUNT_NOT_FOUND,
  [Errors.userNotHuman.id]: "This is a machine account; only personal accounts have a phone number.",
  [Errors.phoneNotChanged.id]: "That is already your phone number.",
  [Errors.codeLength.id]: "Type the code from the SMS.",
  [Errors.codeNotFound.id]: "There is no code to check. Set your number first, or ask for a new code.",
  [Errors.codeInvalid.id]: "That code is wrong or has expired. Check the SMS and try again.",
  [Errors.codeAttemptsExhausted.id]: "Too many wrong codes. Ask for a new code and try again.",
  [Errors.phoneNotFoundOnResend.id]: "You have no phone number yet. Set one first.",
  [Errors.phoneNotFoundOnRemove.id]: "You have no phone number to remove.",
  [Errors.phoneAlreadyVerified.id]: "Your number is already verified; there is no need for a new code.",
  [Errors.sendCooldown.id]: "A code was sent just now. Please wait a little before asking for another one.",
  [Errors.sendCapUser.id]: TOO_MANY,
  [Errors.sendCapNumber.id]: TOO_MANY,
  [Errors.sendCapAddress.id]: TOO_MANY,
  [Errors.sendBudgetGlobal.id]: TOO_MANY,
  [Errors.sendBudgetCountry.id]: TOO_MANY,
  [Errors.sendBudgetPrefix.id]: TOO_MANY,
  [Errors.sendBreakerOpen.id]: "Codes to numbers like yours are paused for a while. Please try again later.",
  [Errors.internal.id]: "Something went wrong on our side. Please try again in a moment.",
  [Errors.unavailable.id]: "The service is restarting. Please try again in a moment.",
};

/** A sentence for a person, from a failed call: by the ErrorDetail id, else by the status code. */
export function describeError(error: unknown): string {
  const connectError = ConnectError.from(error);
  const id = connectError.findDetails(ErrorDetailSchema)[0]?.id;
  const text = id !== undefined ? MESSAGES[id] : undefined;
  if (text !== undefined) {
    const retrySeconds = connectError.findDetails(RetryInfoSchema)[0]?.retryDelay?.seconds;
    return retrySeconds !== undefined && retrySeconds > 0n
      ? `${text} (You can try again in ${retrySeconds} seconds.)`
      : text;
  }
  // fetch() itself failed (offline, server down): connect-web reports that as Unknown, caused by a TypeError.
  if (connectError.cause instanceof TypeError) return UNREACHABLE;
  switch (connectError.code) {
    case Code.Unauthenticated:
      return MESSAGES[Errors.tokenInvalid.id]!;
    case Code.Unavailable:
    case Code.DeadlineExceeded:
      return UNREACHABLE;
    default:
      return `Something went wrong (${connectError.rawMessage}).`;
  }
}
