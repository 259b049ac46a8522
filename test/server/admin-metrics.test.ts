import { mkdtempSync, rmSync } from "node:fs";
import http2 from "node:http2";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startTestServer, type TestServer } from "../support/test-server.js";

/**
 * Issue 22, item 4: `/metrics` was served unauthenticated on the public port and cost about 20 health checks a
 * scrape. It is now served only by the admin listener (MYPHONE_ADMIN_PORT, loopback by default), and a scrape is
 * reused for MYPHONE_METRICS_CACHE.
 */

/** GET `path` over HTTP/2 (prior knowledge) on `baseUrl`; resolves with the status. */
async function h2Status(baseUrl: string, path: string): Promise<number> {
  const session = http2.connect(baseUrl);
  session.on("error", () => undefined);
  try {
    const stream = session.request({ ":method": "GET", ":path": path });
    stream.end();
    stream.resume();
    return await new Promise<number>((resolve, reject) => {
      stream.once("response", (headers) => resolve(Number(headers[":status"])));
      stream.once("error", reject);
    });
  } finally {
    session.destroy();
  }
}

const get = (url: string) => fetch(url, { signal: AbortSignal.timeout(10_000) });

describe("with MYPHONE_ADMIN_PORT", () => {
  let server: TestServer;
  beforeAll(async () => {
    // A cache long enough that two scrapes in this test always share one collection.
    server = await startTestServer({ MYPHONE_ADMIN_PORT: "0", MYPHONE_METRICS_CACHE: "1h" });
  });
  afterAll(() => server?.stop());

  test("the public port does not serve /metrics, over HTTP/1.1 or HTTP/2", async () => {
    expect((await get(`${server.url}/metrics`)).status).toBe(404);
    expect(await h2Status(server.url, "/metrics")).toBe(404);
  });

  test("the admin listener serves /metrics on loopback, and nothing else", async () => {
    expect(server.adminUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(server.adminUrl).not.toBe(server.url);
    const scrape = await get(`${server.adminUrl}/metrics`);
    expect(scrape.status).toBe(200);
    expect(await scrape.text()).toMatch(/^# TYPE myphone_rpc_requests_total counter$/m);
    for (const path of [
      "/",
      "/healthz",
      "/readyz",
      "/auth/v1/users/me/phone",
      "/zitadel.auth.v1.AuthService/GetMyPhone",
      "/metrics/",
    ]) {
      expect({ path, status: (await get(`${server.adminUrl}${path}`)).status }).toEqual({ path, status: 404 });
    }
    expect(
      (await fetch(`${server.adminUrl}/metrics`, { method: "POST", signal: AbortSignal.timeout(10_000) })).status,
    ).toBe(405);
    const listening = server.logs.find((line) => line.msg === "myphone listening");
    expect(listening).toMatchObject({ adminPort: Number(new URL(server.adminUrl!).port), adminHost: "127.0.0.1" });
  });

  test("scrapes within MYPHONE_METRICS_CACHE share one collection: calls in between do not show until it passes", async () => {
    const first = await (await get(`${server.adminUrl}/metrics`)).text();
    for (let i = 0; i < 3; i++) expect((await get(`${server.url}/auth/v1/users/me/phone`)).status).toBe(401);
    const second = await (await get(`${server.adminUrl}/metrics`)).text();
    expect(second).toBe(first);
  });
});

test("without MYPHONE_ADMIN_PORT there is no metrics endpoint at all", async () => {
  const server = await startTestServer({ MYPHONE_ADMIN_PORT: "" });
  try {
    expect(server.adminUrl).toBeUndefined();
    expect((await get(`${server.url}/metrics`)).status).toBe(404);
    const listening = server.logs.find((line) => line.msg === "myphone listening");
    expect(listening).not.toHaveProperty("adminPort");
  } finally {
    await server.stop();
  }
});

test("an admin port in use stops start-up", async () => {
  const taken = await startTestServer({});
  const dataDir = mkdtempSync(join(tmpdir(), "myphone-admin-port-"));
  try {
    await expect(
      startTestServer({ MYPHONE_DATA_DIR: dataDir, MYPHONE_ADMIN_PORT: new URL(taken.adminUrl!).port }),
    ).rejects.toThrow(/EADDRINUSE/);
  } finally {
    await taken.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
});
