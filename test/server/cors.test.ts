// CORS on /graphql and its websocket (issue 16): allowed origins get the headers (preflights cached),
// others get none and a refused upgrade (403); requests without an Origin are not browsers and pass.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { loadConfig } from "../../src/config/config.js";
import { driver, startTestGateway, type TestDriver, type TestGateway } from "../support/gateway.js";

let gw: TestGateway;
let alice: TestDriver;

beforeAll(async () => {
  gw = await startTestGateway({ env: { CORS_ORIGINS: "https://app.example.com" } });
  alice = await driver("alice", ["DE-GQL-C00000001-7"]);
});

afterAll(async () => {
  await gw?.close();
});

const preflight = (origin: string) =>
  fetch(gw.gateway.graphqlUrl, {
    method: "OPTIONS",
    headers: { origin, "access-control-request-method": "POST", "access-control-request-headers": "authorization, content-type" },
  });

/** The status of a websocket upgrade with this Origin (101 when it opens). */
function upgrade(origin: string | undefined): Promise<number> {
  return new Promise((resolve) => {
    const socket = new WebSocket(gw.gateway.websocketUrl, "graphql-transport-ws", origin ? { origin } : {});
    socket.once("open", () => {
      socket.close();
      resolve(101);
    });
    socket.once("unexpected-response", (_req, res) => {
      resolve(res.statusCode ?? 0);
      socket.terminate();
    });
    socket.once("error", () => undefined);
  });
}

describe("an allowed origin", () => {
  it("gets a cached preflight and the Allow-Origin on the answer", async () => {
    const answer = await preflight("https://app.example.com");
    expect(answer.status).toBe(204);
    expect(answer.headers.get("access-control-allow-origin")).toBe("https://app.example.com");
    expect(answer.headers.get("access-control-allow-headers")).toContain("authorization");
    expect(Number(answer.headers.get("access-control-max-age"))).toBeGreaterThan(0);
    const query = await fetch(gw.gateway.graphqlUrl, {
      method: "POST",
      headers: { origin: "https://app.example.com", "content-type": "application/json", authorization: `Bearer ${alice.token}` },
      body: JSON.stringify({ query: "{ chargingSessions(first: 1) { nodes { id } } }" }),
    });
    expect(query.status).toBe(200);
    expect(query.headers.get("access-control-allow-origin")).toBe("https://app.example.com");
    expect(query.headers.get("vary")).toMatch(/origin/i);
  });

  it("opens the websocket", async () => {
    expect(await upgrade("https://app.example.com")).toBe(101);
  });
});

describe("an origin not on the list", () => {
  it("gets no CORS headers, and its preflight is refused", async () => {
    const answer = await preflight("https://evil.example.net");
    expect(answer.status).toBe(403);
    expect(answer.headers.get("access-control-allow-origin")).toBeNull();
  });

  it("has its websocket upgrade refused with 403", async () => {
    expect(await upgrade("https://evil.example.net")).toBe(403);
  });

  it("localhost is not on a configured list", async () => {
    expect(await upgrade("http://localhost:5173")).toBe(403);
  });
});

describe("no Origin: not a browser", () => {
  it("the websocket opens (native apps, servers)", async () => {
    expect(await upgrade(undefined)).toBe(101);
  });
});

describe("the defaults", () => {
  const base = {
    AUTH_JWT_SECRET: "x".repeat(40),
    HUBJECT_BASE_URL: "https://hubject.example/api/oicp",
    HUBJECT_PROVIDER_ID: "DE-GQL",
    OICP_ALLOW_PLAIN_HTTP: "true",
  };
  it("development allows any localhost origin until CORS_ORIGINS is set; entries must be origins", () => {
    expect(loadConfig({ ...base, NODE_ENV: "development" }).graphql.cors).toEqual({ origins: [], allowLocalhost: true });
    const prod = { ...base, NODE_ENV: "production", OICP_ALLOW_PLAIN_HTTP: undefined, OICP_TLS_CERT: undefined } as Record<
      string,
      string | undefined
    >;
    delete prod.OICP_ALLOW_PLAIN_HTTP;
    expect(() => loadConfig({ ...base, NODE_ENV: "development", CORS_ORIGINS: "https://app.example.com/path" })).toThrow(/CORS_ORIGINS/);
    expect(loadConfig({ ...base, NODE_ENV: "development", CORS_ORIGINS: "https://App.example.com/" }).graphql.cors).toEqual({
      origins: ["https://app.example.com"],
      allowLocalhost: false,
    });
  });

  it("in development, a Vite dev server on localhost:5173 is allowed without a setting", async () => {
    const dev = await startTestGateway({ env: { NODE_ENV: "development" } });
    try {
      const answer = await fetch(dev.gateway.graphqlUrl, {
        method: "OPTIONS",
        headers: { origin: "http://localhost:5173", "access-control-request-method": "POST" },
      });
      expect(answer.status).toBe(204);
      expect(answer.headers.get("access-control-allow-origin")).toBe("http://localhost:5173");
    } finally {
      await dev.close();
    }
  });
});
