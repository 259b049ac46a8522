import type http from "node:http";
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import type { SmsScopeStatus, SmsScopeStore } from "../abuse/sms-scope-store.js";
import type { BreakerTransition } from "../abuse/sms-scopes.js";
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

/** One server's Prometheus metrics, in a registry of its own: several servers can run in one process (tests). */
export class ServerMetrics {
  readonly registry = new Registry();
  /** The last scrape, reused for `scrapeCacheMs`: collecting runs every collect-at-scrape gauge (an outbox query). */
  private lastScrape?: { readonly at: number; readonly text: Promise<string> };
  private readonly rpcRequests = new Counter({
    name: "myphone_rpc_requests_total",
    help: "RPCs answered, by RPC, protocol (grpc, grpc-web, connect, rest) and code.",
    labelNames: ["rpc", "protocol", "code"] as const,
    registers: [this.registry],
  });
  /** Series bound per label set, as a lookup by label object hashes the labels per call; fixed labels keep it small. */
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
  private readonly connectionsRefused = new Counter({
    name: "myphone_connections_refused_total",
    help:
      "Connections closed at once because a cap was reached: total (MYPHONE_MAX_CONNECTIONS) or per_address " +
      "(MYPHONE_MAX_CONNECTIONS_PER_IP).",
    labelNames: ["reason"] as const,
    registers: [this.registry],
  });

  private readonly breakerTrips = new Counter({
    name: "myphone_sms_breaker_trips_total",
    help: "SMS conversion breakers this process tripped (first trips and failed trial rounds), by scope kind (country, prefix).",
    labelNames: ["kind"] as const,
    registers: [this.registry],
  });
  private readonly breakerCloses = new Counter({
    name: "myphone_sms_breaker_closes_total",
    help: "SMS conversion breakers this process closed again because their trial codes were verified, by scope kind.",
    labelNames: ["kind"] as const,
    registers: [this.registry],
  });

  /** `scrapeCacheMs`: how long one scrape's text answers further scrapes (0 = collect every time). */
  constructor(private readonly scrapeCacheMs = 0) {
    collectDefaultMetrics({ register: this.registry });
  }

  /**
   * Adds the SMS budget and breaker gauges, read from the shared store at each scrape (one status query for all),
   * so they cover every process on the database.
   */
  watchSmsScopes(store: Pick<SmsScopeStore, "status">): void {
    let pending: { at: number; status: Promise<SmsScopeStatus | undefined> } | undefined;
    // The gauges are collected one after the other in one scrape; they share one status read.
    const status = () => {
      const now = Date.now();
      if (!pending || now - pending.at > 1000) {
        pending = { at: now, status: store.status(new Date(now), { topPrefixes: 0 }).catch(() => undefined) };
      }
      return pending.status;
    };
    new Gauge({
      name: "myphone_sms_breakers",
      help:
        "SMS conversion breakers that are not closed, by scope kind (country, prefix) and phase (open: cooling " +
        "off; half_open: letting trial codes through).",
      labelNames: ["kind", "phase"] as const,
      registers: [this.registry],
      async collect() {
        const current = await status();
        this.reset();
        if (!current) return;
        for (const kind of ["country", "prefix"]) {
          for (const phase of ["open", "half_open"]) {
            this.set(
              { kind, phase },
              current.breakers.filter((b) => b.phase === phase && b.scope.startsWith(`${kind}:`)).length,
            );
          }
        }
      },
    });
    const budgetGauge = (name: string, help: string, value: (use: SmsScopeStatus["budgets"][number]) => number) =>
      new Gauge({
        name,
        help,
        labelNames: ["budget", "window"] as const,
        registers: [this.registry],
        async collect() {
          const current = await status();
          this.reset();
          for (const use of current?.budgets ?? [])
            this.set({ budget: use.kind, window: durationLabel(use.windowMs) }, value(use));
        },
      });
    budgetGauge(
      "myphone_sms_budget_used",
      "Codes counted against each SMS budget in its window, for the most used scope of the budget (the " +
        "deployment, the busiest country, the busiest number range).",
      (use) => use.used,
    );
    budgetGauge(
      "myphone_sms_budget_use_ratio",
      "Share of each SMS budget used in its window by its most used scope (1 = exhausted: further codes are refused).",
      (use) => use.used / use.max,
    );
  }

  /** Counts a breaker trip or close made by this process. */
  recordBreakerTransition(transition: BreakerTransition): void {
    if (transition.kind === "global") return;
    if (transition.to === "open") this.breakerTrips.inc({ kind: transition.kind });
    if (transition.to === "closed") this.breakerCloses.inc({ kind: transition.kind });
  }

  /** Adds `myphone_sms_jobs{state}`, counted at each scrape so it covers every process sharing the database. */
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
      series = {
        requests: this.rpcRequests.labels({ rpc, protocol, code }),
        duration: this.rpcDuration.labels({ rpc, protocol }),
      };
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

  /** Counts a connection closed at once by a connection cap. */
  recordConnectionRefused(reason: "total" | "per_address"): void {
    this.connectionsRefused.inc({ reason });
  }

  /** The metrics as text; scrapes within `scrapeCacheMs` share a collection, so hammering the endpoint costs little. */
  scrape(now = Date.now()): Promise<string> {
    const last = this.lastScrape;
    if (last && now - last.at < this.scrapeCacheMs) return last.text;
    const text = this.registry.metrics();
    const scrape = { at: now, text };
    this.lastScrape = scrape;
    text.catch(() => {
      if (this.lastScrape === scrape) this.lastScrape = undefined;
    });
    return text;
  }

  /** Answers one HTTP request with the metrics (the admin listener's `GET /metrics`). */
  serveScrape(response: http.ServerResponse): void {
    this.scrape().then(
      (text) => {
        response.writeHead(200, { "content-type": this.registry.contentType, "cache-control": "no-store" });
        response.end(text);
      },
      () => {
        response.writeHead(500, { "content-type": "text/plain; charset=utf-8" });
        response.end("metrics collection failed\n");
      },
    );
  }
}

/** "1h", "1d", "90s": a window as a label. */
function durationLabel(ms: number): string {
  for (const [unit, size] of [
    ["d", 86_400_000],
    ["h", 3_600_000],
    ["m", 60_000],
    ["s", 1000],
  ] as const) {
    if (ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}
