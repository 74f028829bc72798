import { describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config/config.js";
import { PRODUCTION_ENV, problemsOf } from "../support/config.js";

const PRODUCTION = PRODUCTION_ENV;
// Config validation only checks that certificate files exist; any readable file stands in here.
const SOME_FILE = "/etc/hostname";

describe("config", () => {
  it("starts on embedded defaults: SQLite file, built-in simulator, dev secret, Sandbox on", () => {
    const config = loadConfig({});
    expect(config.http.port).toBe(4000);
    expect(config.oicp.port).toBe(4001);
    expect(config.databaseUrl).toBe("./data/gateway.sqlite");
    expect(config.hubject.mode).toBe("simulator");
    expect(config.auth).toMatchObject({ mode: "secret", isDevDefault: true });
    expect(config.sandbox).toBe(true);
    expect(config.hubjectTimeouts.remoteMs).toBeGreaterThan(60_000);
  });

  it("names every bad setting at once", () => {
    const problems = problemsOf({
      PORT: "eighty",
      HUBJECT_PROVIDER_ID: "not a provider",
      HUBJECT_REMOTE_TIMEOUT_MS: "30000",
      OICP_PATH_PREFIX: "oicp/",
    });
    expect(problems.join("\n")).toMatch(/PORT/);
    expect(problems.join("\n")).toMatch(/HUBJECT_PROVIDER_ID/);
    expect(problems.join("\n")).toMatch(/HUBJECT_REMOTE_TIMEOUT_MS: must be above 60000/);
    expect(problems.join("\n")).toMatch(/OICP_PATH_PREFIX/);
  });

  it("refuses development defaults in production", () => {
    const problems = problemsOf({ NODE_ENV: "production" });
    expect(problems.some((p) => p.startsWith("AUTH_JWKS_URL or AUTH_JWT_SECRET"))).toBe(true);
    expect(problems.some((p) => p.startsWith("HUBJECT_BASE_URL"))).toBe(true);
  });

  it("requires issuer and audience with a JWKS, the ProviderID with a base URL, and both halves of the client certificate", () => {
    const problems = problemsOf({
      AUTH_JWKS_URL: "https://id.example.com/.well-known/jwks.json",
      HUBJECT_BASE_URL: "https://service-qa.hubject.com/api/oicp",
      HUBJECT_CLIENT_CERT: "/etc/hostname",
    });
    expect(problems.join("\n")).toMatch(/AUTH_ISSUER/);
    expect(problems.join("\n")).toMatch(/AUTH_AUDIENCE/);
    expect(problems.join("\n")).toMatch(/HUBJECT_PROVIDER_ID: required/);
    expect(problems.join("\n")).toMatch(/HUBJECT_CLIENT_CERT and HUBJECT_CLIENT_KEY/);
    expect(problemsOf({ HUBJECT_CA: "/no/such/file.pem" }).join("\n")).toMatch(/HUBJECT_CA: file does not exist/);
  });

  it("turns Sandbox off in production unless enabled", () => {
    const production = { ...PRODUCTION };
    expect(loadConfig(production).sandbox).toBe(false);
    expect(loadConfig({ ...production, SANDBOX_ENABLED: "true" }).sandbox).toBe(true);
  });

  it("serves the OICP listener over plain HTTP only next to the simulator in development, or when explicitly allowed outside production", () => {
    expect(loadConfig({}).oicp.tls).toBeNull();
    const remote = { HUBJECT_BASE_URL: "http://127.0.0.1:9/api/oicp", HUBJECT_PROVIDER_ID: "DE-GQL" };
    expect(problemsOf(remote).join("\n")).toMatch(/OICP_TLS_CERT, OICP_TLS_KEY, OICP_TLS_CLIENT_CA: required/);
    expect(loadConfig({ ...remote, OICP_ALLOW_PLAIN_HTTP: "true" }).oicp.tls).toBeNull();
    expect(problemsOf({ ...PRODUCTION, OICP_ALLOW_PLAIN_HTTP: "true" }).join("\n")).toMatch(/OICP_ALLOW_PLAIN_HTTP: not allowed/);
    expect(problemsOf({ OICP_TLS_CERT: SOME_FILE }).join("\n")).toMatch(/set all three/);
    expect(problemsOf({ OICP_TLS_CERT: SOME_FILE, OICP_TLS_KEY: SOME_FILE, OICP_TLS_CLIENT_CA: SOME_FILE }).join("\n")).toMatch(
      /simulator posts over plain HTTP/,
    );
    expect(loadConfig(PRODUCTION).oicp.tls).toMatchObject({ certFile: SOME_FILE, allowedSubjects: [] });
  });

  it("checks the IP allow-list, the persisted-query file and Hubject's remote-start limit", () => {
    expect(loadConfig({ OICP_ALLOWED_IPS: "10.0.0.0/8, 2001:db8::/32,192.0.2.7" }).oicp.allowedIps).toEqual([
      "10.0.0.0/8",
      "2001:db8::/32",
      "192.0.2.7",
    ]);
    expect(problemsOf({ OICP_ALLOWED_IPS: "10.0.0.0/33,hubject.com" }).length).toBe(2);
    expect(problemsOf({ GRAPHQL_PERSISTED_QUERIES: "allow-list" }).join("\n")).toMatch(/GRAPHQL_PERSISTED_QUERIES_FILE: required/);
    expect(problemsOf({ RATE_LIMIT_REMOTE_STARTS_PER_MINUTE: "150" }).join("\n")).toMatch(/at most 100/);
    expect(loadConfig({}).graphql.introspection).toBe(true);
    expect(loadConfig(PRODUCTION).graphql.introspection).toBe(false);
  });

  it("reads the performance settings: Hubject socket pool, session cache, execution engine", () => {
    const defaults = loadConfig({});
    expect(defaults.hubjectMaxSockets).toBe(256);
    expect(defaults.sessionCacheSize).toBe(10_000);
    expect(defaults.graphql.execution).toBe("jit");
    const set = loadConfig({ HUBJECT_MAX_SOCKETS: "512", SESSION_CACHE_SIZE: "0", GRAPHQL_EXECUTION: "graphql-js" });
    expect([set.hubjectMaxSockets, set.sessionCacheSize, set.graphql.execution]).toEqual([512, 0, "graphql-js"]);
    const problems = problemsOf({ HUBJECT_MAX_SOCKETS: "64", SESSION_CACHE_SIZE: "-1", GRAPHQL_EXECUTION: "fast" }).join("\n");
    expect(problems).toMatch(/HUBJECT_MAX_SOCKETS: must be at least 100/);
    expect(problems).toMatch(/SESSION_CACHE_SIZE/);
    expect(problems).toMatch(/GRAPHQL_EXECUTION/);
  });
});
