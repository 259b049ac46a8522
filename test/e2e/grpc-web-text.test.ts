import http from "node:http";
import http2 from "node:http2";
import { create, fromBinary, toBinary, type DescMessage, type MessageShape } from "@bufbuild/protobuf";
import { anyUnpack } from "@bufbuild/protobuf/wkt";
import { StatusSchema } from "../../gen/google/rpc/status_pb.js";
import {
  HealthCheckRequestSchema,
  HealthCheckResponseSchema,
  HealthCheckResponse_ServingStatus,
} from "../../gen/grpc/health/v1/health_pb.js";
import {
  ServerReflectionRequestSchema,
  ServerReflectionResponseSchema,
} from "../../gen/grpc/reflection/v1/reflection_pb.js";
import {
  GetMyPhoneRequestSchema,
  GetMyPhoneResponseSchema,
  SetMyPhoneRequestSchema,
  SetMyPhoneResponseSchema,
  VerifyMyPhoneRequestSchema,
} from "../../gen/zitadel/auth_pb.js";
import { ErrorDetailSchema } from "../../gen/zitadel/message_pb.js";
import { readAnswer } from "../hostile/raw-http.js";
import { codeFromSms, startTestServer, type TestServer } from "../support/test-server.js";

/**
 * Issue 25: gRPC-Web text mode (application/grpc-web-text, grpc/grpc doc/PROTOCOL-WEB.md) against a real server
 * over real sockets, HTTP/1.1 and HTTP/2. The frames and base64 are built and read here from the protocol's text,
 * independently of the server's code: each request is a base64 gRPC-Web frame; the answer is base64 too, trailer
 * frame (flag 0x80, "name: value\r\n" lines) included, and may be padded wherever the server flushed.
 */

const MAX_REQUEST_BYTES = 2048;
const ORIGIN = "https://app.example.com";
let server: TestServer;

beforeAll(async () => {
  server = await startTestServer({
    MYPHONE_MAX_REQUEST_BYTES: String(MAX_REQUEST_BYTES),
    MYPHONE_CORS_ORIGINS: ORIGIN,
  });
});
afterAll(() => server?.stop());

type Version = "1.1" | "2";
const VERSIONS: Version[] = ["1.1", "2"];
const TEXT = "application/grpc-web-text";
const SERVICE = "/zitadel.auth.v1.AuthService";

interface Exchange {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** The body as sent, undecoded. */
  raw: Buffer;
  /** HTTP trailers, if the server sent any (gRPC-Web must not: its trailers are in the body). */
  httpTrailers: Record<string, unknown>;
}

/** One request on its own connection; `pieces` are written one by one, `pauseMs` apart, so they arrive apart. */
async function exchange(
  version: Version,
  path: string,
  headers: Record<string, string>,
  pieces: (string | Buffer)[],
  pauseMs = 0,
): Promise<Exchange> {
  const pause = () => new Promise((resolve) => setTimeout(resolve, pauseMs));
  if (version === "1.1") {
    return new Promise<Exchange>((resolve, reject) => {
      const request = http.request(`${server.url}${path}`, { method: "POST", headers, agent: false }, (response) => {
        readAnswer(response).then(
          ({ status, headers, body, trailers }) => resolve({ status, headers, raw: body, httpTrailers: trailers }),
          reject,
        );
      });
      request.on("error", reject);
      request.setNoDelay(true);
      void (async () => {
        for (const piece of pieces) {
          request.write(piece);
          if (pauseMs > 0) await pause();
        }
        request.end();
      })();
    });
  }
  const session = http2.connect(server.url);
  try {
    return await new Promise<Exchange>((resolve, reject) => {
      const stream = session.request({ ":method": "POST", ":path": path, ...headers });
      const answer: Exchange = { status: 0, headers: {}, raw: Buffer.alloc(0), httpTrailers: {} };
      const chunks: Buffer[] = [];
      stream.on("response", (h) => {
        answer.status = Number(h[":status"]);
        answer.headers = h;
      });
      stream.on("trailers", (t) => (answer.httpTrailers = { ...t }));
      stream.on("data", (chunk: Buffer) => chunks.push(chunk));
      stream.on("error", reject);
      stream.on("end", () => resolve({ ...answer, raw: Buffer.concat(chunks) }));
      void (async () => {
        for (const piece of pieces) {
          stream.write(piece);
          if (pauseMs > 0) await pause();
        }
        stream.end();
      })();
    });
  } finally {
    session.close();
  }
}

/** A gRPC-Web frame: flags, 4-byte big-endian length, bytes. */
function frame(bytes: Uint8Array, flags = 0): Buffer {
  const header = Buffer.alloc(5);
  header.writeUInt8(flags, 0);
  header.writeUInt32BE(bytes.length, 1);
  return Buffer.concat([header, bytes]);
}

const messageFrame = <T extends DescMessage>(schema: T, value: Parameters<typeof create<T>>[1]) =>
  frame(toBinary(schema, create(schema, value)));

/**
 * A text body decoded as PROTOCOL-WEB tells clients to: padding may end any 4-character group, so each group
 * decodes on its own. Fails on anything that is not whole base64 groups.
 */
function decodeTextBody(text: string): Buffer {
  expect(text).toMatch(/^(?:[A-Za-z0-9+/]{4}|[A-Za-z0-9+/]{3}=|[A-Za-z0-9+/]{2}==)*$/);
  const groups = text.match(/.{4}/g) ?? [];
  return Buffer.concat(groups.map((group) => Buffer.from(group, "base64")));
}

interface GrpcWebAnswer {
  messages: Buffer[];
  trailers: Record<string, string>;
}

/** Splits decoded gRPC-Web bytes into message frames and the trailer frame, which must come last. */
function parseFrames(bytes: Buffer): GrpcWebAnswer {
  const messages: Buffer[] = [];
  let trailers: Record<string, string> | undefined;
  let at = 0;
  while (at < bytes.length) {
    expect(trailers).toBeUndefined();
    const flags = bytes.readUInt8(at);
    const length = bytes.readUInt32BE(at + 1);
    const data = bytes.subarray(at + 5, at + 5 + length);
    expect(data.length).toBe(length);
    at += 5 + length;
    if ((flags & 0x80) === 0) {
      messages.push(data);
      continue;
    }
    trailers = {};
    for (const line of data.toString("latin1").split("\r\n")) {
      if (line === "") continue;
      const colon = line.indexOf(":");
      trailers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
    }
  }
  expect(trailers).toBeDefined();
  return { messages, trailers: trailers! };
}

/** A call of the methods below: a request on its own connection, the token (if any) as a bearer token. */
type Call = (
  version: Version,
  path: string,
  token: string | undefined,
  body: Buffer,
  extraHeaders?: Record<string, string>,
) => Promise<GrpcWebAnswer & Exchange>;

/** A gRPC-Web request's headers: `typeHeaders` (content-type, accept) first, `extraHeaders` last. */
function callHeaders(
  typeHeaders: Record<string, string>,
  token: string | undefined,
  extraHeaders: Record<string, string>,
): Record<string, string> {
  return { ...typeHeaders, "x-grpc-web": "1", ...(token ? { authorization: `Bearer ${token}` } : {}), ...extraHeaders };
}

/** A text exchange, checked to be a well-formed text answer, decoded. */
const textCall: Call = async (version, path, token, body, extraHeaders = {}) => {
  const headers = callHeaders({ "content-type": TEXT, accept: TEXT }, token, extraHeaders);
  const answer = await exchange(version, path, headers, [body.toString("base64")]);
  expect(answer.status).toBe(200);
  expect(answer.headers["content-type"]).toBe("application/grpc-web-text+proto");
  return { ...answer, ...parseFrames(decodeTextBody(answer.raw.toString("latin1"))) };
};

/** The same call over binary gRPC-Web, for comparison. */
const binaryCall: Call = async (version, path, token, body, extraHeaders = {}) => {
  const headers = callHeaders({ "content-type": "application/grpc-web+proto" }, token, extraHeaders);
  const answer = await exchange(version, path, headers, [body]);
  expect(answer.status).toBe(200);
  return { ...answer, ...parseFrames(answer.raw) };
};

const decode = <T extends DescMessage>(schema: T, answer: GrpcWebAnswer): MessageShape<T> => {
  expect(answer.trailers["grpc-status"]).toBe("0");
  expect(answer.messages).toHaveLength(1);
  return fromBinary(schema, answer.messages[0]!);
};

/** The error a browser app reads from the trailers: code, message, and the ErrorDetail in grpc-status-details-bin. */
function errorOf(answer: GrpcWebAnswer): { code: number; message: string; id: string | undefined } {
  const details = answer.trailers["grpc-status-details-bin"];
  const status = details === undefined ? undefined : fromBinary(StatusSchema, Buffer.from(details, "base64"));
  const detail = status?.details
    .map((any) => anyUnpack(any, ErrorDetailSchema))
    .find((unpacked) => unpacked !== undefined);
  return {
    code: Number(answer.trailers["grpc-status"]),
    message: decodeURIComponent(answer.trailers["grpc-message"] ?? ""),
    id: detail?.id,
  };
}

let phones = 0;
const freshPhone = () => `+4179${6_000_000 + ++phones}`;

describe.each(VERSIONS)("gRPC-Web text over HTTP/%s", (version) => {
  test("Set → SMS → Verify → Get, every answer base64 with its trailer frame in the body, no HTTP trailers", async () => {
    const user = await server.addUser();
    const phone = freshPhone();
    const mark = server.logs.length;
    const set = await textCall(
      version,
      `${SERVICE}/SetMyPhone`,
      user.token,
      messageFrame(SetMyPhoneRequestSchema, { phone }),
    );
    expect(decode(SetMyPhoneResponseSchema, set).details?.sequence).toBe(3n);
    expect(set.httpTrailers).toEqual({});
    expect(set.headers["grpc-status"]).toBeUndefined();

    const code = codeFromSms(await server.waitForSms(phone, mark));
    const verify = await textCall(
      version,
      `${SERVICE}/VerifyMyPhone`,
      user.token,
      messageFrame(VerifyMyPhoneRequestSchema, { code }),
    );
    expect(verify.trailers["grpc-status"]).toBe("0");

    const get = decode(
      GetMyPhoneResponseSchema,
      await textCall(version, `${SERVICE}/GetMyPhone`, user.token, messageFrame(GetMyPhoneRequestSchema, {})),
    );
    expect(get.phone).toMatchObject({ phone, isPhoneVerified: true });

    const calls = server.logs.filter((line) => line.msg === "rpc" && line.userId === user.userId);
    expect(calls.map((line) => [line.rpc, line.protocol, line.status])).toEqual([
      ["zitadel.auth.v1.AuthService/SetMyPhone", "grpc-web", "ok"],
      ["zitadel.auth.v1.AuthService/VerifyMyPhone", "grpc-web", "ok"],
      ["zitadel.auth.v1.AuthService/GetMyPhone", "grpc-web", "ok"],
    ]);
  });

  test("a refusal carries code, message and grpc-status-details-bin, the same trailer frame as binary gRPC-Web", async () => {
    const user = await server.addUser();
    const phone = freshPhone();
    await textCall(version, `${SERVICE}/SetMyPhone`, user.token, messageFrame(SetMyPhoneRequestSchema, { phone }));
    const again = messageFrame(SetMyPhoneRequestSchema, { phone });
    const text = await textCall(version, `${SERVICE}/SetMyPhone`, user.token, again);
    expect(text.messages).toEqual([]);
    expect(errorOf(text)).toEqual({ code: 9, message: "Phone not changed (COMMAND-wF94r)", id: "COMMAND-wF94r" });
    const binary = await binaryCall(version, `${SERVICE}/SetMyPhone`, user.token, again);
    expect(text.trailers).toEqual(binary.trailers);

    const badToken = await textCall(
      version,
      `${SERVICE}/GetMyPhone`,
      `${user.token}x`,
      messageFrame(GetMyPhoneRequestSchema, {}),
    );
    expect(errorOf(badToken)).toEqual({ code: 16, message: "Token is invalid (AUTH-7fs1e)", id: "AUTH-7fs1e" });
    // A refusal without details (ZITADEL's bare status for a missing header) has no grpc-status-details-bin.
    const noHeader = await textCall(
      version,
      `${SERVICE}/GetMyPhone`,
      undefined,
      messageFrame(GetMyPhoneRequestSchema, {}),
    );
    expect(errorOf(noHeader)).toEqual({ code: 16, message: "auth header missing", id: undefined });
    expect(noHeader.trailers["grpc-status-details-bin"]).toBeUndefined();
  });

  test("a request body in pieces, each padded on its own and cut anywhere, is one request", async () => {
    const user = await server.addUser();
    const phone = freshPhone();
    const request = messageFrame(SetMyPhoneRequestSchema, { phone });
    // 5-byte header, then the message in a 1-byte and a rest piece: padding ("=") ends each of the three groups.
    const padded = [request.subarray(0, 5), request.subarray(5, 6), request.subarray(6)].map((part) =>
      part.toString("base64"),
    );
    expect(padded.slice(0, 2).every((piece) => piece.endsWith("="))).toBe(true);
    const text = padded.join("");
    const headers = { "content-type": "application/grpc-web-text+proto", authorization: `Bearer ${user.token}` };
    // In one piece (padding inside the body), then cut at places that are no group boundaries, with pauses so the
    // server reads them apart (one read holding padding in its middle, one ending inside a group).
    const whole = await exchange(version, `${SERVICE}/SetMyPhone`, headers, [text]);
    expect(whole.headers["content-type"]).toBe("application/grpc-web-text+proto");
    expect(
      decode(SetMyPhoneResponseSchema, parseFrames(decodeTextBody(whole.raw.toString("latin1")))).details?.sequence,
    ).toBe(3n);
    const cut = [text.slice(0, 3), text.slice(3, 14), text.slice(14, 17), text.slice(17)];
    const answer = await exchange(version, `${SERVICE}/SetMyPhone`, headers, cut, 30);
    expect(answer.headers["content-type"]).toBe("application/grpc-web-text+proto");
    expect(errorOf(parseFrames(decodeTextBody(answer.raw.toString("latin1"))))).toMatchObject({
      code: 9,
      id: "COMMAND-wF94r",
    });
  });

  test.each([
    ["a character outside base64", (body: string) => `${body.slice(0, 4)}!${body.slice(5)}`],
    ["whitespace", (body: string) => `${body.slice(0, 4)}\n${body.slice(4)}`],
    ["a length that is no multiple of four", (body: string) => body.slice(0, -1)],
    ["padding inside a group", (body: string) => `A=AA${body}`],
  ])("a body with %s is InvalidArgument, answered in text, and the service never runs", async (_name, spoil) => {
    const user = await server.addUser();
    const body = spoil(messageFrame(SetMyPhoneRequestSchema, { phone: freshPhone() }).toString("base64"));
    const answer = await exchange(
      version,
      `${SERVICE}/SetMyPhone`,
      { "content-type": TEXT, authorization: `Bearer ${user.token}` },
      [body],
    );
    expect(answer.status).toBe(200);
    expect(answer.headers["content-type"]).toBe("application/grpc-web-text+proto");
    const decoded = parseFrames(decodeTextBody(answer.raw.toString("latin1")));
    expect(errorOf(decoded)).toEqual({
      code: 3,
      message: "malformed base64 in the gRPC-Web text request body",
      id: undefined,
    });
    expect(server.logs.filter((line) => line.msg === "rpc" && line.userId === user.userId)).toEqual([]);
  });

  test("a message over MYPHONE_MAX_REQUEST_BYTES is refused as over binary gRPC-Web", async () => {
    const user = await server.addUser();
    const oversize = messageFrame(SetMyPhoneRequestSchema, { phone: "9".repeat(MAX_REQUEST_BYTES) });
    const text = await textCall(version, `${SERVICE}/SetMyPhone`, user.token, oversize);
    const binary = await binaryCall(version, `${SERVICE}/SetMyPhone`, user.token, oversize);
    expect(errorOf(text).code).toBe(8);
    expect(text.trailers).toEqual(binary.trailers);
    // Its base64 is a third larger: the limit is on the message, as for binary, not on the text.
    const fits = messageFrame(SetMyPhoneRequestSchema, { phone: "9".repeat(MAX_REQUEST_BYTES - 100) });
    expect(fits.toString("base64").length).toBeGreaterThan(MAX_REQUEST_BYTES);
    expect(errorOf(await textCall(version, `${SERVICE}/SetMyPhone`, user.token, fits))).toMatchObject({
      code: 3,
      id: "MYPHONE-PhLen",
    });
  });

  test("CORS: a text answer exposes the same headers to an allowed origin as a binary one", async () => {
    const user = await server.addUser();
    const get = messageFrame(GetMyPhoneRequestSchema, {});
    const text = await textCall(version, `${SERVICE}/GetMyPhone`, user.token, get, { origin: ORIGIN });
    const binary = await binaryCall(version, `${SERVICE}/GetMyPhone`, user.token, get, { origin: ORIGIN });
    const cors = (answer: Exchange) =>
      Object.fromEntries(
        Object.entries(answer.headers).filter(([name]) => name.startsWith("access-control-") || name === "vary"),
      );
    expect(cors(text)).toEqual(cors(binary));
    expect(String(cors(text)["access-control-expose-headers"]).toLowerCase()).toContain("grpc-status-details-bin");
    expect(cors(text)["access-control-allow-origin"]).toBe(ORIGIN);
  });

  test("a binary request that asks for a text answer (Accept: application/grpc-web-text) gets one", async () => {
    const user = await server.addUser();
    const headers = {
      "content-type": "application/grpc-web+proto",
      accept: TEXT,
      authorization: `Bearer ${user.token}`,
    };
    const request = messageFrame(GetMyPhoneRequestSchema, {});
    const answer = await exchange(version, `${SERVICE}/GetMyPhone`, headers, [request]);
    expect(answer.headers["content-type"]).toBe("application/grpc-web-text+proto");
    const binary = await binaryCall(version, `${SERVICE}/GetMyPhone`, user.token, request);
    expect(binary.headers["content-type"]).toBe("application/grpc-web+proto");
    expect(parseFrames(decodeTextBody(answer.raw.toString("latin1"))).messages).toEqual(binary.messages);
  });
});

test("metrics count text calls under protocol grpc-web, as binary ones", async () => {
  const scrape = async () => (await fetch(`${server.adminUrl}/metrics`)).text();
  const count = (text: string) =>
    Number(
      /^myphone_rpc_requests_total\{rpc="zitadel\.auth\.v1\.AuthService\/GetMyPhone",protocol="grpc-web",code="ok"\} (\d+)$/m.exec(
        text,
      )?.[1] ?? 0,
    );
  const user = await server.addUser();
  const before = count(await scrape());
  for (const version of VERSIONS)
    await textCall(version, `${SERVICE}/GetMyPhone`, user.token, messageFrame(GetMyPhoneRequestSchema, {}));
  expect(count(await scrape()) - before).toBe(2);
});

describe("streaming methods in text mode", () => {
  test.each(VERSIONS)(
    "health Watch over HTTP/%s: each message arrives base64 while the stream is open, the trailer when it ends",
    async (version) => {
      const own = await startTestServer();
      let stopped: Promise<void> | undefined;
      try {
        const body = messageFrame(HealthCheckRequestSchema, { service: "" }).toString("base64");
        const received: string[] = [];
        let firstMessage: () => void;
        const first = new Promise<void>((resolve) => (firstMessage = resolve));
        const onData = (chunk: Buffer) => {
          received.push(chunk.toString("latin1"));
          if (messagesIn(received.join("")).length > 0) firstMessage();
        };
        const ended = new Promise<void>((resolve, reject) => {
          const headers = { "content-type": TEXT };
          if (version === "1.1") {
            const request = http.request(
              `${own.url}/grpc.health.v1.Health/Watch`,
              { method: "POST", headers, agent: false },
              (response) => {
                response.on("data", onData);
                response.on("end", resolve);
              },
            );
            request.on("error", reject);
            request.end(body);
          } else {
            const session = http2.connect(own.url);
            const stream = session.request({ ":method": "POST", ":path": "/grpc.health.v1.Health/Watch", ...headers });
            stream.on("data", onData);
            stream.on("end", () => {
              session.close();
              resolve();
            });
            stream.on("error", reject);
            stream.end(body);
          }
        });
        let timer: NodeJS.Timeout | undefined;
        const late = new Promise(
          (_, reject) => (timer = setTimeout(() => reject(new Error("no message while the stream was open")), 5_000)),
        );
        await Promise.race([first, late]).finally(() => clearTimeout(timer));
        // SERVING came while the stream is open; the server is still running.
        const open = messagesIn(received.join(""));
        expect(open.map((message) => fromBinary(HealthCheckResponseSchema, message).status)).toEqual([
          HealthCheckResponse_ServingStatus.SERVING,
        ]);
        // Shutdown ends Watch streams: NOT_SERVING, then the trailer frame.
        stopped = own.stop();
        await ended;
        const all = parseFrames(decodeTextBody(received.join("")));
        expect(all.messages.map((message) => fromBinary(HealthCheckResponseSchema, message).status)).toEqual([
          HealthCheckResponse_ServingStatus.SERVING,
          HealthCheckResponse_ServingStatus.NOT_SERVING,
        ]);
        expect(all.trailers["grpc-status"]).toBe("0");
      } finally {
        await (stopped ?? own.stop());
      }
    },
  );

  test("reflection (bidirectional) over HTTP/2: an answer to each request before the client ends its side", async () => {
    const session = http2.connect(server.url);
    try {
      const stream = session.request({
        ":method": "POST",
        ":path": "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
        "content-type": TEXT,
      });
      const received: string[] = [];
      const waiters: (() => void)[] = [];
      stream.on("data", (chunk: Buffer) => {
        received.push(chunk.toString("latin1"));
        waiters.splice(0).forEach((wake) => wake());
      });
      const ended = new Promise((resolve) => stream.on("end", resolve));
      const messagesSoFar = () => messagesIn(received.join(""));
      const nextAnswer = async (count: number) => {
        const deadline = Date.now() + 5_000;
        while (messagesSoFar().length < count) {
          if (Date.now() > deadline) throw new Error(`no answer ${count} while the request side is open`);
          await new Promise<void>((resolve) => {
            waiters.push(resolve);
            setTimeout(resolve, 100);
          });
        }
        return fromBinary(ServerReflectionResponseSchema, messagesSoFar()[count - 1]!);
      };
      stream.write(
        messageFrame(ServerReflectionRequestSchema, { messageRequest: { case: "listServices", value: "" } }).toString(
          "base64",
        ),
      );
      const list = await nextAnswer(1);
      expect(list.messageResponse.case).toBe("listServicesResponse");
      stream.write(
        messageFrame(ServerReflectionRequestSchema, {
          messageRequest: { case: "fileContainingSymbol", value: "zitadel.auth.v1.AuthService" },
        }).toString("base64"),
      );
      expect((await nextAnswer(2)).messageResponse.case).toBe("fileDescriptorResponse");
      stream.end();
      await ended;
      expect(parseFrames(decodeTextBody(received.join(""))).trailers["grpc-status"]).toBe("0");
    } finally {
      session.close();
    }
  });
});

/** The complete message frames in the text received so far on a stream still open. */
function messagesIn(text: string): Buffer[] {
  const bytes = decodeTextBody(text.slice(0, text.length - (text.length % 4)));
  const messages: Buffer[] = [];
  let at = 0;
  while (at + 5 <= bytes.length) {
    const length = bytes.readUInt32BE(at + 1);
    if (at + 5 + length > bytes.length) break;
    if ((bytes.readUInt8(at) & 0x80) === 0) messages.push(bytes.subarray(at + 5, at + 5 + length));
    at += 5 + length;
  }
  return messages;
}
