import pg from "pg";
import { POSTGRES_CONNECT_TIMEOUT_MS } from "../../storage/postgres-connection.js";

/** The NOTIFY channel that tells every node "outbox jobs were committed" (a hint; nodes poll as well). */
export const OUTBOX_CHANNEL = "myphone_outbox";

/**
 * A dedicated connection that LISTENs on the outbox channel and reconnects after failures. Notifications are hints:
 * missed ones are covered by polling and by one wake-up after each reconnect.
 */
export class PostgresOutboxListener {
  private client: pg.Client | undefined;
  private retry: NodeJS.Timeout | undefined;
  private stopped = false;

  /** @param selfId the NOTIFY payload of this node's own appends, ignored (its listeners were called in-process). */
  constructor(
    private readonly connectionString: string,
    private readonly selfId: string,
    private readonly wake: () => void,
    private readonly reportError: (error: unknown) => void,
  ) {}

  /** Connects and LISTENs; rejects when the first connection fails. */
  async start(): Promise<void> {
    const client = new pg.Client({
      connectionString: this.connectionString,
      application_name: "myphone-listen",
      keepAlive: true,
      connectionTimeoutMillis: POSTGRES_CONNECT_TIMEOUT_MS,
    });
    client.on("notification", (message) => {
      if (message.payload !== this.selfId) this.wake();
    });
    client.on("error", (error) => {
      this.reportError(error);
      this.reconnectLater(client);
    });
    client.on("end", () => this.reconnectLater(client));
    this.client = client;
    await client.connect();
    await client.query(`LISTEN ${OUTBOX_CHANNEL}`);
  }

  /** Stops listening and reconnecting. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retry);
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => undefined);
  }

  private reconnectLater(failed: pg.Client): void {
    if (this.stopped || this.client !== failed || this.retry) return;
    this.client = undefined;
    failed.end().catch(() => undefined);
    this.retry = setTimeout(() => {
      this.retry = undefined;
      if (this.stopped) return;
      this.start().then(
        () => this.wake(),
        (error: unknown) => {
          this.reportError(error);
          if (this.client) this.reconnectLater(this.client);
        },
      );
    }, 1000);
    this.retry.unref();
  }
}
