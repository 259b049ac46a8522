import type { ExternalCodeCheck, ExternalCodeVerdict } from "./phone-decider.js";

/**
 * The port to an external service that generates codes, sends them and checks them (Twilio Verify; ZITADEL's
 * "external code provider"). The commands ask it before deciding a VerifyPhone on a code it holds; the SMS provider
 * adapter implements it. Declared here because both sides need it and neither may import the other.
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
