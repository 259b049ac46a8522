import pino, { type Logger } from "pino";

export type { Logger };

/**
 * JSON logs on stdout. Authorization headers and anything named like a secret are redacted at the source, so
 * a stray object in a log call cannot leak a token or a key.
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
    destination,
  );
}
