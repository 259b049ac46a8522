import { Code, ConnectError, type ServiceImpl } from "@connectrpc/connect";
import { Health, HealthCheckResponse_ServingStatus as ServingStatus } from "../../gen/grpc/health/v1/health_pb.js";
import type { Readiness } from "./readiness.js";

export interface HealthServiceOptions {
  /** Fully-qualified names of the services reported on, besides "" (the whole server). */
  readonly services: readonly string[];
  /** How often a Watch stream re-checks readiness (store reachability has no change event to wait for). */
  readonly watchIntervalMs?: number;
}

/**
 * grpc.health.v1.Health (Check, List, Watch) over the same readiness as `/readyz`: SERVING while the store
 * answers and the server is not shutting down, NOT_SERVING otherwise. Every reported service shares that status,
 * because each needs the store. Watch streams end, after saying NOT_SERVING, when shutdown begins, so they do not
 * hold up draining; clients then retry elsewhere, as the health protocol tells them to.
 */
export function createHealthService(readiness: Readiness, options: HealthServiceOptions): ServiceImpl<typeof Health> {
  const known = new Set(["", ...options.services]);
  const watchIntervalMs = options.watchIntervalMs ?? 5_000;
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
    },
  };
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
