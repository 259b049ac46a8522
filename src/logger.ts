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
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: {
        paths: ["authorization", "*.authorization", "headers.authorization", "token", "*.token", "code", "*.code", "key", "*.key"],
        censor: "[redacted]",
      },
    },
    destination ?? pino.destination({ dest: 1, sync: false }),
  );
}
