import { hostname } from "node:os";
import { randomBytes } from "node:crypto";
import { MAX_SMS_NAME_CHARS, plainName } from "../domain/display-text.js";
import type { PendingCode, UserCommand, UserState } from "../domain/phone-decider.js";
import { SMS_PHONE_CODE_JOB, type SmsPhoneCodeJobPayload } from "../domain/sms-jobs.js";
import type { CodeGeneratorInfo } from "../domain/user-events.js";
import type { CodeCipher } from "../domain/verification-code.js";
import type { EventStore, OutboxJob, OutboxOutcome, OutboxWakeups } from "../eventstore/event-store.js";
import type { Logger } from "../logger.js";
import { SmsMetrics, type SmsSendOutcome } from "./sms-metrics.js";
import { PermanentSmsError, redactCode, RetryLaterSmsError, type SmsProvider } from "./sms-provider.js";
import { goDuration, type SmsTemplates } from "./sms-templates.js";

/** What the notifier needs of the command side (UserCommands): a user's state, and recording a code as sent. */
export interface PhoneCodeCommands {
  load(userId: string): Promise<UserState>;
  execute(userId: string, command: Extract<UserCommand, { type: "MarkPhoneCodeSent" }>): Promise<unknown>;
}

export interface OutboxNotifierOptions {
  readonly store: EventStore;
  readonly commands: PhoneCodeCommands;
  readonly cipher: CodeCipher;
  readonly provider: SmsProvider;
  readonly templates: SmsTemplates;
  readonly logger: Logger;
  readonly pollIntervalMs: number;
  /** Delivery attempts before a job is dead. */
  readonly maxAttempts: number;
  /** How long a claimed job is ours; another worker may take it after that (e.g. when this process died). */
  readonly leaseMs?: number;
  /** Upper bound of the first retry's wait (default 1 s); doubles per attempt. */
  readonly retryBaseMs?: number;
  /** Cap on any wait between attempts (default 5 min). */
  readonly retryMaxMs?: number;
  readonly batchSize?: number;
  /** How long done jobs stay in the outbox before the sweep deletes them (default 7 days); dead jobs always stay. */
  readonly retentionMs?: number;
  /** Time between two sweeps (default 1 min); the first runs at start. */
  readonly sweepIntervalMs?: number;
  /** Done jobs deleted per statement (default 1000), so a sweep never holds the write lock for long. */
  readonly sweepBatchSize?: number;
  /** Where the notifier's counters go (the server's registry); default: metrics nobody reads. */
  readonly metrics?: SmsMetrics;
  /** Hints that jobs were committed, so a pass starts without waiting for the next poll. */
  readonly wakeups: OutboxWakeups;
  /** Reports a failed pass or sweep; true for an outage, which the reporter logs once, so the notifier does not. */
  readonly reportStoreOutage?: (error: unknown) => boolean;
  /** MYPHONE_CODE_TTL: jobs under a key this node lacks are left to other nodes until their codes have expired. */
  readonly codeTtlMs?: number;
}

/** Codes live an hour unless told otherwise (MYPHONE_CODE_TTL's default). */
const DEFAULT_CODE_TTL_MS = 3_600_000;

/** Characters of a failed attempt's error kept in the outbox row and the log line. */
const MAX_ERROR_CHARS = 1000;

/** What one pass over a job decided, before it is written back to the outbox. */
type Delivery = { readonly outcome: OutboxOutcome; readonly metric: SmsSendOutcome };

/**
 * Delivers SMS jobs from the transactional outbox under a lease, skipping superseded, used or expired codes, and
 * retries failures with backoff until `maxAttempts`. At-least-once: a crash before settling re-sends after the
 * lease, with the same idempotency key for the provider. Each node also sweeps old done jobs in small batches.
 */
export class OutboxNotifier {
  private readonly workerId = `${hostname()}:${process.pid}:${randomBytes(4).toString("hex")}`;
  private readonly leaseMs: number;
  private readonly batchSize: number;
  private readonly retryBaseMs: number;
  private readonly retryMaxMs: number;
  private readonly retentionMs: number;
  private readonly sweepIntervalMs: number;
  private readonly sweepBatchSize: number;
  private readonly metrics: SmsMetrics;
  private timer: NodeJS.Timeout | undefined;
  private sweepTimer: NodeJS.Timeout | undefined;
  private sweeping: Promise<number> | undefined;
  private unsubscribe: (() => void) | undefined;
  private running: Promise<void> | undefined;
  private wakeAgain = false;
  private readonly missingKeysWarned = new Set<string>();
  private stopped = true;

  constructor(private readonly options: OutboxNotifierOptions) {
    this.leaseMs = options.leaseMs ?? 30_000;
    this.batchSize = options.batchSize ?? 16;
    this.retryBaseMs = options.retryBaseMs ?? 1000;
    this.retryMaxMs = options.retryMaxMs ?? 5 * 60 * 1000;
    this.retentionMs = options.retentionMs ?? 7 * 24 * 60 * 60 * 1000;
    this.sweepIntervalMs = options.sweepIntervalMs ?? 60_000;
    this.sweepBatchSize = options.sweepBatchSize ?? 1000;
    this.metrics = options.metrics ?? new SmsMetrics();
  }

  /** Starts claiming jobs (on wake-ups and every poll interval) and sweeping. */
  start(): void {
    this.stopped = false;
    this.unsubscribe = this.options.wakeups.onOutboxJobs(() => this.wake());
    this.timer = setInterval(() => this.wake(), this.options.pollIntervalMs);
    this.timer.unref();
    this.sweepTimer = setInterval(() => void this.sweep(), this.sweepIntervalMs);
    this.sweepTimer.unref();
    this.wake();
    void this.sweep();
  }

  /** Stops claiming and sweeping; resolves when the jobs in hand are settled and a running sweep has finished. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    clearInterval(this.sweepTimer);
    this.unsubscribe?.();
    await Promise.all([this.running, this.sweeping]);
  }

  /**
   * Deletes done jobs older than the retention, batch by batch until none is left (or the notifier stops);
   * resolves with how many went. Never fails: trouble is logged and the next sweep tries again.
   */
  sweep(): Promise<number> {
    this.sweeping ??= this.sweepBatches().finally(() => (this.sweeping = undefined));
    return this.sweeping;
  }

  private async sweepBatches(): Promise<number> {
    let swept = 0;
    try {
      for (;;) {
        const deleted = await this.options.store.outbox.purgeDone({
          retentionMs: this.retentionMs,
          limit: this.sweepBatchSize,
        });
        swept += deleted;
        this.metrics.recordSwept(deleted);
        if (deleted < this.sweepBatchSize || this.stopped) break;
        // Lets requests and deliveries in between batches, so a large backlog never stalls them.
        await new Promise((resolve) => setImmediate(resolve));
      }
    } catch (error) {
      if (!this.options.reportStoreOutage?.(error))
        this.options.logger.warn({ err: error, swept }, "sms outbox sweep failed; will retry on the next sweep");
    }
    if (swept > 0)
      this.options.logger.info(
        { swept, retentionMs: this.retentionMs },
        "sms outbox swept: done jobs past retention deleted",
      );
    return swept;
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
        const jobs = await this.options.store.outbox.claim({
          workerId: this.workerId,
          leaseMs: this.leaseMs,
          limit: this.batchSize,
          keyIds: this.options.cipher.keyIds,
          otherKeysAfterMs: this.options.codeTtlMs ?? DEFAULT_CODE_TTL_MS,
        });
        if (jobs.length === 0) return;
        await Promise.all(jobs.map((job) => this.process(job)));
      }
    } catch (error) {
      if (!this.options.reportStoreOutage?.(error))
        this.options.logger.error({ err: error }, "sms worker pass failed; will retry on the next wake-up");
    }
  }

  private async process(job: OutboxJob): Promise<void> {
    let delivery: Delivery | "leave";
    try {
      delivery = await this.deliver(job);
      // Left for a node holding the code's key: no attempt is counted; another node claims it when the lease ends.
      if (delivery === "leave") return;
    } catch (error) {
      // The database is down: nothing was sent, and an outage is no failed attempt. The job stays leased (settling
      // would fail too) and is claimed again when the lease ends.
      if (this.options.reportStoreOutage?.(error)) return;
      // Reading the user or decrypting failed (store trouble, lost key): nothing was sent, so retrying is safe.
      delivery = this.failure(job, error, undefined);
    }
    const settled = await this.options.store.outbox.settle(job.id, this.workerId, delivery.outcome);
    this.metrics.recordOutcome(this.options.provider.name, delivery.metric);
    if (!settled)
      this.options.logger.warn({ job: job.id }, "sms job lease was lost before settling; another worker owns it");
  }

  private async deliver(job: OutboxJob): Promise<Delivery | "leave"> {
    if (job.kind !== SMS_PHONE_CODE_JOB) {
      this.options.logger.error({ job: job.id, kind: job.kind }, "sms job is dead: unknown job kind");
      return { outcome: { state: "dead", error: `unknown job kind ${job.kind}` }, metric: "dead" };
    }
    const { userId, codeSequence } = job.payload as unknown as SmsPhoneCodeJobPayload;
    const state = await this.options.commands.load(userId);
    const pending = state.pendingCode;
    if (!pending || pending.sequence !== codeSequence) {
      this.options.logger.info({ job: job.id, userId }, "sms skipped: code superseded or already used");
      return { outcome: { state: "done" }, metric: "superseded" };
    }
    if (pending.sent) {
      // code.sent is recorded, so a previous run delivered it and died before settling the job.
      this.options.logger.info({ job: job.id, userId }, "sms skipped: already sent");
      return { outcome: { state: "done" }, metric: "superseded" };
    }
    if (pending.expiresAt.getTime() < Date.now()) {
      this.options.logger.info({ job: job.id, userId }, "sms skipped: code expired");
      return { outcome: { state: "done" }, metric: "expired" };
    }

    if (pending.encrypted === null) return this.startVerification(job, state, pending);

    // Jobs name their key and claims skip other keys; a job written before that (or a key removed meanwhile) ends here.
    if (!this.options.cipher.hasKey(pending.encrypted.KeyID)) {
      this.warnMissingKey(pending.encrypted.KeyID, job.id);
      return "leave";
    }
    const code = this.options.cipher.decrypt(pending.encrypted);
    const expiryMs = pending.expiresAt.getTime() - pending.createdAt.getTime();
    // Names are checked where they enter; again here for users added before that rule (display-text.ts).
    const userName = plainName(state.userName, MAX_SMS_NAME_CHARS);
    const { language, text, values } = this.options.templates.compose(state.preferredLanguage, {
      Code: code,
      UserName: userName,
      DisplayName: plainName(state.displayName, MAX_SMS_NAME_CHARS) || userName,
      // myphone's login name is the user name (ZITADEL's preferred login name without an organisation domain).
      LoginName: userName,
      PreferredLoginName: userName,
      UserID: userId,
      OrgID: state.owner,
      LastPhone: state.phone,
      Expiry: goDuration(expiryMs),
      CreationDate: state.createdAt?.toISOString() ?? "",
      ChangeDate: state.changedAt?.toISOString() ?? "",
    });
    try {
      await this.options.provider.send({
        to: state.phone,
        text,
        idempotencyKey: job.idempotencyKey,
        code,
        language,
        expiryMs,
        values,
      });
    } catch (error) {
      return this.failure(job, error, code);
    }
    return this.delivered(job, { userId, codeSequence, createdAt: pending.createdAt, language });
  }

  /** A code an external service (Twilio Verify) makes and sends; code.sent keeps its verification id. */
  private async startVerification(job: OutboxJob, state: UserState, pending: PendingCode): Promise<Delivery> {
    const { userId } = job.payload as unknown as SmsPhoneCodeJobPayload;
    const service = this.options.provider.verification;
    if (service?.generatorId !== pending.generatorId) {
      const error = `the code is held by ${pending.generatorId}, which is not the configured provider (the user must request a new code)`;
      this.options.logger.error({ job: job.id, userId, error }, "sms job is dead: the provider refused it for good");
      return { outcome: { state: "dead", error }, metric: "dead" };
    }
    let verificationId: string;
    try {
      ({ verificationId } = await service.startVerification({ to: state.phone, idempotencyKey: job.idempotencyKey }));
    } catch (error) {
      return this.failure(job, error, undefined);
    }
    const generatorInfo = { id: service.generatorId, verificationId };
    return this.delivered(job, { userId, codeSequence: pending.sequence, createdAt: pending.createdAt, generatorInfo });
  }

  /** Counts and logs an SMS the provider accepted, then records `code.sent` for it. */
  private async delivered(
    job: OutboxJob,
    sent: {
      userId: string;
      codeSequence: number;
      createdAt: Date;
      language?: string;
      generatorInfo?: CodeGeneratorInfo;
    },
  ): Promise<Delivery> {
    const { userId, codeSequence } = sent;
    this.metrics.recordDelivered(this.options.provider.name, (Date.now() - sent.createdAt.getTime()) / 1000);
    this.options.logger.info(
      {
        job: job.id,
        userId,
        provider: this.options.provider.name,
        language: sent.language,
        attempts: job.attempts + 1,
      },
      "sms sent",
    );
    try {
      await this.options.commands.execute(userId, {
        type: "MarkPhoneCodeSent",
        codeSequence,
        generatorInfo: sent.generatorInfo,
      });
    } catch (error) {
      // The provider has the SMS: retrying the job would send it twice, so only the bookkeeping event is lost. An
      // outage is logged once by its reporter; this line then needs no stack trace.
      const reason = this.options.reportStoreOutage?.(error) ? { reason: "database unavailable" } : { err: error };
      this.options.logger.warn({ job: job.id, userId, ...reason }, "sms sent but code.sent could not be recorded");
    }
    return { outcome: { state: "done" }, metric: "sent" };
  }

  /** One warning per key id: the job is left to nodes holding the key (MYPHONE_CODE_KEYS). */
  private warnMissingKey(keyId: string, jobId: string): void {
    if (this.missingKeysWarned.has(keyId)) return;
    this.missingKeysWarned.add(keyId);
    this.options.logger.warn(
      { job: jobId, keyId, setting: "MYPHONE_CODE_KEYS" },
      "sms job left for another node: its code is encrypted with a key id this node's MYPHONE_CODE_KEYS lacks (logged once per key id)",
    );
  }

  private failure(job: OutboxJob, error: unknown, code: string | undefined): Delivery {
    // A provider may quote the request back in its error; the code must not reach logs or the outbox table.
    const message = redactCode(error instanceof Error ? error.message : String(error), code, MAX_ERROR_CHARS);
    const attempts = job.attempts + 1;
    const userId = (job.payload as Partial<SmsPhoneCodeJobPayload>).userId;
    if (error instanceof PermanentSmsError || attempts >= this.options.maxAttempts) {
      const reason =
        error instanceof PermanentSmsError ? "the provider refused it for good" : "the attempt limit is reached";
      this.options.logger.error({ job: job.id, userId, attempts, error: message }, `sms job is dead: ${reason}`);
      return { outcome: { state: "dead", error: message }, metric: "dead" };
    }
    // Exponential backoff with full jitter, so a recovering provider is not hit by every job at once.
    let delay = Math.random() * Math.min(this.retryMaxMs, this.retryBaseMs * 2 ** (attempts - 1));
    if (error instanceof RetryLaterSmsError) delay = Math.max(delay, Math.min(this.retryMaxMs, error.retryAfterMs));
    this.options.logger.warn(
      { job: job.id, userId, attempts, retryInMs: Math.round(delay), error: message },
      "sms delivery failed; will retry",
    );
    return { outcome: { state: "retry", retryAt: new Date(Date.now() + delay), error: message }, metric: "retry" };
  }
}
