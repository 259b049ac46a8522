import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { fromBinary } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import { Health, HealthCheckResponse_ServingStatus as ServingStatus } from "../../gen/grpc/health/v1/health_pb.js";
import { ServerReflection, type ServerReflectionResponse } from "../../gen/grpc/reflection/v1/reflection_pb.js";
import { ServerReflection as V1alphaReflection } from "../../gen/grpc/reflection/v1alpha/reflection_pb.js";
import { bufBinary, runProcess } from "../support/clients.js";
import { startTestServer, type TestServer } from "../support/test-server.js";

/** Issue 6, acceptance 1: reflection for buf curl without --schema; gRPC health and /readyz. */

const managers: Http2SessionManager[] = [];
afterAll(() => managers.forEach((manager) => manager.abort()));

function healthClient(baseUrl: string) {
  const sessionManager = new Http2SessionManager(baseUrl);
  managers.push(sessionManager);
  return createClient(Health, createGrpcTransport({ baseUrl, sessionManager }));
}

async function bufCurl(args: string[]): Promise<string> {
  const result = await runProcess(bufBinary(), ["curl", "--timeout", "10s", ...args]);
  if (result.exitCode !== 0)
    throw new Error(`buf curl ${args.join(" ")} failed (${result.exitCode}): ${result.stderr}`);
  return result.stdout;
}

const getStatus = async (url: string) => (await fetch(url)).status;

describe("with a running server", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ MYPHONE_ABUSE_LIMITS: "off" });
  });
  afterAll(() => server.stop());

  test("buf curl lists services and methods and calls SetMyPhone over all three protocols, learning the schema by reflection", async () => {
    const services = (await bufCurl(["--list-services", server.url])).trim().split("\n");
    expect(services).toEqual([
      "grpc.health.v1.Health",
      "grpc.reflection.v1.ServerReflection",
      "grpc.reflection.v1alpha.ServerReflection",
      "zitadel.auth.v1.AuthService",
      "zitadel.user.v2.UserService",
    ]);
    // grpcurl and older tools ask v1alpha; it must give the same answer.
    expect(
      (await bufCurl(["--reflect-protocol", "grpc-v1alpha", "--list-services", server.url])).trim().split("\n"),
    ).toEqual(services);

    const methods = (await bufCurl(["--list-methods", server.url])).trim().split("\n");
    expect(methods).toEqual(
      expect.arrayContaining([
        "zitadel.auth.v1.AuthService/GetMyPhone",
        "zitadel.auth.v1.AuthService/SetMyPhone",
        "zitadel.auth.v1.AuthService/VerifyMyPhone",
        "zitadel.auth.v1.AuthService/ResendMyPhoneVerification",
        "zitadel.auth.v1.AuthService/RemoveMyPhone",
        "zitadel.user.v2.UserService/SetPhone",
        "zitadel.user.v2.UserService/ResendPhoneCode",
        "zitadel.user.v2.UserService/VerifyPhone",
        "zitadel.user.v2.UserService/RemovePhone",
        "grpc.health.v1.Health/Check",
        "grpc.health.v1.Health/Watch",
      ]),
    );

    const user = await server.addUser();
    const sequences: string[] = [];
    for (const [protocol, phone] of [
      ["grpc", "+41 79 111 11 11"],
      ["connect", "+41 79 222 22 22"],
      ["grpcweb", "+41 79 333 33 33"],
    ] as const) {
      const out = await bufCurl([
        "--protocol",
        protocol,
        "-H",
        `authorization: Bearer ${user.token}`,
        "-d",
        JSON.stringify({ phone }),
        `${server.url}/zitadel.auth.v1.AuthService/SetMyPhone`,
      ]);
      const answer = JSON.parse(out) as { details: { sequence: string; resourceOwner: string } };
      expect(answer.details.resourceOwner).toBe(user.orgId);
      sequences.push(answer.details.sequence);
    }
    expect(new Set(sequences).size).toBe(3);
    const phone = JSON.parse(
      await bufCurl([
        "-H",
        `authorization: Bearer ${user.token}`,
        `${server.url}/zitadel.auth.v1.AuthService/GetMyPhone`,
      ]),
    ) as { phone: { phone: string } };
    expect(phone.phone.phone).toBe("+41793333333");

    // v2 by reflection too: its request names the user and carries a oneof.
    for (const protocol of ["grpc", "connect", "grpcweb"] as const) {
      const answer = JSON.parse(
        await bufCurl([
          "--protocol",
          protocol,
          "-H",
          `authorization: Bearer ${user.token}`,
          "-d",
          JSON.stringify({ userId: user.userId, sendCode: {} }),
          `${server.url}/zitadel.user.v2.UserService/ResendPhoneCode`,
        ]),
      ) as { details: { resourceOwner: string } };
      expect(answer.details.resourceOwner).toBe(user.orgId);
    }
  });

  test("reflection v1 and v1alpha answer a symbol's file with its imports once per stream, extensions, and NotFound", async () => {
    for (const [Service, label] of [
      [ServerReflection, "v1"],
      [V1alphaReflection, "v1alpha"],
    ] as const) {
      const sessionManager = new Http2SessionManager(server.url);
      managers.push(sessionManager);
      const client = createClient(
        Service as typeof ServerReflection,
        createGrpcTransport({ baseUrl: server.url, sessionManager }),
      );
      async function* questions() {
        yield {
          messageRequest: { case: "fileContainingSymbol" as const, value: "zitadel.auth.v1.AuthService.SetMyPhone" },
        };
        yield { messageRequest: { case: "fileByFilename" as const, value: "zitadel/object.proto" } };
        yield {
          messageRequest: {
            case: "fileContainingExtension" as const,
            value: { containingType: "google.protobuf.MethodOptions", extensionNumber: 72295728 },
          },
        };
        yield {
          messageRequest: { case: "allExtensionNumbersOfType" as const, value: "google.protobuf.MethodOptions" },
        };
        yield { messageRequest: { case: "fileContainingSymbol" as const, value: "no.such.Symbol" } };
      }
      const answers: ServerReflectionResponse["messageResponse"][] = [];
      for await (const answer of client.serverReflectionInfo(questions())) answers.push(answer.messageResponse);
      expect(answers).toHaveLength(5);
      const fileNames = (index: number) => {
        const answer = answers[index]!;
        if (answer.case !== "fileDescriptorResponse") throw new Error(`${label} answer ${index} is ${answer.case}`);
        return answer.value.fileDescriptorProto.map((bytes) => fromBinary(FileDescriptorProtoSchema, bytes).name);
      };
      const first = fileNames(0);
      expect(first[0]).toBe("zitadel/auth.proto");
      expect(first).toEqual(
        expect.arrayContaining([
          "zitadel/object.proto",
          "zitadel/user.proto",
          "google/api/annotations.proto",
          "google/api/http.proto",
          "google/protobuf/descriptor.proto",
          "google/protobuf/timestamp.proto",
        ]),
      );
      expect(new Set(first).size).toBe(first.length);
      // Already sent on this stream: the client has it, so the answer is empty rather than a repeat.
      expect(fileNames(1)).toEqual([]);
      // google.api.http is extension 72295728 of MethodOptions; annotations.proto was sent already as well.
      expect(fileNames(2)).toEqual([]);
      expect(answers[3]).toMatchObject({
        case: "allExtensionNumbersResponse",
        value: { baseTypeName: "google.protobuf.MethodOptions", extensionNumber: [72295728] },
      });
      expect(answers[4]).toMatchObject({ case: "errorResponse", value: { errorCode: Code.NotFound } });
    }
  });

  test("grpc.health.v1.Health answers without a token: Check, List, unknown services", async () => {
    const health = healthClient(server.url);
    expect((await health.check({ service: "" })).status).toBe(ServingStatus.SERVING);
    expect((await health.check({ service: "zitadel.auth.v1.AuthService" })).status).toBe(ServingStatus.SERVING);
    expect((await health.check({ service: "zitadel.user.v2.UserService" })).status).toBe(ServingStatus.SERVING);
    const listed = await health.list({});
    expect(Object.keys(listed.statuses).sort()).toEqual([
      "",
      "zitadel.auth.v1.AuthService",
      "zitadel.user.v2.UserService",
    ]);
    await expect(health.check({ service: "no.such.Service" })).rejects.toMatchObject({ code: Code.NotFound });
    expect(await getStatus(`${server.url}/healthz`)).toBe(200);
    expect(await getStatus(`${server.url}/readyz`)).toBe(200);
  });
});

test("/readyz and gRPC health say not ready when the store is unreachable, while /healthz still answers", async () => {
  const server = await startTestServer();
  try {
    const health = healthClient(server.url);
    expect(await getStatus(`${server.url}/readyz`)).toBe(200);
    await server.store.close();
    expect(await getStatus(`${server.url}/readyz`)).toBe(503);
    expect(await getStatus(`${server.url}/healthz`)).toBe(200);
    expect((await health.check({ service: "" })).status).toBe(ServingStatus.NOT_SERVING);
  } finally {
    await server.stop();
  }
});

test("shutdown: readiness goes false at once (Watch streams hear NOT_SERVING and end), calls still work during the shutdown delay", async () => {
  // The delay keeps the port open after the shutdown starts (as load balancers need), so a new connection can
  // ask /readyz; it is generous because nothing here may depend on the machine being fast.
  const server = await startTestServer({ MYPHONE_SHUTDOWN_DELAY: "5s", MYPHONE_ABUSE_LIMITS: "off" });
  const user = await server.addUser();
  const health = healthClient(server.url);
  const watch = health.watch({ service: "" })[Symbol.asyncIterator]();
  expect((await watch.next()).value?.status).toBe(ServingStatus.SERVING);

  const closed = server.close();
  expect((await watch.next()).value?.status).toBe(ServingStatus.NOT_SERVING);
  expect((await watch.next()).done).toBe(true);

  expect(await getStatus(`${server.url}/readyz`)).toBe(503);
  expect(await getStatus(`${server.url}/healthz`)).toBe(200);
  expect((await healthClient(server.url).check({ service: "" })).status).toBe(ServingStatus.NOT_SERVING);
  // Not ready is advice to the load balancer, not a refusal: calls that still arrive are served.
  const answer = await fetch(`${server.url}/auth/v1/users/me/phone`, {
    method: "PUT",
    headers: { authorization: `Bearer ${user.token}` },
    body: JSON.stringify({ phone: "+41 79 444 44 44" }),
  });
  expect(answer.status).toBe(200);

  await closed;
  await server.stop();
  await expect(fetch(`${server.url}/healthz`)).rejects.toThrow();
}, 30_000);

test("a Watch for a service the server does not know says SERVICE_UNKNOWN and stays open until the client cancels", async () => {
  const server = await startTestServer();
  try {
    const abort = new AbortController();
    const stream = healthClient(server.url).watch({ service: "no.such.Service" }, { signal: abort.signal });
    const watch = stream[Symbol.asyncIterator]();
    expect((await watch.next()).value?.status).toBe(ServingStatus.SERVICE_UNKNOWN);
    abort.abort();
    await expect(watch.next()).rejects.toBeInstanceOf(ConnectError);
  } finally {
    await server.stop();
  }
});
