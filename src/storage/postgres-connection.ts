import pg from "pg";

/**
 * How long a call waits for a connection (pooled or new) before failing as Unavailable: without it, a server that
 * drops packets would hold calls until TCP gives up.
 */
export const POSTGRES_CONNECT_TIMEOUT_MS = 5000;

/** A pool that reports, rather than crashes on, errors of idle connections; it replaces them on the next checkout. */
export function createPostgresPool(config: pg.PoolConfig, onIdleError: (error: Error) => void): pg.Pool {
  const pool = new pg.Pool({ connectionTimeoutMillis: POSTGRES_CONNECT_TIMEOUT_MS, ...config });
  pool.on("error", onIdleError);
  return pool;
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
