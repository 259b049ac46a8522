import { hostname } from "node:os";
import { randomBytes } from "node:crypto";
import { SMS_PHONE_CODE_JOB, type SmsPhoneCodeJobPayload, type UserCommands } from "../app/user-commands.js";
import type { CodeCipher } from "../domain/verification-code.js";
import type { EventStore, OutboxJob, OutboxOutcome } from "../eventstore/event-store.js";
import type { Logger } from "../logger.js";
import { PermanentSmsError, type SmsProvider } from "./sms-provider.js";
import { DEFAULT_PHONE_CODE_TEMPLATE, renderSmsText } from "./sms-text.js";

export interface OutboxNotifierOptions {
  readonly store: EventStore;
  readonly commands: UserCommands;
  readonly cipher: CodeCipher;
  readonly provider: SmsProvider;
  readonly logger: Logger;
  readonly pollIntervalMs: number;
  readonly maxAttempts: number;
  /** How long a claimed job is ours; another worker may take it after that (e.g. when this process died). */
  readonly leaseMs?: number;
  readonly batchSize?: number;
}

const FIRST_RETRY_MS = 1000;
const MAX_RETRY_MS = 5 * 60 * 1000;

/**
 * Delivers SMS jobs from the transactional outbox after their commit: claims due jobs with a lease, skips codes
 * that were superseded, used or expired, sends the rest, then appends `user.human.phone.code.sent`.
 * At-least-once: a crash between the provider's acceptance and the job's settlement re-sends once the lease ends.
 */
export class OutboxNotifier {
  private readonly workerId = `${hostname()}:${process.pid}:${randomBytes(4).toString("hex")}`;
  private readonly leaseMs: number;
  private readonly batchSize: number;
  private timer: NodeJS.Timeout | undefined;
  private unsubscribe: (() => void) | undefined;
  private running: Promise<void> | undefined;
  private wakeAgain = false;
  private stopped = true;

  constructor(private readonly options: OutboxNotifierOptions) {
    this.leaseMs = options.leaseMs ?? 30_000;
    this.batchSize = options.batchSize ?? 16;
  }

  start(): void {
    this.stopped = false;
    this.unsubscribe = this.options.store.onOutboxJobs(() => this.wake());
    this.timer = setInterval(() => this.wake(), this.options.pollIntervalMs);
    this.timer.unref();
    this.wake();
  }

  /** Stops claiming; resolves when the jobs in hand are settled. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    this.unsubscribe?.();
    await this.running;
  }

  /** Runs a pass now (or right after the current one). */
  wake(): void {
    if (this.stopped) return;
    if (this.running) {
      this.wakeAgain = true;
      return;
    }
    this.running = this.drain().finally(() => {
      this.running = undefined;
      if (this.wakeAgain) {
        this.wakeAgain = false;
        this.wake();
      }
    });
  }

  private async drain(): Promise<void> {
    try {
      while (!this.stopped) {
        const jobs = await this.options.store.outbox.claim({ workerId: this.workerId, leaseMs: this.leaseMs, limit: this.batchSize });
        if (jobs.length === 0) return;
        await Promise.all(jobs.map((job) => this.process(job)));
      }
    } catch (error) {
      this.options.logger.error({ err: error }, "sms worker pass failed; will retry on the next wake-up");
    }
  }

  private async process(job: OutboxJob): Promise<void> {
    let outcome: OutboxOutcome;
    try {
      outcome = await this.deliver(job);
    } catch (error) {
      outcome = this.failure(job, error);
    }
    const settled = await this.options.store.outbox.settle(job.id, this.workerId, outcome);
    if (!settled) this.options.logger.warn({ job: job.id }, "sms job lease was lost before settling; another worker owns it");
  }

  private async deliver(job: OutboxJob): Promise<OutboxOutcome> {
    if (job.kind !== SMS_PHONE_CODE_JOB) return { state: "dead", error: `unknown job kind ${job.kind}` };
    const { userId, codeSequence } = job.payload as unknown as SmsPhoneCodeJobPayload;
    const state = await this.options.commands.load(userId);
    const pending = state.pendingCode;
    if (!pending || pending.sequence !== codeSequence) {
      this.options.logger.info({ job: job.id, userId }, "sms skipped: code superseded or already used");
      return { state: "done" };
    }
    if (pending.expiresAt.getTime() < Date.now()) {
      this.options.logger.info({ job: job.id, userId }, "sms skipped: code expired");
      return { state: "done" };
    }
    const text = renderSmsText(DEFAULT_PHONE_CODE_TEMPLATE, { Code: this.options.cipher.decrypt(pending.encrypted) });
    await this.options.provider.send({ to: state.phone, text, idempotencyKey: job.idempotencyKey });
    await this.options.commands.execute(userId, { type: "MarkPhoneCodeSent", codeSequence });
    return { state: "done" };
  }

  private failure(job: OutboxJob, error: unknown): OutboxOutcome {
    const message = error instanceof Error ? error.message : String(error);
    const attempts = job.attempts + 1;
    if (error instanceof PermanentSmsError || attempts >= this.options.maxAttempts) {
      this.options.logger.error({ job: job.id, attempts, error: message }, "sms job is dead");
      return { state: "dead", error: message };
    }
    // Exponential backoff with full jitter, so a recovering provider is not hit by every job at once.
    const delay = Math.random() * Math.min(MAX_RETRY_MS, FIRST_RETRY_MS * 2 ** (attempts - 1));
    this.options.logger.warn({ job: job.id, attempts, error: message }, "sms delivery failed; will retry");
    return { state: "retry", retryAt: new Date(Date.now() + delay), error: message };
  }
}
