import type { OutboxJob, Position, RecordedEvent } from "./event-store.js";

/**
 * Rows of the stores that keep event data and job payloads as JSON text and times as epoch milliseconds (memory
 * and SQLite, whose queries name their columns like the port's fields), turned into the port's shapes. Parsing
 * the text on every read hands each caller a fresh copy.
 */

/** An event row; SQLite reads INTEGER columns as bigint. */
export interface JsonTextEventRow {
  readonly aggregateType: string;
  readonly aggregateId: string;
  readonly owner: string;
  readonly sequence: number | bigint;
  readonly position: Position;
  readonly type: string;
  readonly data: string | null;
  readonly createdAt: number | bigint;
}

/** An outbox row (or the part of one the port shows). */
export interface JsonTextJobRow {
  readonly id: number;
  readonly kind: string;
  readonly idempotencyKey: string;
  readonly aggregateId: string;
  readonly payload: string;
  readonly attempts: number;
  readonly createdAt: number;
  readonly leaseUntil: number | null;
  readonly lastError: string | null;
  readonly settledAt: number | null;
}

/** The event as the port shows it. */
export function recordedEventOf({ sequence, data, createdAt, ...names }: JsonTextEventRow): RecordedEvent {
  return {
    ...names,
    sequence: Number(sequence),
    data: data === null ? null : (JSON.parse(data) as Record<string, unknown>),
    createdAt: new Date(Number(createdAt)),
  };
}

/** The job as the port shows it; an unleased job reports the epoch as its (long expired) lease end. */
export function outboxJobOf(row: JsonTextJobRow): OutboxJob {
  return {
    id: String(row.id),
    kind: row.kind,
    idempotencyKey: row.idempotencyKey,
    aggregateId: row.aggregateId,
    payload: JSON.parse(row.payload) as Record<string, unknown>,
    attempts: row.attempts,
    createdAt: new Date(row.createdAt),
    leaseUntil: new Date(row.leaseUntil ?? 0),
    lastError: row.lastError,
    settledAt: row.settledAt === null ? null : new Date(row.settledAt),
  };
}
