import { execFile, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import type { BenchRequest, LoadResult } from "./loadgen.js";
import { percentile } from "./stats.js";

/**
 * A second load generator for the gRPC rows: h2load (Debian's nghttp2-client), a C client, so a reader can see
 * whether the Node generator (bench/loadgen.ts) is what limits a number. h2load judges a response by its HTTP
 * status only; it cannot read gRPC trailers, so a gRPC error (HTTP 200, grpc-status ≠ 0) counts as a success
 * there. Callers therefore send the same request once through the Node generator, which checks grpc-status.
 */

const run = promisify(execFile);

/** h2load's version line when it is on PATH, else undefined. */
export function h2loadVersion(): string | undefined {
  const result = spawnSync("h2load", ["--version"], { encoding: "utf8" });
  return result.status === 0 ? result.stdout.trim() : undefined;
}

/**
 * Runs h2load with `clients` connections × `streams` concurrent streams each (64 in flight = 4 × 16) for
 * `durationMs` (no warm-up of its own: the caller warms up with a separate run, so the server's CPU time over a
 * run matches the requests counted). Latencies come from h2load's per-request log (`--log-file`), since its
 * summary has only min/max/mean; throughput is the 2xx responses in the log over the duration.
 */
export async function runH2load(options: {
  baseUrl: string;
  request: BenchRequest;
  clients: number;
  streams: number;
  durationMs: number;
}): Promise<LoadResult & { tool: string }> {
  const dir = mkdtempSync(join(tmpdir(), "myphone-h2load-"));
  try {
    const body = join(dir, "body.bin");
    const log = join(dir, "requests.log");
    writeFileSync(body, options.request.body);
    const headers = Object.entries(options.request.headers).flatMap(([name, value]) => ["-H", `${name}: ${value}`]);
    const seconds = options.durationMs / 1000;
    const args = [
      ...["-c", String(options.clients), "-m", String(options.streams), "-t", "1"],
      ...["-D", String(seconds)],
      // -d makes the method POST, which is what gRPC uses.
      ...(options.request.body.length > 0 ? ["-d", body] : []),
      ...headers,
      `--log-file=${log}`,
      `${options.baseUrl}${options.request.path}`,
    ];
    const { stdout } = await run("h2load", args, { maxBuffer: 16 * 1024 * 1024, timeout: options.durationMs + 60_000 });
    // "requests: N total, N started, N done, N succeeded, N failed, N errored, N timeout". Streams still open when
    // the duration ends are neither done nor failed (the log may list them with status -1): not errors.
    const summary = /requests: .*?(\d+) failed, (\d+) errored, (\d+) timeout/.exec(stdout);
    if (!summary) throw new Error(`h2load printed no request summary:\n${stdout}`);
    const errors = Number(summary[1]) + Number(summary[2]) + Number(summary[3]);
    const rows = readFileSync(log, "utf8")
      .trim()
      .split("\n")
      .filter(Boolean)
      .map((line) => line.split("\t"));
    const ok = rows.filter((cells) => cells[1]?.startsWith("2"));
    const latencies = Float64Array.from(ok.map((cells) => Number(cells[2]) / 1000)).sort();
    const statusLine = /status codes: .*/.exec(stdout)?.[0];
    return {
      tool:
        stdout
          .split("\n")
          .find((line) => line.startsWith("h2load"))
          ?.trim() ?? "h2load",
      requests: ok.length,
      errors,
      seconds,
      rps: ok.length / seconds,
      p50Ms: percentile(latencies, 50),
      p99Ms: percentile(latencies, 99),
      ...(errors > 0 ? { firstError: `h2load: ${summary[0]}; ${statusLine ?? ""}` } : {}),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
