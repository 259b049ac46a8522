import { join } from "node:path";
import { redactDatabaseUrl } from "../storage/postgres-connection.js";
import { SQLITE_FILE } from "../storage/sqlite-file.js";
import type { EventStoreAdapter } from "./event-store.js";
import { MemoryEventStore } from "./memory-event-store.js";
import { PostgresEventStore } from "./postgres/postgres-event-store.js";
import { SqliteEventStore } from "./sqlite/sqlite-event-store.js";

export interface OpenEventStoreOptions {
  /** Where background trouble of a networked store goes (e.g. a lost LISTEN connection); default: process warning. */
  readonly onBackgroundError?: (error: unknown) => void;
}

/** The settings the store is chosen and opened by (named as in config.ts, so the parsed configuration fits). */
export interface StoreSettings {
  readonly MYPHONE_STORE: "memory" | "sqlite" | "postgres";
  readonly dataDir: string;
  readonly MYPHONE_DATABASE_URL?: string;
  readonly MYPHONE_DATABASE_POOL_SIZE?: number;
}

/** Opens the store MYPHONE_STORE names (for PostgreSQL: connects and migrates the schema). */
export async function openEventStore(
  config: StoreSettings,
  options: OpenEventStoreOptions = {},
): Promise<EventStoreAdapter> {
  switch (config.MYPHONE_STORE) {
    case "memory":
      return new MemoryEventStore();
    case "sqlite":
      return SqliteEventStore.open(join(config.dataDir, SQLITE_FILE));
    case "postgres": {
      const url = config.MYPHONE_DATABASE_URL;
      if (!url) throw new Error("MYPHONE_DATABASE_URL: required when MYPHONE_STORE=postgres");
      try {
        return await PostgresEventStore.open(url, {
          poolSize: config.MYPHONE_DATABASE_POOL_SIZE,
          onBackgroundError: options.onBackgroundError,
        });
      } catch (error) {
        const reason = error instanceof Error ? error.message : String(error);
        throw new Error(
          `cannot open the PostgreSQL event store at ${redactDatabaseUrl(url)} (MYPHONE_DATABASE_URL): ${reason}`,
          {
            cause: error,
          },
        );
      }
    }
  }
}
