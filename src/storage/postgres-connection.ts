import pg from "pg";

/**
 * A connection pool that reports, instead of crashing on, errors of idle connections (the server restarted, the
 * network dropped one): the pool replaces such a connection on the next checkout.
 */
export function createPostgresPool(config: pg.PoolConfig, onIdleError: (error: Error) => void): pg.Pool {
  const pool = new pg.Pool(config);
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
