import { join } from "node:path";
import type { EventStore } from "./event-store.js";
import { MemoryEventStore } from "./memory-event-store.js";
import { PostgresEventStore } from "./postgres-event-store.js";
import { SqliteEventStore } from "./sqlite-event-store.js";

/** The SQLite file inside the data directory. */
export const SQLITE_FILE = "myphone.sqlite";

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
export async function openEventStore(config: StoreSettings, options: OpenEventStoreOptions = {}): Promise<EventStore> {
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
        throw new Error(`cannot open the PostgreSQL event store at ${redactDatabaseUrl(url)} (MYPHONE_DATABASE_URL): ${reason}`, {
          cause: error,
        });
      }
    }
  }
}

/** The URL without password or query (which may carry credentials too), safe for logs and error messages. */
export function redactDatabaseUrl(url: string): string {
  try {
    const parsed = new URL(url);
    const user = parsed.username ? `${decodeURIComponent(parsed.username)}@` : "";
    return `${parsed.protocol}//${user}${parsed.host}${parsed.pathname}`;
  } catch {
    return "(unparsable URL)";
  }
}
