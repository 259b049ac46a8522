import { Code, ConnectError, createContextKey, type ServiceImpl } from "@connectrpc/connect";
import { Health, HealthCheckResponse_ServingStatus as ServingStatus } from "../../gen/grpc/health/v1/health_pb.js";
import type { Readiness } from "./readiness.js";

/** The HTTP/2 session or HTTP/1.1 socket a call arrived on, so Watch streams can be counted per connection. */
export const connectionKey = createContextKey<object | undefined>(undefined, { description: "connection of the call" });

export interface HealthServiceOptions {
  /** Fully-qualified names of the services reported on, besides "" (the whole server). */
  readonly services: readonly string[];
  /** How often a Watch stream re-checks readiness (store reachability has no change event to wait for). */
  readonly watchIntervalMs?: number;
  /** Watch streams one connection may hold (default 4). */
  readonly maxWatchesPerConnection?: number;
  /** Watch streams the server holds at most (default 1000). */
  readonly maxWatches?: number;
}

/**
 * grpc.health.v1.Health over `/readyz`'s readiness, shared by every service since each needs the store. Watch streams
 * end at shutdown so they do not hold up draining, and are capped: any caller can hold them open for free.
 */
export function createHealthService(readiness: Readiness, options: HealthServiceOptions): ServiceImpl<typeof Health> {
  const known = new Set(["", ...options.services]);
  const watchIntervalMs = options.watchIntervalMs ?? 5_000;
  const watches = new WatchCounter(options.maxWatchesPerConnection ?? 4, options.maxWatches ?? 1000);
  const statusNow = async () => ((await readiness.isReady()) ? ServingStatus.SERVING : ServingStatus.NOT_SERVING);
  return {
    async check(request) {
      if (!known.has(request.service)) throw new ConnectError(`unknown service ${request.service}`, Code.NotFound);
      return { status: await statusNow() };
    },
    async list() {
      const status = await statusNow();
      return { statuses: Object.fromEntries([...known].map((name) => [name, { status }])) };
    },
    async *watch(request, ctx) {
      const release = watches.acquire(ctx.values.get(connectionKey));
      try {
        let last: ServingStatus | undefined;
        while (!ctx.signal.aborted) {
          const status = known.has(request.service) ? await statusNow() : ServingStatus.SERVICE_UNKNOWN;
          if (status !== last) yield { status };
          last = status;
          if (readiness.isDraining) {
            if (status !== ServingStatus.NOT_SERVING) yield { status: ServingStatus.NOT_SERVING };
            return;
          }
          await nextCheck(watchIntervalMs, ctx.signal, readiness);
        }
      } finally {
        release();
      }
    },
  };
}

/** Open Watch streams per connection and in total, against their caps. */
class WatchCounter {
  private total = 0;
  private readonly perConnection = new WeakMap<object, number>();

  constructor(
    private readonly maxPerConnection: number,
    private readonly maxTotal: number,
  ) {}

  /** Counts one more stream on `connection`, or throws ResourceExhausted over a cap; returns its release. */
  acquire(connection: object | undefined): () => void {
    const onConnection = connection === undefined ? 0 : (this.perConnection.get(connection) ?? 0);
    if (onConnection >= this.maxPerConnection) {
      throw new ConnectError(
        `too many health Watch streams on this connection (at most ${this.maxPerConnection})`,
        Code.ResourceExhausted,
      );
    }
    if (this.total >= this.maxTotal)
      throw new ConnectError("too many health Watch streams on this server", Code.ResourceExhausted);
    this.total++;
    if (connection !== undefined) this.perConnection.set(connection, onConnection + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.total--;
      if (connection !== undefined) this.perConnection.set(connection, (this.perConnection.get(connection) ?? 1) - 1);
    };
  }
}

/** Resolves after `ms`, when draining starts, or when the call ends, whichever comes first. */
function nextCheck(ms: number, signal: AbortSignal, readiness: Readiness): Promise<void> {
  return new Promise((resolve) => {
    let unsubscribe = () => {};
    const done = () => {
      clearTimeout(timer);
      unsubscribe();
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
    unsubscribe = readiness.onDrain(done);
  });
}
