import { Code, ConnectError, createConnectRouter, type ConnectRouter, type ConnectRouterOptions } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { setMaxListeners } from "node:events";
import { AuthService } from "../../gen/zitadel/auth_pb.js";
import { authInterceptor } from "../api/caller-context.js";
import { createPhoneService } from "../api/phone-service.js";
import { createRestTranscoder } from "../api/rest-transcoder.js";
import { errorMappingInterceptor } from "../api/wire-errors.js";
import { loadCodeCipher } from "../app/code-keys.js";
import { UserCommands } from "../app/user-commands.js";
import { DevTokenIssuer } from "../auth/dev-token-issuer.js";
import type { Config } from "../config.js";
import type { PhonePolicy } from "../domain/phone-number.js";
import type { CodePolicy } from "../domain/verification-code.js";
import type { EventStore } from "../eventstore/event-store.js";
import { openEventStore } from "../eventstore/open-event-store.js";
import { createLogger, type Logger } from "../logger.js";
import { ConsoleSmsProvider, NoSmsProvider } from "../notify/console-sms-provider.js";
import { OutboxNotifier } from "../notify/outbox-notifier.js";
import type { SmsProvider } from "../notify/sms-provider.js";
import { DualProtocolListener } from "./dual-protocol-listener.js";
import { healthRoutes } from "./health-routes.js";

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
  const store = openEventStore(config);
  const cipher = loadCodeCipher(config.MYPHONE_CODE_KEYS, config.dataDir);
  const issuer = await DevTokenIssuer.open(config.dataDir);
  const { phonePolicy, codePolicy } = policiesOf(config);
  const commands = new UserCommands(store, { env: () => ({ now: new Date(), phonePolicy, codePolicy, cipher }) });
  const provider = options.smsProvider ?? (config.MYPHONE_SMS_PROVIDER === "console" ? new ConsoleSmsProvider(logger) : new NoSmsProvider());
  const notifier = new OutboxNotifier({
    store,
    commands,
    cipher,
    provider,
    logger,
    pollIntervalMs: config.MYPHONE_SMS_POLL_INTERVAL,
    maxAttempts: config.MYPHONE_SMS_MAX_ATTEMPTS,
    leaseMs: config.MYPHONE_SMS_LEASE,
  });

  const shutdown = new AbortController();
  // Every in-flight call listens on this signal; hundreds at once are normal, not a leak.
  setMaxListeners(0, shutdown.signal);
  const routerOptions: ConnectRouterOptions = {
    interceptors: [
      errorMappingInterceptor((error, procedure) => logger.error({ err: error, procedure }, "unexpected error in rpc")),
      authInterceptor(issuer, new Set([AuthService.typeName])),
    ],
    readMaxBytes: config.MYPHONE_MAX_REQUEST_BYTES,
    shutdownSignal: shutdown.signal,
  };
  const phoneService = createPhoneService(commands);
  const routes = (router: ConnectRouter) => router.service(AuthService, phoneService);
  // A second router over the same implementation gives the REST transcoder direct access to the handlers.
  const restRouter = createConnectRouter(routerOptions);
  routes(restRouter);

  let shuttingDown = false;
  let inFlight = 0;
  let idle: (() => void) | undefined;
  const notFound = (_request: unknown, response: { writeHead(status: number): unknown; end(): unknown }) => {
    response.writeHead(404);
    response.end();
  };
  const rest = createRestTranscoder(restRouter.handlers, { maxBodyBytes: config.MYPHONE_MAX_REQUEST_BYTES }, notFound);
  const health = healthRoutes(async () => {
    if (shuttingDown) return false;
    await store.ping();
    return true;
  }, rest);
  const rpc = connectNodeAdapter({ ...routerOptions, routes, fallback: health });
  const listener = new DualProtocolListener((request, response) => {
    inFlight++;
    response.once("close", () => {
      if (--inFlight === 0) idle?.();
    });
    rpc(request, response);
  });

  const port = await listener.listen(config.MYPHONE_PORT, config.MYPHONE_HOST);
  notifier.start();
  logger.info({ port, host: config.MYPHONE_HOST, store: config.MYPHONE_STORE, sms: provider.name }, "myphone listening");

  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      shuttingDown = true;
      const stopped = listener.stopAccepting();
      const drained = new Promise<void>((resolve) => {
        idle = resolve;
        if (inFlight === 0) resolve();
      });
      const deadline = new Promise<void>((resolve) => setTimeout(resolve, config.MYPHONE_SHUTDOWN_TIMEOUT).unref());
      await Promise.race([drained, deadline]);
      shutdown.abort(new ConnectError("server is shutting down", Code.Unavailable));
      listener.destroyAll();
      await stopped;
      await notifier.stop();
      await store.close();
      logger.info("myphone stopped");
    })());

  const loopback = config.MYPHONE_HOST.includes(":") ? "[::1]" : "127.0.0.1";
  return { port, url: `http://${loopback}:${port}`, store, commands, issuer, logger, close };
}
