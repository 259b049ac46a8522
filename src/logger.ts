import pino, { type Logger } from "pino";

export type { Logger };

/**
 * JSON logs on stdout, secrets redacted at the source so a stray object cannot leak a token or key. Written
 * asynchronously to batch lines under load; pino flushes on exit, so only a SIGKILL loses the last write's lines.
 */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: "myphone" },
      timestamp: isoTimeOncePerMillisecond,
      redact: {
        paths: [
          "authorization",
          "*.authorization",
          "headers.authorization",
          "token",
          "*.token",
          "code",
          "*.code",
          "key",
          "*.key",
        ],
        censor: "[redacted]",
      },
    },
    destination ?? pino.destination({ dest: 1, sync: false }),
  );
}

/**
 * The logger without redaction (which walks every line and is most of its cost), for lines whose fields are all
 * named by code and never hold a secret: the access log line (rpc-telemetry.ts).
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
