import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import type { NodeHandler } from "../transport/node-handler.js";
import { SMS_PHONE_CODE_JOB } from "../domain/sms-jobs.js";
import type { OutboxStore } from "../eventstore/event-store.js";

/** How a call reached us: the three Connect protocols, or a REST route transcoded into one of them. */
export type RpcProtocol = "grpc" | "grpc-web" | "connect" | "rest";

/** One finished RPC, as the metrics see it. */
export interface RpcObservation {
  /** "zitadel.auth.v1.AuthService/SetMyPhone". */
  readonly rpc: string;
  readonly protocol: RpcProtocol;
  /** Connect's code name ("ok", "invalid_argument", ...). */
  readonly code: string;
  readonly durationSeconds: number;
}

/** Outcome of one event store append. */
export type AppendOutcome = "ok" | "conflict" | "error";

/** Outbox states an operator watches: jobs waiting to be sent, and jobs given up on. */
const WATCHED_JOB_STATES = ["pending", "dead"] as const;

/** Seconds; RPCs are a few milliseconds when healthy, seconds when the disk or the provider is not. */
const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/**
 * The Prometheus metrics of one server, in a registry of its own (several servers can run in one process, as
 * in the tests). Other parts report through the `record*` methods; `/metrics` serves the text format.
 */
export class ServerMetrics {
  readonly registry = new Registry();
  private readonly rpcRequests = new Counter({
    name: "myphone_rpc_requests_total",
    help: "RPCs answered, by RPC, protocol (grpc, grpc-web, connect, rest) and code.",
    labelNames: ["rpc", "protocol", "code"] as const,
    registers: [this.registry],
  });
  /**
   * Label-bound children per (rpc, protocol, code): looking a series up by its label object hashes the labels on
   * every call. The label values come from fixed sets (methods, protocols, codes), so the map stays small.
   */
  private readonly rpcSeries = new Map<string, { requests: Counter.Internal; duration: Histogram.Internal<string> }>();
  private readonly rpcDuration = new Histogram({
    name: "myphone_rpc_duration_seconds",
    help: "Time from a decoded request to its answer, by RPC and protocol.",
    labelNames: ["rpc", "protocol"] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  private readonly abuseRefusals = new Counter({
    name: "myphone_abuse_refusals_total",
    help: "Calls refused by an abuse limit, by the refusal's error id (e.g. MYPHONE-SnCdn, MYPHONE-CoAtt).",
    labelNames: ["limit"] as const,
    registers: [this.registry],
  });
  private readonly appendDuration = new Histogram({
    name: "myphone_eventstore_append_duration_seconds",
    help: "Event store append latency (commit included), by outcome (ok, conflict, error).",
    labelNames: ["outcome"] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  private readonly smsJobsQueued = new Counter({
    name: "myphone_sms_jobs_queued_total",
    help: "SMS jobs committed to the outbox together with their code event.",
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }

  /**
   * Adds the `myphone_sms_jobs{state}` gauge, counted by the outbox at each scrape (one query, no rows read), so
   * it shows jobs of every process sharing the database. Done jobs are left out: they are only kept until swept.
   */
  watchOutbox(outbox: OutboxStore): void {
    new Gauge({
      name: "myphone_sms_jobs",
      help: "SMS jobs in the outbox by state: pending (not yet sent, including retries) and dead (given up).",
      labelNames: ["state"] as const,
      registers: [this.registry],
      async collect() {
        try {
          const counts = await outbox.countByState(WATCHED_JOB_STATES, SMS_PHONE_CODE_JOB);
          for (const state of WATCHED_JOB_STATES) this.set({ state }, counts[state]);
        } catch {
          // A closed or unreachable store shows in /readyz; the scrape still answers with the other metrics.
          for (const state of WATCHED_JOB_STATES) this.remove({ state });
        }
      },
    });
  }

  /** Counts and times one answered RPC. */
  recordRpc(observation: RpcObservation): void {
    const { rpc, protocol, code, durationSeconds } = observation;
    const key = `${rpc} ${protocol} ${code}`;
    let series = this.rpcSeries.get(key);
    if (!series) {
      series = { requests: this.rpcRequests.labels({ rpc, protocol, code }), duration: this.rpcDuration.labels({ rpc, protocol }) };
      this.rpcSeries.set(key, series);
    }
    series.requests.inc();
    series.duration.observe(durationSeconds);
  }

  /** Counts a call refused by an abuse limit; `limit` is the refusal's stable error id. */
  recordAbuseRefusal(limit: string): void {
    this.abuseRefusals.inc({ limit });
  }

  /** Times one event store append. */
  recordAppend(outcome: AppendOutcome, durationSeconds: number): void {
    this.appendDuration.observe({ outcome }, durationSeconds);
  }

  /** Counts SMS jobs that were committed. */
  recordSmsJobsQueued(count: number): void {
    if (count > 0) this.smsJobsQueued.inc(count);
  }

  /** `GET /metrics` in the Prometheus text format; other requests go to `next`. */
  routes(next: NodeHandler): NodeHandler {
    return (request, response) => {
      if ((request.url ?? "").split("?", 1)[0] !== "/metrics") return next(request, response);
      this.registry.metrics().then(
        (text) => {
          response.writeHead(200, { "content-type": this.registry.contentType, "cache-control": "no-store" });
          response.end(text);
        },
        () => {
          response.writeHead(500, { "content-type": "text/plain; charset=utf-8" });
          response.end("metrics collection failed\n");
        },
      );
    };
  }
}
