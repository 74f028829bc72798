import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../../src/config.js";

function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

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
    const problems = problemsOf({ PORT: "eighty", HUBJECT_PROVIDER_ID: "not a provider", HUBJECT_REMOTE_TIMEOUT_MS: "30000", OICP_PATH_PREFIX: "oicp/" });
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
    const production = { NODE_ENV: "production", AUTH_JWT_SECRET: "x".repeat(32), HUBJECT_BASE_URL: "http://127.0.0.1:9/api/oicp", HUBJECT_PROVIDER_ID: "DE-GQL" };
    expect(loadConfig(production).sandbox).toBe(false);
    expect(loadConfig({ ...production, SANDBOX_ENABLED: "true" }).sandbox).toBe(true);
  });
});
