import type { ExternalCodeCheck, ExternalCodeVerdict } from "./phone-decider.js";

/**
 * Port to an external service that generates, sends and checks codes (Twilio Verify; ZITADEL's "external code
 * provider"), asked before a VerifyPhone on a code it holds. Declared here because the commands and the SMS
 * adapter that implements it may not import each other.
 */
export interface ExternalCodeChecker {
  /** The id recorded as `generatorId` in the code events of this service. */
  readonly generatorId: string;
  /** Whether `check.code` is the service's code; throws CodeServiceUnavailableError when the service cannot answer. */
  check(check: ExternalCodeCheck): Promise<ExternalCodeVerdict>;
}

/** The code service could not be asked (network, timeout, 5xx): nothing can be decided, nothing is recorded. */
export class CodeServiceUnavailableError extends Error {
  override name = "CodeServiceUnavailableError";
}
