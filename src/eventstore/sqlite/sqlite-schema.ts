import type Database from "better-sqlite3";

/**
 * Bumped whenever the DDL below changes; stored in `PRAGMA user_version`. Every statement is idempotent, so running
 * the script upgrades any older file (except `outbox.key_id` of version 4, added by `migrateEventStoreSchema`).
 */
export const SQLITE_SCHEMA_VERSION = 4;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS events (
  position       INTEGER PRIMARY KEY AUTOINCREMENT,
  aggregate_type TEXT    NOT NULL,
  aggregate_id   TEXT    NOT NULL,
  owner          TEXT    NOT NULL,
  sequence       INTEGER NOT NULL,
  type           TEXT    NOT NULL,
  data           TEXT    CHECK (data IS NULL OR json_valid(data)),
  created_at     INTEGER NOT NULL,
  UNIQUE (aggregate_type, aggregate_id, sequence)
);
CREATE TABLE IF NOT EXISTS outbox (
  id              INTEGER PRIMARY KEY AUTOINCREMENT,
  kind            TEXT    NOT NULL,
  idempotency_key TEXT    NOT NULL UNIQUE,
  aggregate_id    TEXT    NOT NULL,
  payload         TEXT    NOT NULL CHECK (json_valid(payload)),
  created_at      INTEGER NOT NULL,
  due_at          INTEGER NOT NULL,
  attempts        INTEGER NOT NULL DEFAULT 0,
  state           TEXT    NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'done', 'dead')),
  lease_owner     TEXT,
  lease_until     INTEGER,
  last_error      TEXT,
  settled_at      INTEGER,
  key_id          TEXT
);
CREATE TABLE IF NOT EXISTS code_keys (
  key_id      TEXT    PRIMARY KEY,
  check_value TEXT    NOT NULL CHECK (json_valid(check_value)),
  created_at  INTEGER NOT NULL,
  active_at   INTEGER
);
CREATE INDEX IF NOT EXISTS outbox_by_state ON outbox (state, id);
CREATE INDEX IF NOT EXISTS outbox_by_state_settled_at ON outbox (state, settled_at);
-- The claim walks pending jobs in due order and stops at its limit, so jobs waiting for a retry (a provider
-- outage's backlog) are never read; walking them by id read every one of them on every claim. (SQLite's planner
-- passes over a partial index on due_at for this query.)
CREATE INDEX IF NOT EXISTS outbox_by_state_due_at ON outbox (state, due_at);
CREATE INDEX IF NOT EXISTS events_by_owner ON events (owner);
`;

/**
 * Creates the schema idempotently, in the connection's opening write transaction; refuses a file written by a newer
 * schema than this code understands.
 */
export function migrateEventStoreSchema(db: Database.Database): void {
  const version = db.pragma("user_version", { simple: true }) as number;
  if (version > SQLITE_SCHEMA_VERSION) {
    throw new Error(`event store schema version ${version} is newer than supported version ${SQLITE_SCHEMA_VERSION}`);
  }
  db.exec(SCHEMA);
  // The one change CREATE ... IF NOT EXISTS cannot make: a column for tables created before version 4.
  const outboxColumns = db.prepare<[], { name: string }>("SELECT name FROM pragma_table_info('outbox')").all();
  if (!outboxColumns.some((column) => column.name === "key_id")) db.exec("ALTER TABLE outbox ADD COLUMN key_id TEXT");
  if (version < SQLITE_SCHEMA_VERSION) db.pragma(`user_version = ${SQLITE_SCHEMA_VERSION}`);
}
