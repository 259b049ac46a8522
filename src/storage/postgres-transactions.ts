import { createHash } from "node:crypto";
import type pg from "pg";

/**
 * Key of the transaction-scoped advisory lock that serialises every myphone schema change (event store and send
 * limiter), so nodes starting at once never race on CREATE ... IF NOT EXISTS ("myphone").
 */
const MIGRATION_LOCK = 0x6d7970686f6e65n;

/** Runs `work` on one pooled connection inside BEGIN/COMMIT; on failure rolls back and rethrows. */
export function inTransaction<T>(pool: pg.Pool, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  return onPooledConnection(pool, async (client) => {
    await client.query("BEGIN");
    const result = await work(client);
    await client.query("COMMIT");
    return result;
  });
}

/**
 * Runs `work`, which begins and commits its own transaction (e.g. in a multi-statement message), on one pooled
 * connection. On failure whatever it began is rolled back; a connection that cannot roll back is dropped.
 */
export async function onPooledConnection<T>(pool: pg.Pool, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let broken: Error | undefined;
  // A checked-out client has no pool listener: its connection dying between queries would be an unhandled 'error'
  // event, which ends the process. The next query fails instead.
  const lost = (error: Error) => (broken ??= error);
  client.on("error", lost);
  try {
    return await work(client);
  } catch (error) {
    broken ??= await rollBack(client);
    throw error;
  } finally {
    client.removeListener("error", lost);
    client.release(broken);
  }
}

/** Rolls back after a failure; answers the error when even that failed, so the pool drops the connection. */
async function rollBack(client: pg.PoolClient): Promise<Error | undefined> {
  try {
    await client.query("ROLLBACK");
    return undefined;
  } catch (error) {
    return error instanceof Error ? error : new Error(String(error));
  }
}

/** Runs a schema change in one transaction under the shared migration lock: processes starting at once take turns. */
export function migrateUnderLock(pool: pg.Pool, migrate: (client: pg.PoolClient) => Promise<void>): Promise<void> {
  return inTransaction(pool, async (client) => {
    await client.query("SELECT pg_advisory_xact_lock($1)", [MIGRATION_LOCK.toString()]);
    await migrate(client);
  });
}

/**
 * The second half of a two-int advisory lock on `name`: 32 bits of its SHA-256. A collision only makes two names
 * share a lock; two-int locks never collide with single-bigint ones such as the migration lock.
 */
export function advisoryLockOf(name: string): number {
  return createHash("sha256").update(name).digest().readInt32BE(0);
}
