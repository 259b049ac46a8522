import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { GetMyPhoneRequestSchema, SetMyPhoneRequestSchema } from "../gen/zitadel/auth_pb.js";
import { newWebhookSecret, startFakeWebhook, type FakeSmsServer } from "../test/support/fake-sms-servers.js";
import {
  SERVER_CORE,
  cpuMs,
  encode,
  envNumber,
  fetchMetrics,
  machine,
  markdownTable,
  phoneNumber,
  rssMb,
  saveResult,
  seedUsers,
  sleep,
  startMyphone,
  stop,
} from "./harness.js";
import { runOpenLoad, type IntervalStats, type MixedRequest, type Protocol } from "./loadgen.js";

/**
 * `npm run bench:soak`: issue 7's soak. myphone on SQLite (durable, abuse limits off) pinned to core 0, sending
 * every code through the webhook SMS provider to a fake receiver in this process (signed, checked, answers 200).
 * First finds the mix's maximum sustained rate (open-loop steps of rising rate, SMS delivery included: see the
 * probe), then drives it open-loop at half that rate, sampling the
 * server every interval: RSS, CPU, answers, errors, p99, SMS delivered. Passes when RSS after the reference
 * point (1 minute) grows by less than 10%, nothing failed, and every accepted SetMyPhone's SMS job was settled:
 * delivered to the receiver, or skipped because the user's next SetMyPhone superseded the code before it was
 * sent (the worker's own outcome counts, read from /metrics). Prints a table, saves bench/results/<date>-soak.json.
 *
 * The mix (MIX): 50% SetMyPhone over gRPC, 25% SetMyPhone over Connect JSON (HTTP/1.1), 25% GetMyPhone over REST
 * (HTTP/1.1), users asked round-robin, a fresh number per SetMyPhone.
 * Environment: BENCH_SOAK_MINUTES (10), BENCH_SOAK_SECONDS (overrides the minutes, for short checks),
 * BENCH_SOAK_RPS (unset: half the measured maximum), BENCH_SOAK_PROBE_SECONDS (10, per step),
 * BENCH_SOAK_PROBE_START_RPS (200), BENCH_SOAK_INTERVAL_SECONDS (5),
 * BENCH_SOAK_MAX_OUTSTANDING (2 seconds' worth of requests), BENCH_USERS (2000), BENCH_SERVER_CORE (0).
 */

const DURATION_S = envNumber("BENCH_SOAK_SECONDS", envNumber("BENCH_SOAK_MINUTES", 10) * 60);
const FIXED_RPS = process.env.BENCH_SOAK_RPS ? envNumber("BENCH_SOAK_RPS", 0) : undefined;
const PROBE_S = envNumber("BENCH_SOAK_PROBE_SECONDS", 10);
/** The probe's first rate, the factor between its steps, and the 99th percentile latency a sustained step stays under. */
const PROBE_START_RPS = envNumber("BENCH_SOAK_PROBE_START_RPS", 200);
const PROBE_FACTOR = 1.25;
const PROBE_MAX_P99_MS = 250;
const INTERVAL_S = envNumber("BENCH_SOAK_INTERVAL_SECONDS", 5);
const USERS = envNumber("BENCH_USERS", 2000);
/** Issue 7: RSS measured from the end of the first minute on may grow by less than this. */
const MAX_GROWTH_PCT = 10;
/** Where growth is measured from: 1 minute, or half the run when it is shorter than 2 minutes (short checks). */
const REFERENCE_S = DURATION_S >= 120 ? 60 : DURATION_S / 2;
/** How long the SMS worker gets after the load to settle the last jobs. */
const DRAIN_S = 120;

/** The mix: each part's share of the requests (and of the 64 in flight while probing the maximum rate). */
const MIX: readonly { label: string; rpc: "SetMyPhone" | "GetMyPhone"; protocol: Protocol; share: number }[] = [
  { label: "SetMyPhone grpc", rpc: "SetMyPhone", protocol: "grpc", share: 2 },
  { label: "SetMyPhone connect-json-h1", rpc: "SetMyPhone", protocol: "connect-json-h1", share: 1 },
  { label: "GetMyPhone rest-h1", rpc: "GetMyPhone", protocol: "rest-h1", share: 1 },
];
/** The open loop's request order, repeated: each part as often as its share, spread out (smooth weighted round-robin). */
const SCHEDULE = (() => {
  const total = MIX.reduce((sum, part) => sum + part.share, 0);
  const credit = MIX.map(() => 0);
  return Array.from({ length: total }, () => {
    MIX.forEach((part, i) => (credit[i]! += part.share));
    const next = credit.indexOf(Math.max(...credit));
    credit[next]! -= total;
    return MIX[next]!;
  });
})();

/** One step of the maximum-rate probe: the mix open-loop at `rate` for BENCH_SOAK_PROBE_SECONDS. */
interface ProbeStep {
  rate: number;
  achievedRps: number;
  p99Ms: number;
  errors: number;
  /** SetMyPhone of this step whose SMS job was not settled yet when the step ended. */
  smsBacklog: number;
  sustained: boolean;
  firstError?: string;
}

interface Sample {
  /** Seconds since the open-loop load started. */
  atS: number;
  rssMb: number;
  /** Server CPU over the interval, % of one core. */
  cpuPercent: number;
  ok: number;
  errors: number;
  p99Ms: number;
  outstanding: number;
  /** SMS the webhook received so far (whole run, distinct ids). */
  smsDelivered: number;
  /** SMS jobs the worker skipped so far (code superseded or expired before sending; from /metrics). */
  smsSkipped?: number;
  /** Accepted SetMyPhone whose SMS job is not settled yet. */
  smsBacklog?: number;
  /** V8 heap in use and reserved, and memory outside the heap (Buffers, native), from /metrics: tells a leak of JS objects from heap sizing. */
  heapUsedMb?: number;
  heapTotalMb?: number;
  externalMb?: number;
}

/** The server's SMS job outcomes so far (myphone_sms_sends_total by outcome: sent, superseded, expired, retry, dead). */
async function smsOutcomes(adminUrl: string): Promise<Record<string, number>> {
  return (await scrape(adminUrl)).outcomes;
}

/** One /metrics scrape: SMS job outcomes so far and the process's memory by kind (MB). */
async function scrape(
  adminUrl: string,
): Promise<{ outcomes: Record<string, number>; heapUsedMb?: number; heapTotalMb?: number; externalMb?: number }> {
  const text = await fetchMetrics(adminUrl);
  const outcomes: Record<string, number> = {};
  for (const [, labels = "", value] of text.matchAll(/^myphone_sms_sends_total\{([^}]*)\} (\S+)$/gm)) {
    const outcome = /outcome="([^"]+)"/.exec(labels)?.[1] ?? "?";
    outcomes[outcome] = (outcomes[outcome] ?? 0) + Number(value);
  }
  const mb = (name: string) => {
    const match = new RegExp(`^${name} (\\S+)$`, "m").exec(text);
    return match ? Number(match[1]) / 1024 / 1024 : undefined;
  };
  return {
    outcomes,
    heapUsedMb: mb("nodejs_heap_size_used_bytes"),
    heapTotalMb: mb("nodejs_heap_size_total_bytes"),
    externalMb: mb("nodejs_external_memory_bytes"),
  };
}

/** Jobs that are finished: sent, skipped or dead (a retry is a pass, not an end). */
const settledJobs = (outcomes: Record<string, number>) =>
  (outcomes.sent ?? 0) + (outcomes.superseded ?? 0) + (outcomes.expired ?? 0) + (outcomes.dead ?? 0);
const skippedJobs = (outcomes: Record<string, number>) => (outcomes.superseded ?? 0) + (outcomes.expired ?? 0);

/** Counts the webhook's deliveries without keeping them: the fake records every request, which a soak must not. */
function countDeliveries(webhook: FakeSmsServer): { distinct: () => number; total: () => number; forget: () => void } {
  const ids = new Set<string>();
  let total = 0;
  webhook.onDelivery((sms) => {
    total++;
    ids.add(sms.id);
  });
  return {
    distinct: () => ids.size,
    total: () => total,
    forget: () => {
      webhook.requests.length = 0;
      webhook.delivered.length = 0;
    },
  };
}

async function main(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), "myphone-bench-soak-"));
  const secret = newWebhookSecret();
  const webhook = await startFakeWebhook({ signing: { scheme: "standard-webhooks", secret } });
  const deliveries = countDeliveries(webhook);
  let server: Awaited<ReturnType<typeof startMyphone>> | undefined;
  try {
    const storeEnv = { MYPHONE_STORE: "sqlite", MYPHONE_DATA_DIR: dataDir };
    const tokens = await seedUsers(storeEnv, USERS, DURATION_S + PROBE_S + 3600, "5");
    const env = {
      ...storeEnv,
      MYPHONE_ABUSE_LIMITS: "off",
      MYPHONE_SMS_PROVIDER: "webhook",
      MYPHONE_SMS_WEBHOOK_URL: `${webhook.url}/sms`,
      MYPHONE_SMS_WEBHOOK_SECRET: secret,
      MYPHONE_SMS_WEBHOOK_SIGNING: "standard-webhooks",
    };
    server = await startMyphone(env);
    const pid = server.child.pid!;
    const baseUrl = `http://127.0.0.1:${server.port}`;
    const adminUrl = server.adminUrl;

    // One counter per RPC for the whole run: SetMyPhone numbers never repeat, users are asked round-robin.
    let sets = 0;
    let gets = 0;
    const request = (rpc: "SetMyPhone" | "GetMyPhone", protocol: Protocol) => {
      if (rpc === "GetMyPhone")
        return encode(protocol, rpc, GetMyPhoneRequestSchema, {}, {}, tokens[gets++ % tokens.length]!);
      const n = sets++;
      const phone = phoneNumber(n);
      return encode(protocol, rpc, SetMyPhoneRequestSchema, { phone }, { phone }, tokens[n % tokens.length]!);
    };

    // Accepted SetMyPhone calls so far (each queued one SMS job), probe steps included.
    let setOk = 0;
    const acceptedSets = (okByLabel: Readonly<Record<string, number>>) =>
      Object.entries(okByLabel)
        .filter(([label]) => label.startsWith("SetMyPhone"))
        .reduce((sum, [, count]) => sum + count, 0);
    const mixRequest = (i: number): MixedRequest => {
      const part = SCHEDULE[i % SCHEDULE.length]!;
      return { protocol: part.protocol, label: part.label, request: request(part.rpc, part.protocol) };
    };
    const waitForSettledJobs = async () => {
      const started = performance.now();
      while (settledJobs(await smsOutcomes(adminUrl)) < setOk) {
        if (performance.now() - started > DRAIN_S * 1000)
          throw new Error(`SMS jobs were not settled within ${DRAIN_S} s`);
        await sleep(200);
      }
    };

    // The maximum rate is the highest open-loop rate the server sustains with all the work the mix creates,
    // SMS delivery included: a closed loop outruns the SMS worker (it queues jobs faster than they are sent, and
    // the user's next SetMyPhone then supersedes the code, which is cheaper than sending it), so its req/s is not
    // a rate the server can keep up. Each step runs the mix open-loop at one rate and passes when every request
    // was answered without error within PROBE_MAX_P99_MS at the 99th percentile and, right after the step, the
    // SMS jobs not yet settled are at most one second's worth of SetMyPhone. Rates rise by PROBE_FACTOR until a
    // step fails, then one step halfway between the last pass and the failure refines the answer. The jobs of
    // each step are settled before the next one starts. Errors of a failing step are how it fails: reported,
    // but not counted against the soak.
    const probeSteps: ProbeStep[] = [];
    const probeStep = async (rate: number): Promise<ProbeStep> => {
      const result = await runOpenLoad({
        baseUrl,
        ratePerSecond: rate,
        durationMs: PROBE_S * 1000,
        maxOutstanding: Math.max(256, Math.ceil(rate * 2)),
        intervalMs: PROBE_S * 1000,
        drainMs: 10_000,
        makeRequest: mixRequest,
      });
      setOk += acceptedSets(result.okByLabel);
      const smsBacklog = setOk - settledJobs(await smsOutcomes(adminUrl));
      const setsPerSecond =
        (rate * MIX.filter((part) => part.rpc === "SetMyPhone").reduce((sum, part) => sum + part.share, 0)) /
        SCHEDULE.length;
      const sustained =
        result.errors === 0 && result.p99Ms <= PROBE_MAX_P99_MS && smsBacklog <= Math.max(50, setsPerSecond);
      const step: ProbeStep = {
        rate,
        achievedRps: result.rps,
        p99Ms: result.p99Ms,
        errors: result.errors,
        smsBacklog,
        sustained,
        ...(result.firstError ? { firstError: result.firstError } : {}),
      };
      probeSteps.push(step);
      process.stderr.write(
        `probe ${rate.toFixed(0)} req/s: achieved ${result.rps.toFixed(0)}, p99 ${result.p99Ms.toFixed(1)} ms, errors ${result.errors}, SMS backlog ${smsBacklog}: ${sustained ? "sustained" : "not sustained"}\n`,
      );
      await waitForSettledJobs();
      return step;
    };
    let maxRps: number | undefined;
    if (FIXED_RPS === undefined) {
      let passed: number | undefined;
      let failed: number | undefined;
      for (let rate = PROBE_START_RPS; failed === undefined; rate *= PROBE_FACTOR) {
        if ((await probeStep(rate)).sustained) passed = rate;
        else failed = rate;
      }
      if (passed === undefined)
        throw new Error(`the server did not sustain even ${PROBE_START_RPS} req/s (BENCH_SOAK_PROBE_START_RPS)`);
      const middle = (passed + failed) / 2;
      if ((await probeStep(middle)).sustained) passed = middle;
      maxRps = passed;
    }
    const rate = FIXED_RPS ?? maxRps! / 2;
    // Enough for a 2-second stall at the soak rate; beyond it the server is not keeping up and requests count as errors.
    const maxOutstanding = envNumber("BENCH_SOAK_MAX_OUTSTANDING", Math.max(256, Math.ceil(rate * 2)));
    process.stderr.write(
      `${maxRps === undefined ? "rate fixed by BENCH_SOAK_RPS" : `max sustained rate of the mix ${maxRps.toFixed(0)} req/s (${probeSteps.length} probe steps of ${PROBE_S} s)`}; ` +
        `soak at ${rate.toFixed(0)} req/s for ${DURATION_S} s\n`,
    );

    // The soak: open loop at `rate`, one sample of the server per interval.
    const samples: Sample[] = [];
    let lastCpu = cpuMs(pid);
    let lastAt = performance.now();
    const scrapes: Promise<void>[] = [];
    const onInterval = (stats: IntervalStats) => {
      const now = performance.now();
      const cpu = cpuMs(pid);
      const sample: Sample = {
        atS: Math.round(stats.atMs / 100) / 10,
        rssMb: rssMb(pid),
        cpuPercent: ((cpu - lastCpu) / (now - lastAt)) * 100,
        ok: stats.ok,
        errors: stats.errors,
        p99Ms: stats.p99Ms,
        outstanding: stats.outstanding,
        smsDelivered: deliveries.distinct(),
      };
      lastCpu = cpu;
      lastAt = now;
      samples.push(sample);
      deliveries.forget();
      // runOpenLoad reports every answer in some interval.
      setOk += acceptedSets(stats.okByLabel);
      const accepted = setOk;
      // The load must not wait for the scrape: the sample's SMS columns are filled in when it answers.
      scrapes.push(
        scrape(adminUrl).then(
          ({ outcomes, heapUsedMb, heapTotalMb, externalMb }) => {
            sample.smsSkipped = skippedJobs(outcomes);
            sample.smsBacklog = accepted - settledJobs(outcomes);
            Object.assign(sample, { heapUsedMb, heapTotalMb, externalMb });
            process.stderr.write(
              `${sample.atS.toFixed(0).padStart(5)} s  RSS ${sample.rssMb.toFixed(0)} MB (heap ${heapUsedMb?.toFixed(0)}/${heapTotalMb?.toFixed(0)}, external ${externalMb?.toFixed(0)})  CPU ${sample.cpuPercent.toFixed(0)}%  ok ${sample.ok}  errors ${sample.errors}  ` +
                `p99 ${sample.p99Ms.toFixed(1)} ms  SMS delivered ${sample.smsDelivered} skipped ${sample.smsSkipped} backlog ${sample.smsBacklog}\n`,
            );
          },
          (error: unknown) =>
            void process.stderr.write(`${sample.atS.toFixed(0)} s: /metrics failed: ${String(error)}\n`),
        ),
      );
    };
    const load = await runOpenLoad({
      baseUrl,
      ratePerSecond: rate,
      durationMs: DURATION_S * 1000,
      maxOutstanding,
      intervalMs: INTERVAL_S * 1000,
      onInterval,
      makeRequest: mixRequest,
    });

    await Promise.all(scrapes);
    const finalRss = samples.at(-1)?.rssMb ?? rssMb(pid);

    // Give the SMS worker time to settle the last jobs.
    let outcomes = await smsOutcomes(adminUrl);
    const drainStart = performance.now();
    while (settledJobs(outcomes) < setOk && performance.now() - drainStart < DRAIN_S * 1000) {
      await sleep(1000);
      outcomes = await smsOutcomes(adminUrl);
    }
    const drainS = (performance.now() - drainStart) / 1000;
    const rssAfterDrain = rssMb(pid);

    // Verdict: RSS from the reference point on (the last sample at or before it), errors, SMS.
    const reference = [...samples].reverse().find((s) => s.atS <= REFERENCE_S + 0.5) ?? samples[0];
    const after = samples.filter((s) => s.atS > REFERENCE_S + 0.5);
    const maxAfter = after.length > 0 ? Math.max(...after.map((s) => s.rssMb)) : undefined;
    const growthPct =
      reference && maxAfter !== undefined ? ((maxAfter - reference.rssMb) / reference.rssMb) * 100 : undefined;
    const finalGrowthPct = reference ? ((finalRss - reference.rssMb) / reference.rssMb) * 100 : undefined;
    const errors = load.errors;
    const smsDelivered = deliveries.distinct();
    const webhookRejected = webhook.rejected.length;
    const smsPending = setOk - settledJobs(outcomes);
    const checks = {
      growth: growthPct !== undefined && growthPct < MAX_GROWTH_PCT,
      noErrors: errors === 0 && webhookRejected === 0 && (outcomes.dead ?? 0) === 0,
      // Every job settled, and what the worker counts as sent is what the receiver got (no loss, no duplicate).
      everySmsSettled: smsPending === 0 && smsDelivered === (outcomes.sent ?? 0) && deliveries.total() === smsDelivered,
    };
    const pass = checks.growth && checks.noErrors && checks.everySmsSettled;

    const fmt = (value: number | undefined, digits: number) =>
      value === undefined || Number.isNaN(value) ? "n/a" : value.toFixed(digits);
    process.stdout.write(
      `${markdownTable(
        [
          "t s",
          "RSS MB",
          "heap used / total MB",
          "external MB",
          "CPU %",
          "ok",
          "errors",
          "p99 ms",
          "in flight",
          "SMS delivered",
          "SMS skipped",
          "SMS backlog",
        ],
        samples.map((s) => [
          fmt(s.atS, 0),
          fmt(s.rssMb, 1),
          `${fmt(s.heapUsedMb, 0)} / ${fmt(s.heapTotalMb, 0)}`,
          fmt(s.externalMb, 0),
          fmt(s.cpuPercent, 0),
          String(s.ok),
          String(s.errors),
          fmt(s.p99Ms, 1),
          String(s.outstanding),
          String(s.smsDelivered),
          fmt(s.smsSkipped, 0),
          fmt(s.smsBacklog, 0),
        ]),
      )}\n\n`,
    );
    const summary = {
      rate,
      maxRps,
      achievedRps: load.rps,
      p50Ms: load.p50Ms,
      p99Ms: load.p99Ms,
      referenceS: REFERENCE_S,
      rssAtReferenceMb: reference?.rssMb,
      maxRssAfterReferenceMb: maxAfter,
      finalRssMb: finalRss,
      rssAfterDrainMb: rssAfterDrain,
      growthPct,
      finalGrowthPct,
      errors,
      notSent: load.notSent,
      firstError: load.firstError,
      setOk,
      smsDelivered,
      smsDeliveredTotal: deliveries.total(),
      smsOutcomes: outcomes,
      smsPending,
      drainS,
      webhookRejected,
      firstWebhookRejection: webhook.rejected[0]?.reason,
      checks,
      pass,
    };
    const lines = [
      `soak: ${DURATION_S} s open-loop at ${rate.toFixed(0)} req/s (${maxRps === undefined ? "BENCH_SOAK_RPS" : `half of the measured maximum sustained rate, ${maxRps.toFixed(0)} req/s`}), achieved ${load.rps.toFixed(0)} req/s, p50 ${fmt(load.p50Ms, 1)} ms, p99 ${fmt(load.p99Ms, 1)} ms`,
      `mix: ${MIX.map((part) => `${part.label} ${part.share}/${SCHEDULE.length}`).join(", ")}; ${USERS} users; SQLite durable, abuse limits off, webhook SMS provider (signed); server on core ${SERVER_CORE}`,
      ...(REFERENCE_S !== 60
        ? [`note: run shorter than 2 minutes, so growth is measured from ${REFERENCE_S} s instead of 1 minute`]
        : []),
      `RSS at ${REFERENCE_S} s: ${fmt(reference?.rssMb, 1)} MB; max after it: ${fmt(maxAfter, 1)} MB; final (end of load): ${fmt(finalRss, 1)} MB; after the SMS drain (${drainS.toFixed(0)} s idle): ${fmt(rssAfterDrain, 1)} MB`,
      `growth (max after ${REFERENCE_S} s vs ${REFERENCE_S} s): ${fmt(growthPct, 1)}% (final vs ${REFERENCE_S} s: ${fmt(finalGrowthPct, 1)}%), limit < ${MAX_GROWTH_PCT}%`,
      `errors: ${errors} (not sent because ${maxOutstanding} were in flight: ${load.notSent})${summary.firstError ? `; first: ${summary.firstError}` : ""}`,
      `SMS: ${setOk} accepted SetMyPhone; delivered ${smsDelivered} (webhook calls ${deliveries.total()}, rejected by the receiver ${webhookRejected}${summary.firstWebhookRejection ? `: ${summary.firstWebhookRejection}` : ""}); ` +
        `skipped ${skippedJobs(outcomes)} (code superseded by the user's next SetMyPhone or expired before sending); dead ${outcomes.dead ?? 0}; retried passes ${outcomes.retry ?? 0}; not settled after the drain ${smsPending}`,
      `${pass ? "PASS" : "FAIL"}: growth < ${MAX_GROWTH_PCT}% ${checks.growth ? "yes" : "no"}, no errors ${checks.noErrors ? "yes" : "no"}, every SMS job settled and delivered once ${checks.everySmsSettled ? "yes" : "no"}`,
    ];
    process.stdout.write(`${lines.join("\n")}\n`);
    const file = saveResult("soak", {
      benchmark: "soak",
      date: new Date().toISOString(),
      machine: machine(),
      durationS: DURATION_S,
      intervalS: INTERVAL_S,
      users: USERS,
      maxOutstanding,
      serverCore: SERVER_CORE,
      mix: MIX.map((part) => ({ label: part.label, share: part.share / SCHEDULE.length })),
      settings: { ...env, MYPHONE_SMS_WEBHOOK_SECRET: "(random)", MYPHONE_DATA_DIR: "(temporary)" },
      probe: probeSteps,
      summary,
      samples,
    });
    process.stdout.write(`saved ${file}\n`);
    if (!pass) process.exitCode = 1;
  } finally {
    if (server) await stop(server.child);
    await webhook.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

for (const signal of ["SIGINT", "SIGTERM"] as const) process.once(signal, () => process.exit(130));

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
