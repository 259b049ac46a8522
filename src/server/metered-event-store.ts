import {
  ConcurrencyError,
  type AppendRequest,
  type EventStore,
  type OutboxStore,
  type Position,
  type RecordedEvent,
} from "../eventstore/event-store.js";
import { SMS_PHONE_CODE_JOB } from "../domain/sms-jobs.js";
import type { AppendOutcome, ServerMetrics } from "./metrics.js";

/** EventStore decorator reporting appends and SMS jobs, so every adapter is measured alike and free of metrics code. */
export class MeteredEventStore implements EventStore {
  readonly outbox: OutboxStore;

  constructor(
    private readonly store: EventStore,
    private readonly metrics: ServerMetrics,
  ) {
    this.outbox = store.outbox;
  }

  async append(request: AppendRequest): Promise<RecordedEvent[]> {
    const started = process.hrtime.bigint();
    let outcome: AppendOutcome = "error";
    try {
      const recorded = await this.store.append(request);
      outcome = "ok";
      this.metrics.recordSmsJobsQueued(request.outbox?.filter((job) => job.kind === SMS_PHONE_CODE_JOB).length ?? 0);
      return recorded;
    } catch (error) {
      if (error instanceof ConcurrencyError) outcome = "conflict";
      throw error;
    } finally {
      this.metrics.recordAppend(outcome, Number(process.hrtime.bigint() - started) / 1e9);
    }
  }

  readStream(aggregateType: string, aggregateId: string, afterSequence?: number): Promise<RecordedEvent[]> {
    return this.store.readStream(aggregateType, aggregateId, afterSequence);
  }

  readAll(after: Position, limit: number): Promise<RecordedEvent[]> {
    return this.store.readAll(after, limit);
  }

  ping(): Promise<void> {
    return this.store.ping();
  }

  close(): Promise<void> {
    return this.store.close();
  }
}
