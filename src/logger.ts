import pino, { type Logger } from "pino";

export type { Logger };

/**
 * JSON logs on stdout. Authorization headers and anything named like a secret are redacted at the source, so
 * a stray object in a log call cannot leak a token or a key.
 * Lines go out asynchronously: under load the lines that arrive while a write is in progress leave together in
 * the next one (one syscall for many access-log lines instead of one each, docs/performance.md). pino flushes
 * what is pending on exit, also after an uncaught exception; only a SIGKILL can lose the lines of the last write.
 */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: "myphone" },
      timestamp: isoTimeOncePerMillisecond,
      redact: {
        paths: ["authorization", "*.authorization", "headers.authorization", "token", "*.token", "code", "*.code", "key", "*.key"],
        censor: "[redacted]",
      },
    },
    destination ?? pino.destination({ dest: 1, sync: false }),
  );
}

/**
 * The same logger without redaction, for lines whose fields are all named by code and never hold a secret: the
 * access log line of every call (rpc-telemetry.ts). Redaction walks every line for its paths, which cost
 * ~3 µs of the ~4.5 µs a line takes (docs/performance.md, step 13); the output is the same.
 */
export function fixedFieldsLogger(logger: Logger): Logger {
  return logger.child({}, { redact: { paths: [] } });
}

let stampedAt = -1;
let stamp = "";

/** pino's isoTime, made once per millisecond: under load many lines share one, and toISOString is not free. */
function isoTimeOncePerMillisecond(): string {
  const now = Date.now();
  if (now !== stampedAt) {
    stampedAt = now;
    stamp = `,"time":"${new Date(now).toISOString()}"`;
  }
  return stamp;
}
