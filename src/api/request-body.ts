import type { NodeRequest } from "./node-handler.js";

/**
 * Reads a request body whole, straight from the stream's events (no async iterator: a unary body is one or two
 * chunks). Stops reading and fails with `tooLarge(start)` once more than `maxBytes` arrived, and with the
 * signal's reason when the exchange ends first (client reset, socket error).
 */
export function readRequestBody(request: NodeRequest, signal: AbortSignal, maxBytes: number, tooLarge: (start: Buffer) => Error): Promise<Buffer> {
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const done = (error?: unknown) => {
      request.off("data", onData);
      request.off("end", onEnd);
      request.off("error", done);
      signal.removeEventListener("abort", onAbort);
      if (error !== undefined) reject(error);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      chunks.push(chunk);
      if (size > maxBytes) done(tooLarge(Buffer.concat(chunks, size)));
    };
    const onEnd = () => {
      done();
      resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    };
    const onAbort = () => done(signal.reason);
    if (signal.aborted) return reject(signal.reason);
    request.on("data", onData);
    request.on("end", onEnd);
    request.on("error", done);
    signal.addEventListener("abort", onAbort);
  });
}
