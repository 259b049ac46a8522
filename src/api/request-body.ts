import type { NodeRequest } from "./node-handler.js";
import type { CallAbort } from "./unary-method.js";

/**
 * Reads a request body whole, straight from the stream's events (no async iterator: a unary body is one or two
 * chunks). Stops reading and fails with `tooLarge(start)` once more than `maxBytes` arrived, and with the
 * call's abort reason when the call ends first (client reset, socket error, deadline, shutdown).
 */
export function readRequestBody(request: NodeRequest, call: CallAbort, maxBytes: number, tooLarge: (start: Buffer) => Error): Promise<Buffer> {
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const done = (error?: unknown) => {
      request.off("data", onData);
      request.off("end", onEnd);
      request.off("error", done);
      stopListening();
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
    if (call.aborted) return reject(call.abortReason);
    const stopListening = call.onAbort(done);
    request.on("data", onData);
    request.on("end", onEnd);
    request.on("error", done);
  });
}
