import { join } from "node:path";
import type { Config } from "../config.js";
import type { EventStore } from "./event-store.js";
import { MemoryEventStore } from "./memory-event-store.js";
import { SqliteEventStore } from "./sqlite-event-store.js";

/** The SQLite file inside the data directory. */
export const SQLITE_FILE = "myphone.sqlite";

/** Opens the store MYPHONE_STORE names. */
export function openEventStore(config: Pick<Config, "MYPHONE_STORE" | "dataDir">): EventStore {
  switch (config.MYPHONE_STORE) {
    case "memory":
      return new MemoryEventStore();
    case "sqlite":
      return SqliteEventStore.open(join(config.dataDir, SQLITE_FILE));
  }
}
