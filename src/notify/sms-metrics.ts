import { Counter, Histogram, Registry } from "prom-client";

/** What one pass over an SMS job ended in. */
export type SmsSendOutcome = "sent" | "superseded" | "expired" | "retry" | "dead";

/** The notifier's metrics (job outcomes and delivery time by provider, jobs swept), in the server's registry. */
export class SmsMetrics {
  private readonly sends: Counter<"provider" | "outcome">;
  private readonly delivery: Histogram<"provider">;
  private readonly swept: Counter;

  constructor(registry: Registry = new Registry()) {
    this.sends = new Counter({
      name: "myphone_sms_sends_total",
      help: "SMS job passes by provider and outcome: sent, superseded, expired (both skipped, never sent), retry, dead.",
      labelNames: ["provider", "outcome"] as const,
      registers: [registry],
    });
    this.delivery = new Histogram({
      name: "myphone_sms_delivery_seconds",
      help: "Time from a code's commit to the SMS provider accepting its SMS, by provider.",
      labelNames: ["provider"] as const,
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
      registers: [registry],
    });
    this.swept = new Counter({
      name: "myphone_sms_jobs_swept_total",
      help: "Done SMS jobs deleted from the outbox by this process's retention sweep (MYPHONE_SMS_RETENTION).",
      registers: [registry],
    });
  }

  /** Counts one pass over a job. */
  recordOutcome(provider: string, outcome: SmsSendOutcome): void {
    this.sends.inc({ provider, outcome });
  }

  /** Counts done jobs the retention sweep deleted. */
  recordSwept(count: number): void {
    if (count > 0) this.swept.inc(count);
  }

  /** Records the wait of a code the provider accepted. */
  recordDelivered(provider: string, seconds: number): void {
    this.delivery.observe({ provider }, seconds);
  }
}
