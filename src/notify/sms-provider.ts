/** One SMS to deliver. `idempotencyKey` is stable across retries of the same job, for providers that dedupe. */
export interface SmsMessage {
  readonly to: string;
  readonly text: string;
  readonly idempotencyKey: string;
}

/** The port every SMS gateway adapter implements. Resolves once the provider accepted the message. */
export interface SmsProvider {
  readonly name: string;
  send(message: SmsMessage): Promise<void>;
}

/** A failure retrying cannot fix (bad number, rejected by policy): the job is dead at once. */
export class PermanentSmsError extends Error {
  override name = "PermanentSmsError";
}
