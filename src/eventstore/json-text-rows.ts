import { outboxJob, recordedEvent } from "./adapter-rules.js";
import type { OutboxJob, Position, RecordedEvent } from "./event-store.js";

/**
 * Rows of the stores keeping data as JSON text and times as epoch ms (memory and SQLite, whose queries name columns
 * like the port's fields), turned into the port's shapes. Parsing on every read hands each caller a fresh copy.
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
export function recordedEventOf(row: JsonTextEventRow): RecordedEvent {
  const data = row.data === null ? null : (JSON.parse(row.data) as Record<string, unknown>);
  return recordedEvent(row, Number(row.sequence), row.position, row.type, data, new Date(Number(row.createdAt)));
}

/** The job as the port shows it. */
export function outboxJobOf(row: JsonTextJobRow): OutboxJob {
  const payload = JSON.parse(row.payload) as Record<string, unknown>;
  return outboxJob(
    row,
    String(row.id),
    payload,
    new Date(row.createdAt),
    dateOrNull(row.leaseUntil),
    dateOrNull(row.settledAt),
  );
}

function dateOrNull(epochMs: number | null): Date | null {
  return epochMs === null ? null : new Date(epochMs);
}
