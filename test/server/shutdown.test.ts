import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { mkdtempSync, rmSync } from "node:fs";
import http2 from "node:http2";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SetMyPhoneRequestSchema, SetMyPhoneResponseSchema } from "../../gen/zitadel/auth_pb.js";
import { DevTokenIssuer } from "../../src/auth/dev-token-issuer.js";
import { USER_AGGREGATE, UserEventType } from "../../src/domain/user-events.js";
import { SQLITE_FILE } from "../../src/storage/sqlite-file.js";
import { SqliteEventStore } from "../../src/eventstore/sqlite/sqlite-event-store.js";
import { startCliServer } from "../support/cli-process.js";
import { ALL_CLIENTS, closeAllClients } from "../support/clients.js";
import { addUsersToStore } from "../support/store-users.js";

/**
 * Issue 6, acceptance 2: SIGTERM under load. Every call that got an answer is durable, every call that committed
 * got its answer (none was cut mid-answer), calls in flight when the signal came finish, and the process exits 0.
 */

afterAll(() => closeAllClients());

const phoneOf = (worker: number, i: number) => `+41793${worker}${String(i).padStart(5, "0")}`;

/** A REST SetMyPhone over a raw HTTP/1.1 connection whose body is held back until `finish()`. */
async function heldHttp1Call(port: number, token: string, phone: string) {
  const body = JSON.stringify({ phone });
  const socket = net.connect(port, "127.0.0.1");
  await new Promise<void>((resolve, reject) => socket.once("connect", resolve).once("error", reject));
  let received = "";
  socket.setEncoding("utf8").on("data", (chunk: string) => (received += chunk));
  const closed = new Promise<void>((resolve) => socket.once("close", () => resolve()));
  const half = Math.floor(body.length / 2);
  socket.write(
    `PUT /auth/v1/users/me/phone HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nAuthorization: Bearer ${token}\r\n` +
      `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body.slice(0, half)}`,
  );
  return {
    async finish(): Promise<{ status: number; body: string }> {
      socket.write(body.slice(half));
      await closed; // the server closes the connection after answering, because it is shutting down
      const [head = "", payload = ""] = received.split("\r\n\r\n");
      return { status: Number(head.split(" ")[1]), body: payload };
    },
  };
}

/** A gRPC SetMyPhone on a raw HTTP/2 stream whose message is held back until `finish()`. */
async function heldGrpcCall(url: string, token: string, phone: string) {
  const session = http2.connect(url);
  await new Promise<void>((resolve, reject) => session.once("connect", () => resolve()).once("error", reject));
  const stream = session.request({
    ":method": "POST",
    ":path": "/zitadel.auth.v1.AuthService/SetMyPhone",
    "content-type": "application/grpc+proto",
    te: "trailers",
    authorization: `Bearer ${token}`,
  });
  const chunks: Buffer[] = [];
  stream.on("data", (chunk: Buffer) => chunks.push(chunk));
  const trailers = new Promise<http2.IncomingHttpHeaders>((resolve) => stream.once("trailers", resolve));
  const ended = new Promise<void>((resolve) => stream.once("close", () => resolve()));
  const message = Buffer.from(toBinary(SetMyPhoneRequestSchema, create(SetMyPhoneRequestSchema, { phone })));
  const frame = Buffer.alloc(5 + message.length);
  frame.writeUInt32BE(message.length, 1);
  message.copy(frame, 5);
  stream.write(frame.subarray(0, 3)); // the stream is open and the server's handler has started
  return {
    async finish(): Promise<{ grpcStatus: string | undefined; sequence: bigint | undefined }> {
      stream.end(frame.subarray(3));
      const status = (await trailers)["grpc-status"];
      await ended;
      session.close();
      const data = Buffer.concat(chunks);
      const sequence =
        data.length > 5 ? fromBinary(SetMyPhoneResponseSchema, data.subarray(5)).details?.sequence : undefined;
      return { grpcStatus: Array.isArray(status) ? status[0] : status, sequence };
    },
  };
}

test("SIGTERM under load: in-flight calls finish, answered calls are durable, committed calls were answered, exit code 0", async () => {
  const dataDir = mkdtempSync(join(tmpdir(), "myphone-sigterm-"));
  try {
    const seed = SqliteEventStore.open(join(dataDir, SQLITE_FILE));
    const userIds = Array.from({ length: 6 }, (_, i) => `31000000000000000${i}`);
    await addUsersToStore(seed, userIds, "org-sigterm", { dataDir });
    await seed.close();

    const server = await startCliServer({
      MYPHONE_DATA_DIR: dataDir,
      MYPHONE_SHUTDOWN_TIMEOUT: "30s",
      MYPHONE_SMS_POLL_INTERVAL: "100ms",
    });
    const issuer = await DevTokenIssuer.open(dataDir);
    const tokens = await Promise.all(userIds.map((userId) => issuer.mint(userId, 600)));

    const heldRest = await heldHttp1Call(server.port, tokens[4]!, "+41794000001");
    const heldGrpc = await heldGrpcCall(server.url, tokens[5]!, "+41794000002");

    // Load: one worker per client kind and user, each setting a new number after the other until the server is gone.
    const answered: { userId: string; phone: string }[] = [];
    const failures: string[] = [];
    const clientNames = ["grpc-js", "connect-node grpc h2", "connect-node grpc-web h1", "connect-node connect json h2"];
    let signalled = false;
    let onEnough: () => void = () => {};
    const enough = new Promise<void>((resolve) => (onEnough = resolve));
    const workers = clientNames.map(async (name, worker) => {
      const api = ALL_CLIENTS.find((client) => client.name === name)!.create(server.url, tokens[worker]!);
      for (let i = 0; ; i++) {
        const phone = phoneOf(worker, i);
        try {
          await api.set(phone);
          answered.push({ userId: userIds[worker]!, phone });
          if (answered.length >= 40) onEnough();
        } catch (error) {
          // Before the signal nothing may fail; after it, refusals are expected (the port closes).
          if (!signalled) throw error;
          failures.push(`${name}: ${(error as Error).message}`);
          return;
        }
      }
    });

    await Promise.race([enough, ...workers]);
    const from = server.lines.length;
    signalled = true;
    server.child.kill("SIGTERM");
    await server.waitForLine((line) => line.msg === "shutting down", from);

    // The calls in flight when the signal came get to finish, on connections opened before it.
    const rest = await heldRest.finish();
    expect(rest.status).toBe(200);
    answered.push({ userId: userIds[4]!, phone: "+41794000001" });
    const grpc = await heldGrpc.finish();
    expect(grpc.grpcStatus).toBe("0");
    expect(grpc.sequence).toBeGreaterThan(0n);
    answered.push({ userId: userIds[5]!, phone: "+41794000002" });

    await Promise.all(workers);
    expect(await server.exited).toBe(0);
    expect(failures).toHaveLength(clientNames.length);
    expect(server.lines.some((line) => line.msg === "myphone stopped")).toBe(true);

    // The store after exit: exactly the answered numbers were committed, each followed by its code.
    const store = SqliteEventStore.open(join(dataDir, SQLITE_FILE));
    try {
      const committed: { userId: string; phone: string }[] = [];
      for (const userId of userIds) {
        const stream = await store.readStream(USER_AGGREGATE, userId);
        stream.forEach((event, index) => {
          if (event.type !== UserEventType.phoneChanged) return;
          committed.push({ userId, phone: (event.data as { phone: string }).phone });
          expect(stream[index + 1]?.type).toBe(UserEventType.phoneCodeAdded);
        });
      }
      const key = (call: { userId: string; phone: string }) => `${call.userId} ${call.phone}`;
      expect(committed.map(key).sort()).toEqual(answered.map(key).sort());
    } finally {
      await store.close();
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}, 90_000);
