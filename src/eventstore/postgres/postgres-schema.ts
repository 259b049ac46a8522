import type pg from "pg";
import { migrateUnderLock } from "../../storage/postgres-transactions.js";

/** Every table lives in this schema, so myphone can share a database with other applications. */
export const SCHEMA = "myphone";

/**
 * Schema migrations; version n is `MIGRATIONS[n - 1]`. Append new entries, never edit applied ones. The position is
 * (tx_id, global_seq), tx_id the writer's xid8; readers only return rows below the oldest running transaction
 * (pg_snapshot_xmin), so a late commit never lands behind a position a reader passed (docs/scaling.md).
 */
const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE ${SCHEMA}.events (
    tx_id          xid8        NOT NULL DEFAULT pg_current_xact_id(),
    global_seq     bigint      GENERATED ALWAYS AS IDENTITY,
    aggregate_type text        NOT NULL,
    aggregate_id   text        NOT NULL,
    sequence       bigint      NOT NULL CHECK (sequence > 0),
    owner          text        NOT NULL,
    type           text        NOT NULL,
    data           jsonb,
    created_at     timestamptz NOT NULL,
    CONSTRAINT events_stream_sequence PRIMARY KEY (aggregate_type, aggregate_id, sequence)
  );
  CREATE UNIQUE INDEX events_position ON ${SCHEMA}.events (tx_id, global_seq);
  CREATE INDEX events_owner ON ${SCHEMA}.events (owner);
  CREATE TABLE ${SCHEMA}.outbox (
    id              bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind            text        NOT NULL,
    idempotency_key text        NOT NULL UNIQUE,
    aggregate_id    text        NOT NULL,
    payload         jsonb       NOT NULL,
    created_at      timestamptz NOT NULL,
    due_at          timestamptz NOT NULL,
    attempts        integer     NOT NULL DEFAULT 0,
    state           text        NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'done', 'dead')),
    lease_owner     text,
    lease_until     timestamptz,
    last_error      text,
    settled_at      timestamptz
  );
  CREATE INDEX outbox_by_state ON ${SCHEMA}.outbox (state, id);
  `,
  // 2: the retention sweep finds expired done jobs without scanning the ones still kept.
  `
  CREATE INDEX outbox_by_state_settled_at ON ${SCHEMA}.outbox (state, settled_at);
  `,
  // 3: the claim walks pending jobs in due order and stops at its limit, never reading jobs waiting for a retry.
  `
  CREATE INDEX outbox_by_state_due_at ON ${SCHEMA}.outbox (state, due_at, id);
  `,
  // 4: the code key each job needs (a node lacking it leaves the job to one that has it), and the deployment's code
  // keys (a node with other keys refuses to start).
  `
  ALTER TABLE ${SCHEMA}.outbox ADD COLUMN key_id text;
  CREATE TABLE ${SCHEMA}.code_keys (
    key_id      text        PRIMARY KEY,
    check_value jsonb       NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    active_at   timestamptz
  );
  `,
];

/** The schema version this code writes and understands. */
export const POSTGRES_SCHEMA_VERSION = MIGRATIONS.length;

/**
 * Creates or upgrades the schema in one transaction under the migration lock (nodes starting at once take turns);
 * refuses a database written by a newer schema than this code understands.
 */
export async function migrateEventStoreSchema(pool: pg.Pool): Promise<void> {
  await migrateUnderLock(pool, async (client) => {
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${SCHEMA}`);
    await client.query(
      `CREATE TABLE IF NOT EXISTS ${SCHEMA}.schema_version (
         singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
         version   integer NOT NULL,
         updated_at timestamptz NOT NULL DEFAULT now())`,
    );
    const found = await client.query<{ version: number }>(`SELECT version FROM ${SCHEMA}.schema_version`);
    const version = found.rows[0]?.version ?? 0;
    if (version > POSTGRES_SCHEMA_VERSION) {
      throw new Error(
        `event store schema version ${version} is newer than supported version ${POSTGRES_SCHEMA_VERSION}`,
      );
    }
    for (let next = version + 1; next <= POSTGRES_SCHEMA_VERSION; next++) await client.query(MIGRATIONS[next - 1]!);
    if (version < POSTGRES_SCHEMA_VERSION) {
      await client.query(
        `INSERT INTO ${SCHEMA}.schema_version (version) VALUES ($1)
         ON CONFLICT (singleton) DO UPDATE SET version = EXCLUDED.version, updated_at = now()`,
        [POSTGRES_SCHEMA_VERSION],
      );
    }
  });
}
