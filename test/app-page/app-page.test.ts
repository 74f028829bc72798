// The page handler on its own (no browser, no gateway): what it serves, what it refuses, and the
// development tokens it signs. The browser flow is app-page.e2e.test.ts.
import { createHash } from "node:crypto";
import http, { type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { jwtVerify } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AppPageOptions, createAppPage } from "../../src/app-page/app-page.js";

const SECRET = "page-test-secret-page-test-secret-0123";
const servers: Server[] = [];

async function serve(handler: (req: http.IncomingMessage, res: http.ServerResponse) => void): Promise<string> {
  const server = http.createServer(handler);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** The page handler behind a server that answers 418 for what the handler leaves alone. */
function mount(options: Partial<AppPageOptions> = {}) {
  const page = createAppPage({ env: "development", catalogueUrl: null, devTokens: { secret: SECRET }, ...options });
  return serve((req, res) => {
    if (page(req, res)) return;
    res.writeHead(418).end("not mine");
  });
}

let base: string;
let catalogueUpstream: string;

beforeAll(async () => {
  catalogueUpstream = await serve((_req, res) => {
    res
      .writeHead(200, { "content-type": "application/json" })
      .end(JSON.stringify([{ evseId: "DE*SIM*E0001*1", label: "Marktplatz 1", powerKw: 11, status: "AVAILABLE" }]));
  });
  base = await mount({ catalogueUrl: `${catalogueUpstream}/simulator/catalogue` });
});

afterAll(async () => {
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
});

const devToken = (url: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(`${url}/app/api/dev-token`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  });

describe("createAppPage", () => {
  it("is never built for production", () => {
    expect(() => createAppPage({ env: "production", catalogueUrl: null, devTokens: null })).toThrow(/development only/);
  });

  it("leaves every path outside /app to the gateway", async () => {
    for (const path of ["/graphql", "/healthz", "/apple", "/application/x"]) {
      expect((await fetch(`${base}${path}`)).status, path).toBe(418);
    }
  });

  it("serves the page with an import map that its CSP allows by hash, and the page's settings", async () => {
    const response = await fetch(`${base}/app`);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/^text\/html/);
    const html = await response.text();
    const importMap = /<script type="importmap">([\s\S]*?)<\/script>/.exec(html)?.[1];
    expect(JSON.parse(importMap!)).toEqual({
      imports: {
        "graphql-ws": "/app/vendor/graphql-ws/client.js",
        "@emp/client": "/app/client/graphql.js",
        "@emp/client/transport": "/app/client/transport.js",
      },
    });
    const hash = createHash("sha256").update(importMap!).digest("base64");
    expect(response.headers.get("content-security-policy")).toContain(`script-src 'self' 'sha256-${hash}'`);
    const config = /<script type="application\/json" id="page-config">([\s\S]*?)<\/script>/.exec(html)?.[1];
    expect(JSON.parse(config!)).toEqual({ graphqlPath: "/graphql", catalogue: true, devTokens: true });
    expect((await fetch(`${base}/app/`)).status).toBe(200);
  });

  it("serves the page's script, the compiled typed client and graphql-ws's browser client with all it imports", async () => {
    const script = await fetch(`${base}/app/app.js`);
    expect(script.headers.get("content-type")).toMatch(/^text\/javascript/);
    expect(await script.text()).toContain('from "@emp/client"');
    expect(await (await fetch(`${base}/app/app.css`)).text()).toContain(".card");

    const client = await (await fetch(`${base}/app/client/graphql.js`)).text();
    expect(client).toContain("export const StartChargingDocument");
    expect(await (await fetch(`${base}/app/client/transport.js`)).text()).toContain("export function iterate");

    const graphqlWs = await fetch(`${base}/app/vendor/graphql-ws/client.js`);
    expect(graphqlWs.status).toBe(200);
    const source = await graphqlWs.text();
    expect(source).toContain("function createClient");
    const relative = [...source.matchAll(/from\s+['"]\.\/([^'"]+)['"]/g)].map((m) => m[1]!);
    expect(relative.length).toBeGreaterThan(0);
    for (const file of relative) expect((await fetch(`${base}/app/vendor/graphql-ws/${file}`)).status, file).toBe(200);
  });

  it("serves nothing else from disk", async () => {
    for (const path of [
      "/app/vendor/graphql-ws/../../../package.json",
      "/app/vendor/graphql-ws/..%2f..%2f..%2fpackage.json",
      "/app/vendor/graphql-ws/client.cjs",
      "/app/vendor/other/index.js",
      "/app/client/../app-page/app-page.js",
      "/app/index.ts",
      "/app/public/app.js",
    ]) {
      const response = await fetch(`${base}${path}`);
      expect([404, 418], path).toContain(response.status);
      expect(await response.text(), path).not.toContain('"name": "emp-charging-gateway"');
    }
    expect((await fetch(`${base}/app/app.js`, { method: "POST" })).status).toBe(405);
  });

  it("proxies the simulator's catalogue, and says so when there is none", async () => {
    const response = await fetch(`${base}/app/api/catalogue`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual([{ evseId: "DE*SIM*E0001*1", label: "Marktplatz 1", powerKw: 11, status: "AVAILABLE" }]);

    const without = await mount({ catalogueUrl: null });
    expect((await fetch(`${without}/app/api/catalogue`)).status).toBe(404);
    const html = await (await fetch(`${without}/app`)).text();
    expect(html).toContain('"catalogue":false');

    const unreachable = await mount({ catalogueUrl: "http://127.0.0.1:1/simulator/catalogue" });
    expect((await fetch(`${unreachable}/app/api/catalogue`)).status).toBe(502);
  });

  it("signs a development token the gateway's secret verifies, for the driver and contract typed", async () => {
    const response = await devToken(base, { driverId: "alice", evcoId: "DE-GQL-C00000001-7" });
    expect(response.status).toBe(200);
    const { token } = (await response.json()) as { token: string };
    const { payload, protectedHeader } = await jwtVerify(token, new TextEncoder().encode(SECRET), { algorithms: ["HS256"] });
    expect(protectedHeader.alg).toBe("HS256");
    expect(payload.sub).toBe("alice");
    expect(payload.evco_ids).toEqual(["DE-GQL-C00000001-7"]);
    expect(payload.exp! - payload.iat!).toBe(3600);

    const withClaims = await mount({ devTokens: { secret: SECRET, issuer: "https://id.example", audience: "emp-app", ttl: "5m" } });
    const claimed = (await (await devToken(withClaims, { driverId: "bob", evcoId: "DE-GQL-C00000002-5" })).json()) as { token: string };
    const verified = await jwtVerify(claimed.token, new TextEncoder().encode(SECRET), {
      issuer: "https://id.example",
      audience: "emp-app",
    });
    expect(verified.payload.exp! - verified.payload.iat!).toBe(300);
  });

  it("refuses development tokens when off, cross-origin, or for bad input", async () => {
    const off = await mount({ devTokens: null });
    expect((await devToken(off, { driverId: "alice", evcoId: "DE-GQL-C00000001-7" })).status).toBe(404);
    expect(await (await fetch(`${off}/app`)).text()).toContain('"devTokens":false');

    expect((await devToken(base, { driverId: "alice", evcoId: "DE-GQL-C00000001-7" }, { origin: "https://evil.example" })).status).toBe(
      403,
    );
    expect((await devToken(base, { driverId: "alice", evcoId: "DE-GQL-C00000001-7" }, { origin: base })).status).toBe(200);
    expect((await devToken(base, { driverId: "", evcoId: "DE-GQL-C00000001-7" })).status).toBe(400);
    expect((await devToken(base, { driverId: "a b", evcoId: "DE-GQL-C00000001-7" })).status).toBe(400);
    expect((await devToken(base, { driverId: "alice", evcoId: "<script>" })).status).toBe(400);
    expect((await devToken(base, "not an object")).status).toBe(400);
    const form = await fetch(`${base}/app/api/dev-token`, { method: "POST", body: "driverId=alice" });
    expect(form.status).toBe(415);
    expect((await fetch(`${base}/app/api/dev-token`)).status).toBe(405);
  });
});
