/** Outbox job kind for "send the SMS with the code of event `codeSequence` of user `userId`". */
export const SMS_PHONE_CODE_JOB = "sms.phone_code";

/** The payload of an SMS_PHONE_CODE_JOB: the command side writes it with the code's events, the notifier reads it. */
export interface SmsPhoneCodeJobPayload {
  readonly userId: string;
  readonly codeSequence: number;
}
