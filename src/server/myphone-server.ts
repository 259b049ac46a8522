import { Code, ConnectError, type ConnectRouterOptions } from "@connectrpc/connect";
import { setMaxListeners } from "node:events";
import { Health } from "../../gen/grpc/health/v1/health_pb.js";
import { AuthService } from "../../gen/zitadel/auth_pb.js";
import { UserService } from "../../gen/zitadel/user/v2/user_service_pb.js";
import { authInterceptor } from "../api/caller-context.js";
import { createPhoneService } from "../api/phone-service.js";
import { errorLanguage } from "../api/error-language.js";
import { createUserService } from "../api/user-service.js";
import { errorMappingInterceptor } from "../api/wire-errors.js";
import { CodeKeyAgreement, loadCodeCipher } from "../commands/code-keys.js";
import { UserCommands } from "../commands/user-commands.js";
import { createAuthenticator } from "./create-authenticator.js";
import { DevTokenIssuer } from "../auth/dev-token-issuer.js";
import { OrganisationDirectory } from "../auth/organisation-directory.js";
import { UserProvisioner } from "../auth/user-provisioner.js";
import { UserWritePermission } from "../auth/user-write-permission.js";
import { defaultOrgId } from "../commands/user-ids.js";
import { ConfigError, developmentSettingsProblem, MAX_DEV_TOKEN_TTL_MS, type Config } from "../config.js";
import type { PhonePolicy } from "../domain/phone-number.js";
import type { CodePolicy } from "../domain/verification-code.js";
import type { EventStore } from "../eventstore/event-store.js";
import { openEventStore } from "../eventstore/open-event-store.js";
import { createLogger, fixedFieldsLogger, type Logger } from "../logger.js";
import { OutboxNotifier } from "../notify/outbox-notifier.js";
import type { SmsProvider } from "../notify/sms-provider.js";
import { createSmsDelivery } from "./sms-provider-factory.js";
import { SmsMetrics } from "../notify/sms-metrics.js";
import { AdminListener } from "./admin-listener.js";
import { DualProtocolListener } from "../transport/dual-protocol-listener.js";
import { healthRoutes } from "./health-routes.js";
import { withCors } from "../transport/cors.js";
import { connectionKey, createHealthService } from "./health-service.js";
import { MeteredEventStore } from "./metered-event-store.js";
import { ServerMetrics } from "./metrics.js";
import { Readiness } from "./readiness.js";
import { reflectionServices } from "./reflection-service.js";
import { withRequestId } from "../transport/request-id.js";
import { rpcTelemetryInterceptor } from "./rpc-telemetry.js";
import { readTlsCredentials } from "./tls-credentials.js";
import { defaultWebDirectory, webPageRoutes } from "./web-page.js";
import { abuseLimitsOf, openSendLimiter, openSmsScopeStore } from "../abuse/open-send-limiter.js";
import { addressBucket, SendGuard } from "../abuse/send-guard.js";
import { canonicalAddress, clientAddressContext, TrustedProxies } from "../transport/client-address.js";
import { createRpcTransport, serviceRegistration } from "../transport/rpc-transport.js";
import { StoreOutageMonitor } from "../storage/store-outage.js";
import { DomainError, Errors } from "../domain/errors.js";

export interface RunningServer {
  readonly port: number;
  /** Base URL on loopback, for clients in tests and the CLI. */
  readonly url: string;
  /** Base URL of the admin listener (`/metrics`) on loopback; undefined without MYPHONE_ADMIN_PORT. */
  readonly adminUrl?: string;
  readonly store: EventStore;
  readonly commands: UserCommands;
  readonly issuer: DevTokenIssuer;
  readonly logger: Logger;
  /** Graceful shutdown: stop accepting, let calls finish (up to the timeout), settle SMS jobs, close the store. */
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
  const development = developmentSettingsProblem(config);
  if (development) throw new ConfigError(development);
  const logger = options.logger ?? createLogger(config.MYPHONE_LOG_LEVEL);
  // Checked before anything is opened, so a provider misconfiguration stops start-up cleanly.
  const sms = createSmsDelivery(config, logger);
  warnWithoutCountryAllowList(config, logger);
  const tls = readTlsCredentials(config.MYPHONE_TLS_CERT, config.MYPHONE_TLS_KEY);
  if (!config.MYPHONE_CODE_KEYS) {
    logger.warn(
      { dataDir: config.dataDir },
      "MYPHONE_CODE_KEYS is not set: verification codes are encrypted with a key generated in the data " +
        "directory; in production set MYPHONE_CODE_KEYS (the same keys on every node) and back them up",
    );
  }
  const metrics = new ServerMetrics(config.MYPHONE_METRICS_CACHE);
  // Database outages are logged when they start and end, and calls meanwhile answer Unavailable (MYPHONE-DbUna).
  let pingStore = async (): Promise<void> => {};
  const outages = new StoreOutageMonitor({
    probe: () => pingStore(),
    onStart: (reason) =>
      logger.error(
        { reason, store: config.MYPHONE_STORE },
        "database unavailable: calls answer Unavailable (MYPHONE-DbUna) and /readyz 503 until it answers again",
      ),
    onEnd: (downForMs) => logger.warn({ downForMs, store: config.MYPHONE_STORE }, "database available again"),
  });
  const backgroundError = (what: string) => (error: unknown) => {
    if (!outages.report(error)) logger.warn({ err: error }, `${what} background error`);
  };
  // The adapter also serves the outbox worker's wake-ups and the organisation lookup; commands get the metered log.
  const adapter = await openEventStore(config, { onBackgroundError: backgroundError("event store") });
  const store = new MeteredEventStore(adapter, metrics);
  pingStore = () => store.ping();
  metrics.watchOutbox(store.outbox);
  const cipher = loadCodeCipher(config.MYPHONE_CODE_KEYS, config.dataDir);
  // Nodes with other code keys could neither send nor verify each other's codes: refuse to serve with them.
  const codeKeys = new CodeKeyAgreement(cipher, adapter, {
    codeTtlMs: config.MYPHONE_CODE_TTL,
    onForeignActiveKey: (keyId, activeAt) =>
      logger.error(
        { keyId, activeAt, setting: "MYPHONE_CODE_KEYS" },
        "another node encrypts codes with a key id this node's MYPHONE_CODE_KEYS lacks: its SMS jobs are left " +
          "to nodes that have the key, and verifying its codes here answers Unavailable MYPHONE-CoKey; give this " +
          "node the key (logged once per key id)",
      ),
  });
  let keyProblems: string[];
  try {
    keyProblems = await codeKeys.problems();
  } catch (error) {
    await store.close();
    throw error;
  }
  if (keyProblems.length > 0) {
    await store.close();
    throw new ConfigError(
      `MYPHONE_CODE_KEYS: this node's code keys do not match the deployment's: ${keyProblems.join("; ")}`,
    );
  }
  const issuer = await DevTokenIssuer.open(config.dataDir, {
    rolesClaim: config.MYPHONE_AUTH_ROLES_CLAIM,
    maxTtlMs: MAX_DEV_TOKEN_TTL_MS,
  });
  const { phonePolicy, codePolicy } = policiesOf(config);
  // Abuse limits (SPEC 5): the decider's rules travel in the env, the caps across users go through the limiter.
  const abuse = abuseLimitsOf(config);
  const limiter = abuse.enabled
    ? await openSendLimiter(config, abuse.sharedCaps, { onBackgroundError: backgroundError("send limiter") })
    : undefined;
  const scopeStore = abuse.enabled
    ? await openSmsScopeStore(config, abuse.scopeRules, { onBackgroundError: backgroundError("sms budget store") })
    : undefined;
  if (scopeStore) metrics.watchSmsScopes(scopeStore);
  const sendGuard =
    limiter &&
    new SendGuard({
      limiter,
      caps: abuse.sharedCaps,
      logger,
      ...(scopeStore && {
        scopes: { store: scopeStore, rules: abuse.scopeRules, prefixDroppedDigits: abuse.prefixDroppedDigits },
      }),
      onBreakerTransition: (transition) => metrics.recordBreakerTransition(transition),
    });
  const { sendPolicy } = abuse;
  const provider = options.smsProvider ?? sms.provider;
  // A provider that makes the codes itself (Twilio Verify) is named in the code events and asked to check them.
  const codeChecker = provider.verification;
  const externalCodeGenerator = codeChecker?.generatorId;
  const commands = new UserCommands(store, {
    env: () => ({ now: new Date(), phonePolicy, codePolicy, cipher, sendPolicy, externalCodeGenerator }),
    sendGuard,
    codeChecker,
  });
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
    reportStoreOutage: (error) => outages.report(error),
    codeTtlMs: config.MYPHONE_CODE_TTL,
  });

  const shutdown = new AbortController();
  // Every in-flight call listens on this signal; hundreds at once are normal, not a leak.
  setMaxListeners(0, shutdown.signal);
  // Services that need a token: one added here is served on every protocol, protected, health-reported, logged at info.
  const userWrite = new UserWritePermission({
    role: config.MYPHONE_AUTH_USER_WRITE_ROLE,
    userIds: config.MYPHONE_AUTH_USER_WRITE_USERS,
  });
  const apiServices = [
    serviceRegistration(AuthService, createPhoneService(commands)),
    serviceRegistration(UserService, createUserService(commands, userWrite)),
  ];
  const protectedServices = apiServices.map((spec) => spec.service.typeName);
  const routerOptions: ConnectRouterOptions = {
    interceptors: [
      // Outermost: it logs and counts the code the caller finally gets.
      rpcTelemetryInterceptor(fixedFieldsLogger(logger), metrics, protectedServices),
      errorMappingInterceptor(
        (error, procedure) => logger.error({ err: error, procedure }, "unexpected error in rpc"),
        // Read only when a call fails: the user's language costs the success path nothing.
        errorLanguage({
          preferredLanguageOf: async (userId) => (await commands.load(userId)).preferredLanguage,
          defaultLanguage: config.MYPHONE_DEFAULT_LANGUAGE,
        }),
        // Retrying after a second is what a client can do; the outage is logged once, not per call.
        (error) =>
          outages.report(error) ? new DomainError(Errors.storeUnavailable, { retryAfterSeconds: 1 }) : undefined,
      ),
      authInterceptor({
        authenticator: createAuthenticator(config, { devIssuer: issuer, logger, addressKey: byIpv6Network64 }),
        protectedServices: new Set(protectedServices),
        organisations: new OrganisationDirectory(adapter),
        provisioner: config.MYPHONE_AUTH_PROVISION_USERS
          ? new UserProvisioner(
              commands,
              once(() => defaultOrgId(config.dataDir)),
              logger,
            )
          : undefined,
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
  const healthService = createHealthService(readiness, {
    services: protectedServices,
    maxWatchesPerConnection: config.MYPHONE_HEALTH_WATCH_PER_CONNECTION,
    maxWatches: config.MYPHONE_HEALTH_WATCH_MAX,
  });
  const publicServices = [serviceRegistration(Health, healthService)];
  const described = [...apiServices, ...publicServices].map((spec) => spec.service);
  const notFound = (_request: unknown, response: { writeHead(status: number): unknown; end(): unknown }) => {
    response.writeHead(404);
    response.end();
  };
  const trustedProxies = config.MYPHONE_TRUSTED_PROXIES
    ? new TrustedProxies(config.MYPHONE_TRUSTED_PROXIES)
    : undefined;
  const clientAddress = clientAddressContext({
    trustedProxies,
    header: config.MYPHONE_TRUSTED_PROXY_HEADER,
    onIgnoredHeader: (header, trustedPeer) =>
      trustedPeer
        ? logger.warn(
            { header, setting: "MYPHONE_TRUSTED_PROXY_HEADER", configured: config.MYPHONE_TRUSTED_PROXY_HEADER },
            `a trusted proxy sent ${header} but not ${config.MYPHONE_TRUSTED_PROXY_HEADER}, which ` +
              `MYPHONE_TRUSTED_PROXY_HEADER names: such requests are counted as the proxy's (logged once)`,
          )
        : logger.warn(
            { header, setting: "MYPHONE_TRUSTED_PROXIES" },
            `a request carried ${header}, but MYPHONE_TRUSTED_PROXIES is not set: the header is ignored and ` +
              `every client behind a proxy shares the proxy's per-address limits; list your proxies in ` +
              `MYPHONE_TRUSTED_PROXIES (logged once)`,
          ),
  });
  const transport = createRpcTransport({
    services: [...apiServices, ...publicServices, ...reflectionServices(described)],
    router: routerOptions,
    contextValues: (request) => clientAddress(request).set(connectionKey, connectionOf(request)),
    // No /metrics here: it is served by the admin listener only.
    fallback: healthRoutes(() => readiness.isReady(), webPageRoutes(defaultWebDirectory(), notFound)),
  });
  const handler = withRequestId(withCors({ allowedOrigins: config.MYPHONE_CORS_ORIGINS ?? [] }, transport.handler));
  let inFlight = 0;
  let idle: (() => void) | undefined;
  const listener = new DualProtocolListener(
    (request, response) => {
      inFlight++;
      response.once("close", () => {
        if (--inFlight === 0) idle?.();
      });
      handler(request, response);
    },
    {
      tls,
      sniffTimeoutMs: config.MYPHONE_HEADERS_TIMEOUT,
      headersTimeoutMs: config.MYPHONE_HEADERS_TIMEOUT,
      requestTimeoutMs: config.MYPHONE_REQUEST_TIMEOUT,
      maxHeaderBytes: config.MYPHONE_MAX_HEADER_BYTES,
      idleTimeoutMs: config.MYPHONE_IDLE_TIMEOUT,
      maxConcurrentStreams: config.MYPHONE_HTTP2_MAX_STREAMS,
      closeGraceMs: config.MYPHONE_HTTP2_CLOSE_GRACE,
      maxConnections: config.MYPHONE_MAX_CONNECTIONS,
      maxConnectionsPerAddress: config.MYPHONE_MAX_CONNECTIONS_PER_IP,
      // A trusted proxy's connections carry many clients: capping them would cap everyone behind it.
      addressKey: (peer) => {
        const address = canonicalAddress(peer);
        return trustedProxies?.has(address) ? undefined : byIpv6Network64(address);
      },
      onConnectionRefused: connectionRefusalReporter(metrics, logger),
    },
  );

  const admin = config.MYPHONE_ADMIN_PORT === undefined ? undefined : new AdminListener(metrics);
  let port: number;
  let adminPort: number | undefined;
  try {
    port = await listener.listen(config.MYPHONE_PORT, config.MYPHONE_HOST);
    adminPort = await admin?.listen(config.MYPHONE_ADMIN_PORT!, config.MYPHONE_ADMIN_HOST);
  } catch (error) {
    // A port in use: release what was opened, so the process (or a test) can report and go on.
    await Promise.allSettled([listener.stopAccepting(), admin?.close(), store.close(), limiter?.close()]);
    throw error;
  }
  notifier.start();
  codeKeys.start();
  logger.info(
    {
      port,
      host: config.MYPHONE_HOST,
      tls: tls !== undefined,
      store: config.MYPHONE_STORE,
      sms: provider.name,
      adminPort,
      adminHost: admin && config.MYPHONE_ADMIN_HOST,
    },
    "myphone listening",
  );

  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      // Not ready first, while still accepting, so load balancers can take this process out of rotation.
      readiness.startDraining();
      if (config.MYPHONE_SHUTDOWN_DELAY > 0) {
        logger.info(
          { delayMs: config.MYPHONE_SHUTDOWN_DELAY },
          "not ready; accepting connections until the shutdown delay ends",
        );
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
      await admin?.close();
      await notifier.stop();
      codeKeys.stop();
      outages.stop();
      await store.close();
      await limiter?.close();
      await scopeStore?.close();
      logger.info("myphone stopped");
    })());

  const loopback = (host: string) => (host.includes(":") ? "[::1]" : "127.0.0.1");
  return {
    port,
    url: `${tls ? "https" : "http"}://${loopback(config.MYPHONE_HOST)}:${port}`,
    adminUrl: adminPort === undefined ? undefined : `http://${loopback(config.MYPHONE_ADMIN_HOST)}:${adminPort}`,
    store,
    commands,
    issuer,
    logger,
    close,
  };
}

/** The connection a request arrived on: its HTTP/2 session, or its socket (HTTP/1.1). */
function connectionOf(request: {
  readonly socket: object | null;
  readonly stream?: { readonly session?: object };
}): object | undefined {
  return request.stream?.session ?? request.socket ?? undefined;
}

/** Counts every connection refused by a cap; logs at most once a minute per reason, as a flood would fill the logs. */
function connectionRefusalReporter(
  metrics: ServerMetrics,
  logger: Logger,
): (reason: "total" | "per_address", address: string) => void {
  const lastLogged = new Map<string, number>();
  return (reason, address) => {
    metrics.recordConnectionRefused(reason);
    const now = Date.now();
    if (now - (lastLogged.get(reason) ?? -Infinity) < 60_000) return;
    lastLogged.set(reason, now);
    logger.warn(
      { reason, clientAddress: address },
      "connection refused: too many open connections (MYPHONE_MAX_CONNECTIONS / " +
        "MYPHONE_MAX_CONNECTIONS_PER_IP); further refusals for this reason are counted in " +
        "myphone_connections_refused_total, logged once a minute",
    );
  };
}

/** Client addresses as the introspection-failure and connection caps count them (IPv6 by /64, as they document). */
function byIpv6Network64(address: string): string {
  return addressBucket(address, 64);
}

/** Warns when a real provider may send to any country not denied: an allow-list is the best defence against pumping. */
function warnWithoutCountryAllowList(config: Config, logger: Logger): void {
  const provider = config.MYPHONE_SMS_PROVIDER;
  if (provider === "console" || provider === "none" || config.MYPHONE_PHONE_COUNTRIES_ALLOW) return;
  logger.warn(
    { smsProvider: provider, setting: "MYPHONE_PHONE_COUNTRIES_ALLOW" },
    "MYPHONE_PHONE_COUNTRIES_ALLOW is not set: codes go to every country not denied, which SMS pumping abuses; " +
      "list the countries you serve",
  );
}

/** Runs `compute` on first use only (the default organisation file is read once, not per provisioned user). */
function once<T>(compute: () => T): () => T {
  let value: { result: T } | undefined;
  return () => (value ??= { result: compute() }).result;
}
