import { Code, ConnectError, type ConnectRouterOptions } from "@connectrpc/connect";
import { setMaxListeners } from "node:events";
import { Health } from "../../gen/grpc/health/v1/health_pb.js";
import { AuthService } from "../../gen/zitadel/auth_pb.js";
import { UserService } from "../../gen/zitadel/user/v2/user_service_pb.js";
import { authInterceptor } from "../api/caller-context.js";
import { createPhoneService } from "../api/phone-service.js";
import { createUserService } from "../api/user-service.js";
import { errorMappingInterceptor } from "../api/wire-errors.js";
import { loadCodeCipher } from "../commands/code-keys.js";
import { UserCommands } from "../commands/user-commands.js";
import { createAuthenticator } from "./create-authenticator.js";
import { DevTokenIssuer } from "../auth/dev-token-issuer.js";
import { OrganisationDirectory } from "../auth/organisation-directory.js";
import { UserProvisioner } from "../auth/user-provisioner.js";
import { UserWritePermission } from "../auth/user-write-permission.js";
import { defaultOrgId } from "../commands/user-ids.js";
import type { Config } from "../config.js";
import type { PhonePolicy } from "../domain/phone-number.js";
import type { CodePolicy } from "../domain/verification-code.js";
import type { EventStore } from "../eventstore/event-store.js";
import { openEventStore } from "../eventstore/open-event-store.js";
import { createLogger, fixedFieldsLogger, type Logger } from "../logger.js";
import { OutboxNotifier } from "../notify/outbox-notifier.js";
import type { SmsProvider } from "../notify/sms-provider.js";
import { createSmsDelivery } from "./sms-provider-factory.js";
import { SmsMetrics } from "../notify/sms-metrics.js";
import { DualProtocolListener } from "../transport/dual-protocol-listener.js";
import { healthRoutes } from "./health-routes.js";
import { withCors } from "../transport/cors.js";
import { createHealthService } from "./health-service.js";
import { MeteredEventStore } from "./metered-event-store.js";
import { ServerMetrics } from "./metrics.js";
import { Readiness } from "./readiness.js";
import { reflectionServices } from "./reflection-service.js";
import { withRequestId } from "../transport/request-id.js";
import { rpcTelemetryInterceptor } from "./rpc-telemetry.js";
import { readTlsCredentials } from "./tls-credentials.js";
import { defaultWebDirectory, webPageRoutes } from "./web-page.js";
import { abuseLimitsOf, openSendLimiter } from "../abuse/open-send-limiter.js";
import { SendGuard } from "../abuse/send-guard.js";
import { clientAddressContext, TrustedProxies } from "../transport/client-address.js";
import { createRpcTransport, serviceRegistration } from "../transport/rpc-transport.js";

export interface RunningServer {
  readonly port: number;
  /** Base URL on loopback, for clients in tests and the CLI. */
  readonly url: string;
  readonly store: EventStore;
  readonly commands: UserCommands;
  readonly issuer: DevTokenIssuer;
  readonly logger: Logger;
  /** Graceful shutdown: stop accepting, let in-flight calls finish (up to the timeout), settle SMS jobs, close the store. */
  close(): Promise<void>;
}

export interface StartOptions {
  readonly logger?: Logger;
  /** Replaces the configured SMS provider (tests use a capturing one). */
  readonly smsProvider?: SmsProvider;
}

/** The phone policy and code policy the configuration describes. */
export function policiesOf(config: Config): { phonePolicy: PhonePolicy; codePolicy: CodePolicy } {
  return {
    phonePolicy: {
      defaultRegion: config.MYPHONE_DEFAULT_REGION,
      check: config.MYPHONE_PHONE_CHECK,
      mobileOnly: config.MYPHONE_PHONE_MOBILE_ONLY,
    },
    codePolicy: {
      length: config.MYPHONE_CODE_LENGTH,
      alphabet: config.MYPHONE_CODE_ALPHABET,
      ttlMs: config.MYPHONE_CODE_TTL,
      maxAttempts: config.MYPHONE_ABUSE_LIMITS === "off" ? 0 : config.MYPHONE_CODE_MAX_ATTEMPTS,
    },
  };
}

/** Opens the store and keys, wires the layers together and starts listening. */
export async function startMyphone(config: Config, options: StartOptions = {}): Promise<RunningServer> {
  const logger = options.logger ?? createLogger(config.MYPHONE_LOG_LEVEL);
  // Checked before anything is opened, so a provider misconfiguration stops start-up cleanly.
  const sms = createSmsDelivery(config, logger);
  const tls = readTlsCredentials(config.MYPHONE_TLS_CERT, config.MYPHONE_TLS_KEY);
  const metrics = new ServerMetrics();
  // The adapter also serves the outbox worker's wake-ups and the organisation lookup; commands get the metered log.
  const adapter = await openEventStore(config, { onBackgroundError: (error) => logger.warn({ err: error }, "event store background error") });
  const store = new MeteredEventStore(adapter, metrics);
  metrics.watchOutbox(store.outbox);
  const cipher = loadCodeCipher(config.MYPHONE_CODE_KEYS, config.dataDir);
  const issuer = await DevTokenIssuer.open(config.dataDir, { rolesClaim: config.MYPHONE_AUTH_ROLES_CLAIM });
  const { phonePolicy, codePolicy } = policiesOf(config);
  // Abuse limits (SPEC 5): the decider's rules travel in the env, the caps across users go through the limiter.
  const abuse = abuseLimitsOf(config);
  const limiter = abuse.enabled
    ? await openSendLimiter(config, abuse.sharedCaps, { onBackgroundError: (error) => logger.warn({ err: error }, "send limiter background error") })
    : undefined;
  const sendGuard = limiter && new SendGuard({ limiter, caps: abuse.sharedCaps, logger });
  const { sendPolicy } = abuse;
  const commands = new UserCommands(store, { env: () => ({ now: new Date(), phonePolicy, codePolicy, cipher, sendPolicy }), sendGuard });
  const provider = options.smsProvider ?? sms.provider;
  const notifier = new OutboxNotifier({
    store,
    wakeups: adapter,
    commands,
    cipher,
    provider,
    templates: sms.templates,
    logger,
    pollIntervalMs: config.MYPHONE_SMS_POLL_INTERVAL,
    maxAttempts: config.MYPHONE_SMS_MAX_ATTEMPTS,
    leaseMs: config.MYPHONE_SMS_LEASE,
    retryBaseMs: config.MYPHONE_SMS_RETRY_BASE,
    retryMaxMs: config.MYPHONE_SMS_RETRY_MAX,
    retentionMs: config.MYPHONE_SMS_RETENTION,
    metrics: new SmsMetrics(metrics.registry),
  });

  const shutdown = new AbortController();
  // Every in-flight call listens on this signal; hundreds at once are normal, not a leak.
  setMaxListeners(0, shutdown.signal);
  // The services that need a token: add one here and it is served (all protocols, REST), protected, health-reported
  // and logged at info.
  const userWrite = new UserWritePermission({ role: config.MYPHONE_AUTH_USER_WRITE_ROLE, userIds: config.MYPHONE_AUTH_USER_WRITE_USERS });
  const apiServices = [
    serviceRegistration(AuthService, createPhoneService(commands)),
    serviceRegistration(UserService, createUserService(commands, userWrite)),
  ];
  const protectedServices = apiServices.map((spec) => spec.service.typeName);
  const routerOptions: ConnectRouterOptions = {
    interceptors: [
      // Outermost: it logs and counts the code the caller finally gets.
      rpcTelemetryInterceptor(fixedFieldsLogger(logger), metrics, protectedServices),
      errorMappingInterceptor((error, procedure) => logger.error({ err: error, procedure }, "unexpected error in rpc")),
      authInterceptor({
        authenticator: createAuthenticator(config, { devIssuer: issuer, logger }),
        protectedServices: new Set(protectedServices),
        organisations: new OrganisationDirectory(adapter),
        provisioner: config.MYPHONE_AUTH_PROVISION_USERS ? new UserProvisioner(commands, once(() => defaultOrgId(config.dataDir)), logger) : undefined,
      }),
    ],
    readMaxBytes: config.MYPHONE_MAX_REQUEST_BYTES,
    shutdownSignal: shutdown.signal,
  };
  const readiness = new Readiness(async () => {
    await store.ping();
    return true;
  });
  // Health and reflection stay public: the auth interceptor protects the API services only.
  const publicServices = [serviceRegistration(Health, createHealthService(readiness, { services: protectedServices }))];
  const described = [...apiServices, ...publicServices].map((spec) => spec.service);
  const notFound = (_request: unknown, response: { writeHead(status: number): unknown; end(): unknown }) => {
    response.writeHead(404);
    response.end();
  };
  const transport = createRpcTransport({
    services: [...apiServices, ...publicServices, ...reflectionServices(described)],
    router: routerOptions,
    contextValues: clientAddressContext(config.MYPHONE_TRUSTED_PROXIES ? new TrustedProxies(config.MYPHONE_TRUSTED_PROXIES) : undefined),
    fallback: healthRoutes(() => readiness.isReady(), metrics.routes(webPageRoutes(defaultWebDirectory(), notFound))),
  });
  const handler = withRequestId(withCors({ allowedOrigins: config.MYPHONE_CORS_ORIGINS ?? [] }, transport.handler));
  let inFlight = 0;
  let idle: (() => void) | undefined;
  const listener = new DualProtocolListener((request, response) => {
    inFlight++;
    response.once("close", () => {
      if (--inFlight === 0) idle?.();
    });
    handler(request, response);
  }, {
    tls,
    sniffTimeoutMs: config.MYPHONE_HEADERS_TIMEOUT,
    headersTimeoutMs: config.MYPHONE_HEADERS_TIMEOUT,
    requestTimeoutMs: config.MYPHONE_REQUEST_TIMEOUT,
    maxHeaderBytes: config.MYPHONE_MAX_HEADER_BYTES,
  });

  const port = await listener.listen(config.MYPHONE_PORT, config.MYPHONE_HOST);
  notifier.start();
  logger.info({ port, host: config.MYPHONE_HOST, tls: tls !== undefined, store: config.MYPHONE_STORE, sms: provider.name }, "myphone listening");

  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      // Not ready first, while still accepting, so load balancers can take this process out of rotation.
      readiness.startDraining();
      if (config.MYPHONE_SHUTDOWN_DELAY > 0) {
        logger.info({ delayMs: config.MYPHONE_SHUTDOWN_DELAY }, "not ready; accepting connections until the shutdown delay ends");
        await new Promise((resolve) => setTimeout(resolve, config.MYPHONE_SHUTDOWN_DELAY));
      }
      const stopped = listener.stopAccepting();
      const drained = new Promise<void>((resolve) => {
        idle = resolve;
        if (inFlight === 0) resolve();
      });
      const deadline = new Promise<void>((resolve) => setTimeout(resolve, config.MYPHONE_SHUTDOWN_TIMEOUT).unref());
      await Promise.race([drained, deadline]);
      shutdown.abort(new ConnectError("server is shutting down", Code.Unavailable));
      // Connections close by themselves once their last answer is out; destroying them sooner could cut an
      // answer still in a socket buffer, so only what is left at the deadline is destroyed.
      await Promise.race([stopped, deadline]);
      listener.destroyAll();
      await stopped;
      await notifier.stop();
      await store.close();
      await limiter?.close();
      logger.info("myphone stopped");
    })());

  const loopback = config.MYPHONE_HOST.includes(":") ? "[::1]" : "127.0.0.1";
  return { port, url: `${tls ? "https" : "http"}://${loopback}:${port}`, store, commands, issuer, logger, close };
}

/** Runs `compute` on first use only (the default organisation file is read once, not per provisioned user). */
function once<T>(compute: () => T): () => T {
  let value: { result: T } | undefined;
  return () => (value ??= { result: compute() }).result;
}
