import { Code, ConnectError, createClient, type Transport } from "@connectrpc/connect";
import {
  createConnectTransport,
  createGrpcTransport,
  createGrpcWebTransport,
  Http2SessionManager,
} from "@connectrpc/connect-node";
import { AuthService } from "../../gen/zitadel/auth_pb.js";
import { ErrorDetailSchema } from "../../gen/zitadel/message_pb.js";
import { curlRaw } from "../support/clients.js";
import { startTestServer, type TestServer, type TestUser } from "../support/test-server.js";

/**
 * `x-zitadel-orgid` (SPEC 2): an id no event belongs to is refused with PermissionDenied AUTH-Bs7Ds (REST 403)
 * after authentication; any existing organisation is accepted (the phone methods act on the caller's own org).
 */

let server: TestServer;
let alice: TestUser;
let bob: TestUser;
const sessions: Http2SessionManager[] = [];

const UNKNOWN_ORG = "999999999999999999";
const ORG_NOT_FOUND = "Organisation doesn't exist (AUTH-Bs7Ds)";

beforeAll(async () => {
  server = await startTestServer();
  alice = await server.addUser({ org: "210000000000000001" });
  bob = await server.addUser({ org: "210000000000000002" });
});

afterAll(async () => {
  for (const session of sessions) session.abort();
  await server?.stop();
});

function rest(token: string | undefined, orgId: string) {
  const headers: Record<string, string> = { "x-zitadel-orgid": orgId };
  if (token) headers.authorization = `Bearer ${token}`;
  return curlRaw({ method: "GET", url: `${server.url}/auth/v1/users/me/phone`, headers });
}

const transports: [string, () => Transport][] = [
  [
    "gRPC",
    () => createGrpcTransport({ baseUrl: server.url, sessionManager: track(new Http2SessionManager(server.url)) }),
  ],
  ["gRPC-Web", () => createGrpcWebTransport({ baseUrl: server.url, httpVersion: "1.1" })],
  ["Connect", () => createConnectTransport({ baseUrl: server.url, httpVersion: "1.1" })],
];

function track(manager: Http2SessionManager): Http2SessionManager {
  sessions.push(manager);
  return manager;
}

describe("REST", () => {
  it("an unknown org id: 403 with google.rpc.Status code 7 and ErrorDetail AUTH-Bs7Ds", async () => {
    const response = await rest(alice.token, UNKNOWN_ORG);
    expect(response.status).toBe(403);
    expect(JSON.parse(response.body)).toEqual({
      code: 7,
      message: ORG_NOT_FOUND,
      details: [
        {
          "@type": "type.googleapis.com/zitadel.v1.ErrorDetail",
          id: "AUTH-Bs7Ds",
          message: "Organisation doesn't exist",
        },
      ],
    });
  });

  it("the caller's own org and another existing org are accepted", async () => {
    for (const orgId of [alice.orgId, bob.orgId]) {
      const response = await rest(alice.token, orgId);
      expect(response.status).toBe(200);
      expect(JSON.parse(response.body).details.resourceOwner).toBe(alice.orgId);
    }
  });

  it("authentication comes first: no token and an unknown org is 401", async () => {
    expect((await rest(undefined, UNKNOWN_ORG)).status).toBe(401);
  });
});

describe.each(transports)("%s", (_name, transport) => {
  const call = (user: TestUser, orgId: string) =>
    createClient(AuthService, transport()).getMyPhone(
      {},
      { headers: { authorization: `Bearer ${user.token}`, "x-zitadel-orgid": orgId }, timeoutMs: 10_000 },
    );

  it("an unknown org id: PermissionDenied (7) with ErrorDetail AUTH-Bs7Ds", async () => {
    const error = await call(alice, UNKNOWN_ORG).then(
      () => undefined,
      (reason: unknown) => ConnectError.from(reason),
    );
    expect(error?.code).toBe(Code.PermissionDenied);
    expect(error?.rawMessage).toBe(ORG_NOT_FOUND);
    expect(error?.findDetails(ErrorDetailSchema)[0]?.id).toBe("AUTH-Bs7Ds");
  });

  it("a known org id is accepted", async () => {
    const response = await call(bob, alice.orgId);
    expect(response.details?.resourceOwner).toBe(bob.orgId);
  });
});

test("an org created after an unknown-org refusal is found (refusals are not cached)", async () => {
  const orgId = "210000000000000099";
  expect((await rest(alice.token, orgId)).status).toBe(403);
  await server.addUser({ org: orgId });
  expect((await rest(alice.token, orgId)).status).toBe(200);
});
