/**
 * Tells a database outage from a bug: a call failing because PostgreSQL is gone or SQLite cannot write says nothing
 * about the request. The caller should retry; operators need one line when it starts and one when it ends.
 */

/** SQLSTATEs of PostgreSQL that mean the server or the connection failed, not the statement. */
const POSTGRES_OUTAGE_STATES = new Set([
  "57P01", // admin_shutdown: the server was stopped (fast or smart shutdown) or the backend terminated
  "57P02", // crash_shutdown: another backend crashed, every connection is dropped
  "57P03", // cannot_connect_now: starting up, shutting down or in recovery
  "57P05", // idle_session_timeout
  "53300", // too_many_connections
  "53100", // disk_full
  "53200", // out_of_memory
  "58030", // io_error
]);

/** Socket errors of the connection to the database server. */
const NETWORK_ERROR_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ECONNABORTED",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "EHOSTDOWN",
  "ENETUNREACH",
  "ENETDOWN",
  "ENOTFOUND",
  "EAI_AGAIN",
]);

/** node-postgres reports these without a code. */
const POSTGRES_CLIENT_OUTAGE_MESSAGES = [
  "Connection terminated", // "… unexpectedly", "… due to connection timeout"
  "timeout exceeded when trying to connect", // the pool's connectionTimeoutMillis
  "Client has encountered a connection error and is not queryable",
  "Query read timeout",
];

/**
 * SQLite result codes (extended ones included) a later retry may cure: busy past busy_timeout, I/O error, full disk,
 * cannot open. SQLITE_CORRUPT and the like are left out: waiting does not repair a damaged file.
 */
const SQLITE_OUTAGE_CODES = /^SQLITE_(BUSY|LOCKED|IOERR|FULL|CANTOPEN)(_|$)/;

/** The fields of an error this module reads; read by shape, since errors of another realm fail `instanceof`. */
interface ErrorShape {
  readonly code?: unknown;
  readonly message?: unknown;
  readonly cause?: unknown;
  readonly errors?: unknown;
}

/** True when `error` (or an error it was caused by) means the database is unreachable or cannot write right now. */
export function isStoreOutage(error: unknown): boolean {
  for (let current = error, depth = 0; typeof current === "object" && current !== null && depth < 5; depth++) {
    const { code, message, cause, errors } = current as ErrorShape;
    if (typeof code === "string") {
      if (POSTGRES_OUTAGE_STATES.has(code) || code.startsWith("08")) return true;
      if (NETWORK_ERROR_CODES.has(code) || SQLITE_OUTAGE_CODES.test(code)) return true;
    }
    if (typeof message === "string" && POSTGRES_CLIENT_OUTAGE_MESSAGES.some((known) => message.startsWith(known)))
      return true;
    // An AggregateError (connecting to every address of a host name failed) carries the socket errors.
    if (Array.isArray(errors) && errors.some(isStoreOutage)) return true;
    current = cause;
  }
  return false;
}

/** A short, secret-free reason for the log line: the error's code and message (node-postgres puts no SQL there). */
export function outageReason(error: unknown): string {
  if (typeof error !== "object" || error === null) return String(error);
  const { code, message } = error as ErrorShape;
  return `${typeof code === "string" ? `${code} ` : ""}${String(message)}`.slice(0, 300);
}

export interface StoreOutageMonitorOptions {
  /** Asks the database whether it answers again (the store's ping). */
  readonly probe: () => Promise<void>;
  /** Once, when an outage starts. */
  readonly onStart: (reason: string) => void;
  /** Once, when it ends: the probe answered and no call failed for `quietMs`. */
  readonly onEnd: (downForMs: number) => void;
  /** Time between probes while the database is down (default 250 ms). */
  readonly probeIntervalMs?: number;
  /**
   * How long no call may have failed before a successful probe ends the outage (default 1 s): else a store whose
   * reads answer while writes fail (a full disk) would start and end an outage per failed write.
   */
  readonly quietMs?: number;
}

/**
 * Follows the database's availability from the failures callers report: the first outage error calls `onStart`,
 * then the store is probed until it answers and calls stopped failing, which calls `onEnd`.
 */
export class StoreOutageMonitor {
  private downSince: number | undefined;
  private lastFailure = 0;
  private timer: NodeJS.Timeout | undefined;
  private probing = false;
  private stopped = false;

  constructor(private readonly options: StoreOutageMonitorOptions) {}

  /** True while an outage is on. */
  get down(): boolean {
    return this.downSince !== undefined;
  }

  /** Reports a failure; true when it is an outage (the caller should answer Unavailable and log nothing itself). */
  report(error: unknown): boolean {
    if (!isStoreOutage(error)) return false;
    this.lastFailure = Date.now();
    if (this.downSince === undefined && !this.stopped) {
      this.downSince = this.lastFailure;
      this.options.onStart(outageReason(error));
      this.timer = setInterval(() => void this.probe(), this.options.probeIntervalMs ?? 250);
      this.timer.unref();
    }
    return true;
  }

  /** Stops probing (at shutdown). */
  stop(): void {
    this.stopped = true;
    clearInterval(this.timer);
  }

  private async probe(): Promise<void> {
    if (this.probing || this.downSince === undefined) return;
    this.probing = true;
    try {
      await this.options.probe();
      if (Date.now() - this.lastFailure < (this.options.quietMs ?? 1000)) return;
      const downForMs = Date.now() - this.downSince;
      this.downSince = undefined;
      clearInterval(this.timer);
      this.options.onEnd(downForMs);
    } catch {
      // Still down: the next probe asks again.
    } finally {
      this.probing = false;
    }
  }
}
